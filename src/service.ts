/**
 * `zmq-container/service`: what a service module needs, and nothing heavier. Every receive
 * thread loads the service module, and with it whatever that imports: the package's main entry
 * also brings the supervisor, the config validators and the recording reader into each thread
 * (about 3.8 MiB of RSS per thread, measured), where this entry loads five small modules.
 *
 * ```ts
 * import { defineService } from 'zmq-container/service'
 * export default defineService({
 *   handlers: { control: (msg, ctx) => ctx.publish('robot.ack', msg.payload) },
 * })
 * ```
 */

export type { LatencyClass, SocketKind, SocketSpec } from './shared/config/types'
export { LATENCY_BUDGET_MS } from './shared/config/types'
export { defineService } from './shared/define-service'
export { ERROR_CODES, type ErrorCode, ZcError } from './shared/errors'
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
export { MAX_TOPIC_LENGTH, topicProblem, validateTopic } from './shared/topics'
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
