/**
 * The library API: what a service module imports. A service is a few lines:
 *
 * ```ts
 * import { defineService } from 'zmq-container'
 * export default defineService({
 *   handlers: { control: (msg, ctx) => ctx.publish('robot.ack', msg.payload) },
 * })
 * ```
 */
export type { Config, LatencyClass, SocketKind, SocketSpec } from './config'
export { LATENCY_BUDGET_MS, loadConfig, readEnv } from './config'
export type { CounterSnapshot, DropReason } from './counters'
export type { Endpoint, EndpointAction } from './endpoints'
export { ConfigError, type ConfigIssue, ERROR_CODES, type ErrorCode, ZcError } from './errors'
export { EXIT } from './exit-codes'
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
export { RequestClient, type RequestOptions, request } from './request'
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
} from './service'
export { defineService } from './service'
export { type CloseResult, Supervisor } from './supervisor'
export { MAX_TOPIC_LENGTH, TopicMatcher, topicProblem, validateTopic } from './topics'
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
} from './typed-topics'
