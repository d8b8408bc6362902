import type { LogFormat, LogLevel, SocketSpec } from '../shared/config'
import type { EnvelopeFields } from '../shared/envelope'
import { createLogger, type Logger } from '../shared/logger'
import { type Handler, type HandlerContext, handlerFor, loadService } from '../shared/service'
import { validateTopic } from '../shared/topics'
import { isPayloadDecodeError } from '../shared/typed-topics'

/** What a receive worker hands a pool thread: one checked message. */
export interface PoolTask {
  readonly topic: string
  /** A copy the receive worker owns, transferred (not cloned) into the pool thread. */
  readonly payload: Uint8Array
  /** Receive time as epoch milliseconds: `performance.now()` differs between threads. */
  readonly receivedAtEpochMs: number
  /** ZMQ_SUB_ENVELOPE: seq, sentAt and publisher for the handler (undefined without). */
  readonly envelope?: EnvelopeFields | undefined
}

export interface PoolResult {
  readonly publishes: Array<{ topic: string; payload: Uint8Array; socket: string | undefined }>
  readonly messages: unknown[]
  /**
   * A typed service could not decode the payload (the drop reason `decode_error`). Said in the
   * result because an error's class and fields do not survive the trip back from a pool thread.
   */
  decodeError?: string
}

export interface PoolWorkerData {
  readonly servicePath: string | undefined
  readonly socket: SocketSpec
  readonly logLevel: LogLevel
  readonly logFormat: LogFormat
}

let loaded: Promise<{ handler: Handler; log: Logger }> | undefined

/**
 * Runs the socket's handler in a piscina thread. What the handler publishes or sends to the
 * main thread travels back with the result, and the receive worker forwards it: pool threads own
 * no sockets and no port to the main thread.
 */
export async function runPoolTask(task: PoolTask, data: PoolWorkerData): Promise<PoolResult> {
  loaded ??= loadService(data.servicePath).then((service) => ({
    handler: handlerFor(service, data.socket.name),
    log: createLogger(
      data.logLevel,
      { socket: data.socket.name, class: data.socket.latencyClass, pool: true },
      data.logFormat,
    ),
  }))
  // A failed load is not cached: the next task tries again (each failure is a handler error).
  loaded.catch(() => {
    loaded = undefined
  })
  const { handler, log } = await loaded
  const result: PoolResult = { publishes: [], messages: [] }
  const ctx: HandlerContext = {
    publish: (topic, payload, options) => {
      validateTopic(topic)
      result.publishes.push({
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        socket: options?.socket,
      })
    },
    toMain: (message) => {
      result.messages.push(message)
    },
    callMain: () =>
      Promise.reject(new Error('ctx.callMain is not available to handlers in pool mode')),
    log,
    socket: data.socket,
  }
  const payload = Buffer.from(task.payload.buffer, task.payload.byteOffset, task.payload.byteLength)
  try {
    await handler(
      {
        topic: task.topic,
        payload,
        socket: data.socket.name,
        latencyClass: data.socket.latencyClass,
        receivedAt: task.receivedAtEpochMs - performance.timeOrigin,
        ...task.envelope,
      },
      ctx,
    )
  } catch (error) {
    if (!isPayloadDecodeError(error)) throw error
    result.decodeError = (error as Error).message
  }
  return result
}
