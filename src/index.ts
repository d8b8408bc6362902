/**
 * The library API: everything, for tools and tests. A service module imports the light
 * `zmq-container/service` instead (src/service.ts: every receive thread loads what a service
 * imports). A service is a few lines:
 *
 * ```ts
 * import { defineService } from 'zmq-container/service'
 * export default defineService({
 *   handlers: { control: (msg, ctx) => ctx.publish('robot.ack', msg.payload) },
 * })
 * ```
 */

export { RequestClient, type RequestOptions, request } from './client/request'
export { type CloseResult, Supervisor } from './main/supervisor'
export {
  type ChannelInfo,
  type RecordedMessage,
  Recording,
  RecordingError,
} from './recording/reader'
export {
  NoSubscriberError,
  type ReplayOptions,
  type ReplaySummary,
  replayInto,
} from './recording/replay'
export type { Config, LatencyClass, SocketKind, SocketSpec } from './shared/config'
export { LATENCY_BUDGET_MS, loadConfig, readEnv } from './shared/config'
export type { Endpoint, EndpointAction } from './shared/endpoints'
export {
  ConfigError,
  type ConfigIssue,
  ERROR_CODES,
  type ErrorCode,
  ZcError,
} from './shared/errors'
export { EXIT } from './shared/exit-codes'
export type {
  Handler,
  HandlerContext,
  MainContext,
  Message,
  Payload,
  PublishOptions,
  ReplyHandler,
  Service,
  StopFn,
} from './shared/service'
export { defineService } from './shared/service'
export type { CounterSnapshot, DropReason } from './shared/shared-state'
export { MAX_TOPIC_LENGTH, TopicMatcher, topicProblem, validateTopic } from './shared/topics'
export {
  type CodecValue,
  codecs,
  defineTypedService,
  type PayloadCodec,
  PayloadDecodeError,
  type TopicCodecs,
  type TypedHandler,
  type TypedHandlerContext,
  type TypedMainContext,
  type TypedMessage,
  type TypedService,
} from './shared/typed-topics'
