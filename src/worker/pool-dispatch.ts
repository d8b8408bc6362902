import type { Piscina } from 'piscina'
import type { PoolResult, PoolTask, PoolWorkerData } from '../pool/pool-task'
import type { PoolConfig } from '../shared/config'
import type { EnvelopeFields } from '../shared/envelope'

export interface PoolItem {
  readonly topic: string
  readonly payload: Buffer
  /** `performance.now()` in the receive thread, for the latency histogram. */
  readonly receivedAt: number
  /** ZMQ_SUB_ENVELOPE: what the handler sees of the envelope, and the age at receive (s). */
  readonly envelope?: EnvelopeFields
  readonly ageSeconds?: number
}

/**
 * The task for one message. Its payload is one copy into memory we own, meant to be transferred:
 * with ZMQ_RECEIVE_COPY=false the received Buffer is zeromq.js's external memory, which
 * postMessage silently copies again instead of transferring. (With copies, the default, a
 * received Buffer that spans its whole ArrayBuffer could be transferred itself, saving this
 * copy; not done: the copy is small beside a pool handler's work, unmeasured for large frames.)
 */
export function poolTask(item: PoolItem): PoolTask {
  const payload = new Uint8Array(item.payload.byteLength)
  payload.set(item.payload)
  return {
    topic: item.topic,
    payload,
    receivedAtEpochMs: performance.timeOrigin + item.receivedAt,
    envelope: item.envelope,
  }
}

export interface PoolCallbacks {
  done(item: PoolItem, result: PoolResult): void
  failed(item: PoolItem, error: unknown): void
  /** `item` will not be handled: the queue was full (by the drop policy), or shutdown came first. */
  dropped(item: PoolItem, reason: 'pool_full' | 'shutdown'): void
}

/**
 * Feeds one socket's messages to a piscina pool with a bounded queue of our own: at most
 * `threads` tasks run, at most `queue` wait, and the drop policy picks the newest or the oldest
 * message when full. Keeping the queue here (not piscina's) makes every drop exact and counted,
 * and never aborts a task that has started.
 */
export class PoolDispatcher {
  readonly #config: PoolConfig
  readonly #pool: Piscina
  readonly #callbacks: PoolCallbacks
  readonly #waiting: PoolItem[] = []
  #running = 0
  #idle: (() => void) | undefined

  constructor(config: PoolConfig, data: PoolWorkerData, callbacks: PoolCallbacks) {
    this.#config = config
    this.#callbacks = callbacks
    // Loaded here, not at the top: only a socket with _POOL_THREADS needs piscina, and every
    // receive thread would otherwise pay for loading it at start-up (about 9 ms each).
    const { Piscina: PiscinaClass } = require('piscina') as typeof import('piscina')
    this.#pool = new PiscinaClass({
      // paths.js lies outside the receive bundle: loaded when a pool is made, as piscina is.
      filename: (require('../shared/paths') as typeof import('../shared/paths')).threadEntry(
        'pool-task',
      ),
      minThreads: config.threads,
      maxThreads: config.threads,
      workerData: data,
    })
  }

  submit(item: PoolItem): void {
    if (this.#running < this.#config.threads) {
      this.#start(item)
    } else if (this.#waiting.length < this.#config.queue) {
      this.#waiting.push(item)
    } else if (this.#config.drop === 'newest') {
      this.#callbacks.dropped(item, 'pool_full')
    } else {
      this.#callbacks.dropped(this.#waiting.shift() as PoolItem, 'pool_full')
      this.#waiting.push(item)
    }
  }

  #start(item: PoolItem): void {
    this.#running++
    const task = poolTask(item)
    this.#pool.run(task, { transferList: [task.payload.buffer as ArrayBuffer] }).then(
      (result: PoolResult) => this.#settle(() => this.#callbacks.done(item, result)),
      (error: unknown) => this.#settle(() => this.#callbacks.failed(item, error)),
    )
  }

  #settle(report: () => void): void {
    this.#running--
    report()
    const next = this.#waiting.shift()
    if (next) this.#start(next)
    else if (this.#running === 0) this.#idle?.()
  }

  /** Drops every waiting message (counted by the caller); running tasks go on. */
  discardWaiting(): void {
    for (const item of this.#waiting.splice(0)) this.#callbacks.dropped(item, 'shutdown')
    if (this.#running === 0) this.#idle?.()
  }

  /** Resolves when nothing waits or runs. */
  drained(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.#idle = resolve
    })
  }

  async close(): Promise<void> {
    await this.#pool.destroy()
  }
}
