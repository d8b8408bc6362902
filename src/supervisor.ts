import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import type { Config } from './config'
import type { CounterSnapshot } from './counters'
import type { SerializedError } from './errors'
import type { Logger } from './logger'
import type { StopReason } from './protocol'
import { Publishers } from './publishers'
import {
  loadService,
  type MainContext,
  resolveServicePath,
  type Service,
  type StopFn,
} from './service'
import { WorkerHandle } from './worker-handle'

export interface SupervisorOptions {
  readonly log: Logger
  /** Overrides the worker thread entry (tests use fixture workers). */
  readonly workerEntry?: string
}

export interface CloseResult {
  /** True when every worker reported `stopped` within the deadline. */
  readonly clean: boolean
  /** Sockets whose worker missed the deadline and was terminated. */
  readonly terminated: readonly string[]
  readonly elapsedMs: number
}

export interface SupervisorEvents {
  /** A worker failed after start-up; the owner decides what to do (main.ts shuts down). */
  workerFailed: [socket: string, error: SerializedError]
  /** Data a handler sent with `ctx.toMain` (also delivered to the service's `onWorkerMessage`). */
  workerMessage: [data: unknown, socket: string]
}

/**
 * Starts the container: PUB sockets in this thread, one receive worker per SUB socket, then the
 * service's `start`. `close()` stops in two phases, intake first (service, workers), then the
 * PUB sockets. Never touches `process`: main.ts owns signals and exit codes.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly config: Config
  readonly #log: Logger
  readonly #options: SupervisorOptions
  readonly #workers: WorkerHandle[] = []
  readonly #serviceListeners: Array<(data: unknown, socket: string) => void> = []
  readonly #abort = new AbortController()
  #publishers: Publishers | undefined
  #serviceStop: StopFn | undefined
  #closing: Promise<CloseResult> | undefined
  #aborted = false

  constructor(config: Config, options: SupervisorOptions) {
    super()
    this.config = config
    this.#log = options.log
    this.#options = options
  }

  /**
   * Brings every socket up. Resolves true when ready, false when `close()` was called during
   * start-up; throws a ZcError (after cleaning up) when something could not start.
   */
  async start(): Promise<boolean> {
    const { config } = this
    const servicePath = resolveServicePath(config.service)
    const service = await loadService(servicePath)
    if (this.#closing) return false

    this.#publishers = await Publishers.open(config, this.#log)
    if (this.#closing) return false
    // The seed's slow-joiner allowance (2.4), so peers that connect right after bind miss nothing
    // published once we report ready. It runs while the workers start, not before.
    const settled =
      this.#publishers.size > 0 && config.settleMs > 0 ? delay(config.settleMs) : undefined

    for (const socket of config.sockets.filter((s) => s.kind === 'sub')) {
      this.#workers.push(
        new WorkerHandle({
          socket,
          config,
          servicePath,
          log: this.#log,
          ...(this.#options.workerEntry ? { entry: this.#options.workerEntry } : {}),
          onPublish: (m) => this.#publishFromWorker(m.topic, m.payload, m.socket, socket.name),
          onServiceMessage: (data, name) => {
            for (const listener of this.#serviceListeners) listener(data, name)
            this.emit('workerMessage', data, name)
          },
          onFailure: (error) => this.emit('workerFailed', socket.name, error),
        }),
      )
    }
    try {
      await Promise.all([settled, ...this.#workers.map((w) => w.ready(config.readyTimeoutMs))])
    } catch (error) {
      if (this.#closing) return false
      throw error
    }
    if (this.#closing) return false

    await this.#startService(service)
    return !this.#closing
  }

  async #startService(service: Service): Promise<void> {
    if (!service.start) return
    const ctx: MainContext = {
      publish: (topic, payload, options) => this.publish(topic, payload, options),
      onWorkerMessage: (listener) => {
        this.#serviceListeners.push(listener)
      },
      log: this.#log.child({ component: 'service' }),
      config: this.config,
      signal: this.#abort.signal,
    }
    const stop = await service.start(ctx)
    if (typeof stop === 'function') this.#serviceStop = stop
  }

  /** Publishes from the main thread; see {@link Publishers.publish}. */
  publish(...args: Parameters<Publishers['publish']>): boolean {
    if (!this.#publishers) return false
    return this.#publishers.publish(...args)
  }

  #publishFromWorker(
    topic: string,
    payload: Uint8Array,
    target: string | undefined,
    from: string,
  ): void {
    try {
      this.publish(topic, payload, target ? { socket: target } : undefined)
    } catch (error) {
      // The worker validated the topic; what is left is routing, e.g. no PUB socket declares it.
      this.#log.error({ err: error, socket: from, topic }, 'publish from handler rejected')
    }
  }

  /** Counters of each receive socket, by socket name. */
  counters(): Record<string, CounterSnapshot> {
    return Object.fromEntries(this.#workers.map((w) => [w.socket.name, w.counters.snapshot()]))
  }

  get publishers(): Publishers | undefined {
    return this.#publishers
  }

  /**
   * Stops in order: the service's own loops, then every worker (each closes its socket, finishes
   * the handler in flight and exits; all joined in parallel within the deadline), then the PUB
   * sockets. Idempotent: later calls get the first call's result.
   */
  close(reason: StopReason): Promise<CloseResult> {
    this.#closing ??= this.#close(reason)
    return this.#closing
  }

  async #close(reason: StopReason): Promise<CloseResult> {
    const started = performance.now()
    this.#abort.abort()
    // Workers are told first: closing their sockets is what makes shutdown fast, and it must not
    // wait behind a service stop function.
    for (const w of this.#workers) w.requestStop(reason)
    if (this.#serviceStop) {
      try {
        await this.#serviceStop()
      } catch (error) {
        this.#log.error({ err: error }, 'service stop failed')
      }
    }
    const deadline = this.config.shutdownTimeoutMs
    const outcomes = await Promise.all(this.#workers.map((w) => w.join(deadline)))
    const terminated = this.#workers
      .filter((_, i) => outcomes[i] === 'terminated')
      .map((w) => w.socket.name)
    if (this.#aborted)
      return { clean: false, terminated, elapsedMs: Math.round(performance.now() - started) }
    this.#workers.forEach((w, i) => {
      const counts = w.counters.snapshot()
      if (outcomes[i] === 'joined')
        this.#log.info({ socket: w.socket.name, ...counts }, 'receive worker stopped')
      // The seed's "RX thread did not stop cleanly".
      else
        this.#log.warn(
          { socket: w.socket.name, deadlineMs: deadline, ...counts },
          'receive worker did not stop cleanly; terminated',
        )
    })
    this.#publishers?.close()
    return {
      clean: terminated.length === 0,
      terminated,
      elapsedMs: Math.round(performance.now() - started),
    }
  }

  /**
   * For a second signal: ends every worker now. Workers with a receive pending are skipped
   * (terminating them would abort the process); they were told to stop and close within
   * milliseconds. Resolves when all threads are gone or `graceMs` has passed.
   */
  async abort(graceMs = 200): Promise<void> {
    this.#aborted = true
    for (const w of this.#workers) w.requestStop('signal')
    const until = performance.now() + graceMs
    let pending = this.#workers
    while (pending.length > 0 && performance.now() < until) {
      const done = await Promise.all(pending.map((w) => w.terminateIfSafe()))
      pending = pending.filter((_, i) => !done[i])
      if (pending.length > 0) await delay(5)
    }
    this.#publishers?.close()
  }
}
