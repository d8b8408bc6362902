import { once } from 'node:events'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import type { Config, SocketSpec } from './config'
import { SocketCounters, WorkerState } from './counters'
import { type SerializedError, ZcError } from './errors'
import type { Logger } from './logger'
import { assertNever, type FromWorker, type StopReason, type WorkerInit } from './protocol'

/** How a join ended. */
export type JoinOutcome =
  /** The worker reported `stopped` and its thread exited. */
  | 'joined'
  /** The deadline passed with no receive pending; the thread was terminated (safe). */
  | 'terminated'

export interface WorkerHandleOptions {
  readonly socket: SocketSpec
  readonly config: Config
  readonly servicePath: string | undefined
  readonly log: Logger
  /** Counters that outlive this worker (a restart reuses them). */
  readonly counters?: SocketCounters
  /** Thread entry; tests point this at fixture workers. */
  readonly entry?: string
  readonly onPublish: (message: Extract<FromWorker, { type: 'publish' }>) => void
  readonly onServiceMessage: (data: unknown, socket: string) => void
  /** A failure after the ready handshake. */
  readonly onFailure: (error: SerializedError) => void
}

// The compiled worker sits beside the compiled src/; under tsx both are .ts.
const DEFAULT_ENTRY = path.join(__dirname, '..', 'workers', `receive${path.extname(__filename)}`)

/**
 * One receive worker thread and its private control port: a ready handshake with a timeout,
 * a typed stop request, and a join with a deadline that terminates only when that is safe.
 */
export class WorkerHandle {
  readonly socket: SocketSpec
  readonly counters: SocketCounters
  readonly #options: WorkerHandleOptions
  readonly #worker: Worker
  readonly #exited: Promise<number>
  readonly #port: MessagePort
  readonly #readiness: Promise<SerializedError | undefined>
  #resolveReadiness: (error: SerializedError | undefined) => void = () => {}
  #terminating = false
  #ready = false
  #stopRequested = false

  constructor(options: WorkerHandleOptions) {
    this.#options = options
    this.socket = options.socket
    this.counters = options.counters ?? new SocketCounters()
    this.counters.resetForRestart()
    const { port1, port2 } = new MessageChannel()
    const init: WorkerInit = {
      socket: options.socket,
      config: options.config,
      servicePath: options.servicePath,
      port: port2,
      counters: this.counters.buffer,
    }
    this.#worker = new Worker(options.entry ?? DEFAULT_ENTRY, {
      workerData: init,
      transferList: [port2],
      name: `receive:${options.socket.name}`,
    })
    this.#exited = once(this.#worker, 'exit').then(([code]) => code as number)
    this.#worker.on('error', (error) => {
      // Only reached if the worker's own guards failed; its thread is already gone.
      options.log.error({ err: error, socket: this.socket.name }, 'receive worker crashed')
      if (this.#ready && !this.#stopRequested)
        options.onFailure({ name: error.name, message: error.message })
    })
    // Settles once: undefined on `ready`, the error on a start failure or an early exit.
    this.#readiness = new Promise((resolve) => {
      this.#resolveReadiness = resolve
    })
    void this.#exited.then((code) =>
      this.#resolveReadiness({
        name: 'Exited',
        message: this.#stopRequested
          ? 'stopped during start-up'
          : `exited with code ${code} during start-up`,
      }),
    )
    port1.on('message', (message: FromWorker) => this.#onMessage(message))
    this.#port = port1
  }

  /** Resolves once the worker is receiving; rejects with ZC_ERR_WORKER_START otherwise. */
  async ready(timeoutMs: number): Promise<void> {
    const timeout: SerializedError = {
      name: 'Timeout',
      message: `not ready within ${timeoutMs} ms`,
    }
    const error = await Promise.race([this.#readiness, delay(timeoutMs, timeout, { ref: false })])
    if (error)
      throw new ZcError(
        'ZC_ERR_WORKER_START',
        `${this.socket.envPrefix}: receive worker ${error.message}`,
      )
  }

  get isReady(): boolean {
    return this.#ready
  }

  /** Asks the worker to close its socket and end. Idempotent; safe before `ready`. */
  requestStop(reason: StopReason): void {
    if (this.#stopRequested) return
    this.#stopRequested = true
    this.counters.requestStop()
    this.#port.postMessage({ type: 'shutdown', reason })
  }

  /**
   * Waits for the worker to stop and its thread to exit. At the deadline the thread is
   * terminated, which is safe only with no zeromq receive pending (zeromq.js#411): a worker
   * stuck in a handler has none, and a worker that was still receiving gets one more receive
   * timeout to notice the stop flag before it is terminated anyway.
   */
  async join(deadlineMs: number): Promise<JoinOutcome> {
    // An exit we did not cause is a join: the thread ended by itself after closing its socket
    // (its `stopped` report may still be in flight on the port; the counters are shared anyway).
    const exited = await Promise.race([
      this.#exited.then(() => true),
      delay(deadlineMs, false, { ref: false }),
    ])
    if (exited) return this.#terminating ? 'terminated' : 'joined'
    if (this.counters.state === WorkerState.Receiving) {
      this.#options.log.warn(
        { socket: this.socket.name },
        'worker still receiving at the deadline; waiting one receive timeout',
      )
      const grace = this.#options.config.receiveTimeoutMs + 100
      if (await Promise.race([this.#exited.then(() => true), delay(grace, false, { ref: false })]))
        return 'joined'
    }
    await this.#terminate()
    return 'terminated'
  }

  /** Terminates now if no receive is pending; for a second signal. Returns false if it waited. */
  async terminateIfSafe(): Promise<boolean> {
    if (this.counters.state === WorkerState.Receiving) return false
    await this.#terminate()
    return true
  }

  async #terminate(): Promise<void> {
    this.#terminating = true
    await this.#worker.terminate()
  }

  get exited(): Promise<number> {
    return this.#exited
  }

  #onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.#ready = true
        this.#resolveReadiness(undefined)
        return
      case 'failed':
        if (message.phase === 'start' || !this.#ready) {
          this.#resolveReadiness(message.error)
        } else {
          this.#options.onFailure(message.error)
        }
        return
      case 'stopped':
        this.#port.close()
        return
      case 'publish':
        this.#options.onPublish(message)
        return
      case 'service':
        this.#options.onServiceMessage(message.data, this.socket.name)
        return
      default:
        assertNever(message)
    }
  }
}
