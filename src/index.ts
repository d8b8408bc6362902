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
// What a service module needs (defineService, codecs, topic checks, error codes, types): the
// light entry's list, so the two cannot drift apart.
export * from './service'
export type { Config } from './shared/config'
export { loadConfig, readEnv } from './shared/config'
export type { Endpoint, EndpointAction } from './shared/endpoints'
export { ConfigError, type ConfigIssue } from './shared/errors'
export { EXIT } from './shared/exit-codes'
export type { CounterSnapshot, DropReason } from './shared/shared-state'
export { TopicMatcher } from './shared/topics'
