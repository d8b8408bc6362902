import { refuseUnknownKeys } from './define-service'
import { errorCode, ZcError } from './errors'
import type {
  Handler,
  HandlerContext,
  MainContext,
  Message,
  Payload,
  PublishOptions,
  Service,
  StopFn,
} from './service'

/**
 * How a topic's payload turns into a value and back. `decode` throws on a payload it cannot
 * read; the container then drops the message as `decode_error` instead of calling the handler.
 */
export interface PayloadCodec<T> {
  /** Shown in the drop's log line (`json`, `raw`, or a custom codec's name). */
  readonly name: string
  encode(value: T): Payload
  decode(payload: Buffer): T
}

/** The value type a codec makes. */
export type CodecValue<C> = C extends PayloadCodec<infer T> ? T : never

/** Topics and their codecs, declared once: `{ 'robot.cmd': codecs.json<Command>() }`. */
export type TopicCodecs = Readonly<Record<string, PayloadCodec<unknown>>>

/** The built-in codecs. */
export const codecs = {
  /** UTF-8 JSON, the default: a payload that is not valid JSON is a `decode_error` drop. */
  json<T = unknown>(): PayloadCodec<T> {
    return {
      name: 'json',
      encode: (value) => JSON.stringify(value),
      decode: (payload) => JSON.parse(payload.toString('utf8')) as T,
    }
  },
  /** The bytes as they are (a camera frame, say). Never fails. */
  raw(): PayloadCodec<Buffer> {
    return { name: 'raw', encode: (value) => value, decode: (payload) => payload }
  },
  /** A codec of the service's own (protobuf, msgpack, ...): `decode` throws on a bad payload. */
  custom<T>(
    name: string,
    encode: (value: T) => Payload,
    decode: (payload: Buffer) => T,
  ): PayloadCodec<T> {
    return { name, encode, decode }
  },
} as const

/**
 * A payload its topic's codec could not decode, or a topic with no codec. Thrown by a typed
 * handler before the service's code runs; the receive loop counts it as the drop reason
 * `decode_error`, not as a handler error.
 */
export class PayloadDecodeError extends ZcError {
  readonly topic: string
  readonly codec: string | undefined

  constructor(topic: string, codec: string | undefined, cause?: unknown) {
    super(
      'ZC_ERR_PAYLOAD_DECODE',
      codec === undefined
        ? `topic ${topic} has no codec in the service's topics`
        : `payload on ${topic} is not valid ${codec}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    )
    this.name = 'PayloadDecodeError'
    this.topic = topic
    this.codec = codec
  }
}

/** True for a {@link PayloadDecodeError}, also one that crossed a thread (a pool's) as plain data. */
export function isPayloadDecodeError(error: unknown): boolean {
  return error instanceof PayloadDecodeError || errorCode(error) === 'ZC_ERR_PAYLOAD_DECODE'
}

/** One inbound message of a typed service: `data` is decoded, and typed by its topic. */
export type TypedMessage<M extends TopicCodecs> = {
  [K in keyof M & string]: Omit<Message, 'topic'> & {
    readonly topic: K
    readonly data: CodecValue<M[K]>
  }
}[keyof M & string]

/** Publishes a value of a declared topic, encoded by its codec. */
export type TypedPublish<M extends TopicCodecs, R> = <K extends keyof M & string>(
  topic: K,
  value: CodecValue<M[K]>,
  options?: PublishOptions,
) => R

export type TypedHandlerContext<M extends TopicCodecs> = Omit<HandlerContext, 'publish'> & {
  readonly publish: TypedPublish<M, void>
  /** The untyped publish, for bytes already encoded or a topic with no codec. */
  readonly publishRaw: HandlerContext['publish']
}

export type TypedMainContext<M extends TopicCodecs> = Omit<MainContext, 'publish'> & {
  readonly publish: TypedPublish<M, boolean>
  readonly publishRaw: MainContext['publish']
}

export type TypedHandler<M extends TopicCodecs> = (
  message: TypedMessage<M>,
  ctx: TypedHandlerContext<M>,
) => void | Promise<void>

/** A service whose handlers get decoded, typed messages and publish typed values. */
export interface TypedService<M extends TopicCodecs> {
  readonly handlers?: Readonly<Record<string, TypedHandler<M>>>
  readonly replies?: Service['replies']
  // biome-ignore lint/suspicious/noConfusingVoidType: a start() that returns nothing is typed void
  start?(ctx: TypedMainContext<M>): void | StopFn | Promise<void | StopFn>
}

/**
 * Declares a service's topics and payload codecs once, and gives its handlers typed messages
 * and a typed `publish`:
 *
 * ```ts
 * const topics = { 'robot.cmd': codecs.json<{ speed: number }>(), 'robot.frame': codecs.raw() }
 * export default defineTypedService(topics, {
 *   handlers: {
 *     sub: (message, ctx) => {
 *       if (message.topic === 'robot.cmd') ctx.log.info({ speed: message.data.speed })
 *     },
 *   },
 * })
 * ```
 *
 * A message whose payload its topic's codec cannot decode, or whose topic has no codec, never
 * reaches the handler: it is dropped and counted as `decode_error` (zc_messages_dropped_total).
 */
export function defineTypedService<M extends TopicCodecs>(
  topics: M,
  service: TypedService<M>,
): Service {
  refuseUnknownKeys('defineTypedService', service)
  const encoder = (topic: string, value: unknown): Payload => {
    const codec = topics[topic]
    if (!codec) throw new TypeError(`topic ${topic} has no codec in the service's topics`)
    return codec.encode(value)
  }
  // One typed context per thread's context, not one per message. Built from its property
  // descriptors, not a spread: a spread would read `ctx.log`, which loads pino on first read.
  const typedContexts = new WeakMap<HandlerContext, TypedHandlerContext<M>>()
  const typedContext = (ctx: HandlerContext): TypedHandlerContext<M> => {
    let typed = typedContexts.get(ctx)
    if (!typed) {
      typed = Object.defineProperties(
        {
          publish: (topic: string, value: unknown, options?: PublishOptions) =>
            ctx.publish(topic, encoder(topic, value), options),
          publishRaw: ctx.publish,
        },
        omit(Object.getOwnPropertyDescriptors(ctx), 'publish'),
      ) as unknown as TypedHandlerContext<M>
      typedContexts.set(ctx, typed)
    }
    return typed
  }
  const wrap =
    (handler: TypedHandler<M>): Handler =>
    (message, ctx) => {
      const codec = topics[message.topic]
      if (!codec) throw new PayloadDecodeError(message.topic, undefined)
      let data: unknown
      try {
        data = codec.decode(message.payload)
      } catch (error) {
        throw new PayloadDecodeError(message.topic, codec.name, error)
      }
      return handler({ ...message, data } as unknown as TypedMessage<M>, typedContext(ctx))
    }
  const { start } = service
  return {
    ...(service.handlers
      ? {
          handlers: Object.fromEntries(
            Object.entries(service.handlers).map(([name, handler]) => [name, wrap(handler)]),
          ),
        }
      : {}),
    ...(service.replies ? { replies: service.replies } : {}),
    ...(start
      ? {
          start: (ctx: MainContext) =>
            start({
              ...ctx,
              publish: (topic, value, options) =>
                ctx.publish(topic, encoder(topic, value), options),
              publishRaw: ctx.publish,
            }),
        }
      : {}),
  }
}

function omit<T extends object, K extends keyof T>(object: T, key: K): Omit<T, K> {
  const { [key]: _omitted, ...rest } = object
  return rest
}
