import type { MessagePort } from 'node:worker_threads'
import type { SocketSpec } from '../shared/config'
import { deserializeError } from '../shared/errors'
import type { Logger } from '../shared/logger'
import { type FromWorker, post, type ToWorker } from '../shared/protocol'
import type { HandlerContext, Payload } from '../shared/service'
import type { SocketCounters } from '../shared/shared-state'
import { validateTopic } from '../shared/topics'

/**
 * What a handler sends to the main thread: publishes (the main thread owns every PUB socket),
 * `toMain` messages, and `callMain` calls with their table of pending answers.
 */
export class MainCalls {
  readonly #port: MessagePort
  readonly #counters: SocketCounters
  #nextCall = 0
  readonly #calls = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >()

  constructor(port: MessagePort, counters: SocketCounters) {
    this.#port = port
    this.#counters = counters
  }

  /** The handler's `ctx`; `log` is made when a handler first reads it (see ThreadLogs). */
  context(log: () => Logger, socket: SocketSpec): HandlerContext {
    return {
      publish: (topic: string, payload: Payload, options) => {
        try {
          validateTopic(topic)
        } catch (error) {
          this.#counters.add('publishRejected')
          throw error
        }
        const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
        const message: FromWorker = {
          type: 'publish',
          topic,
          payload: bytes,
          socket: options?.socket,
        }
        const { buffer } = bytes
        // Only memory the payload owns whole can move; anything else is copied as usual.
        if (
          options?.transfer &&
          buffer instanceof ArrayBuffer &&
          bytes.byteLength === buffer.byteLength
        )
          postMoving(this.#port, message, buffer)
        else post(this.#port, message)
      },
      toMain: (data) => post(this.#port, { type: 'service', data }),
      callMain: (data) =>
        new Promise((resolve, reject) => {
          const id = this.#nextCall++
          this.#calls.set(id, { resolve, reject })
          post(this.#port, { type: 'call', id, data })
        }),
      get log() {
        return log()
      },
      socket,
    }
  }

  /** Settles the call the main thread answered; its error keeps its code (see deserializeError). */
  answer(message: Extract<ToWorker, { type: 'answer' }>): void {
    const call = this.#calls.get(message.id)
    this.#calls.delete(message.id)
    if (!call) return
    if (message.ok) call.resolve(message.value)
    else call.reject(deserializeError(message.error))
  }
}

/**
 * Posts `message` with `buffer` moved, not copied, where Node can move it. A Buffer over external
 * memory cannot move (zeromq.js's received frames with ZMQ_RECEIVE_COPY=false): Node 20 then
 * copies it silently, later Node throws DataCloneError before sending anything; it is copied
 * here as well, so a relay works the same on every Node.
 */
function postMoving(port: MessagePort, message: FromWorker, buffer: ArrayBuffer): void {
  try {
    post(port, message, [buffer])
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name !== 'DataCloneError') throw error
    post(port, message)
  }
}
