import type { Config } from '../shared/config'
import { withDeadline } from '../shared/deadline'
import { ConfigError, ZcError } from '../shared/errors'
import type { Logger } from '../shared/logger'
import type { MainContext, Service, StopFn } from '../shared/service'

export interface ServiceHostOptions {
  readonly config: Config
  readonly log: Logger
  /** The main thread's publish (see Publishers.publish). */
  readonly publish: MainContext['publish']
  /** Data a handler sent with `ctx.toMain`, after the service's listeners had it. */
  readonly onWorkerMessage: (data: unknown, socket: string) => void
}

/**
 * The service's main-thread side: runs its `start(ctx)`, delivers what handlers send to the main
 * thread (`toMain`, `callMain`), and calls its stop function once, within the shutdown deadline.
 */
export class ServiceHost {
  readonly #options: ServiceHostOptions
  #callAnswerer: ((data: unknown, socket: string) => unknown) | undefined
  #markStarted: () => void = () => {}
  /** Settles once the service's start() has returned (or thrown), or at close. */
  readonly #started = new Promise<void>((resolve) => {
    this.#markStarted = resolve
  })
  readonly #listeners: Array<(data: unknown, socket: string) => void> = []
  readonly #abort = new AbortController()
  #stop: StopFn | undefined
  #closing = false

  constructor(options: ServiceHostOptions) {
    this.#options = options
  }

  /**
   * A handler's `ctx.toMain`. Handlers may run before start() has registered its listeners (REP
   * requests and messages arrive as soon as a worker is ready): delivery waits for start().
   */
  deliver(data: unknown, socket: string): void {
    void this.#started.then(() => {
      for (const listener of this.#listeners) listener(data, socket)
      this.#options.onWorkerMessage(data, socket)
    })
  }

  /** A handler's `ctx.callMain`: answered by the service's onWorkerCall, once start() returned. */
  async call(data: unknown, socket: string): Promise<unknown> {
    await this.#started
    if (!this.#callAnswerer) throw new Error('the service has no onWorkerCall in its start()')
    return this.#callAnswerer(data, socket)
  }

  /** Runs the service's start(ctx); whatever it does, deliveries and calls wait no longer. */
  async start(service: Service): Promise<void> {
    try {
      await this.#runStart(service)
    } finally {
      this.#markStarted()
    }
  }

  async #runStart(service: Service): Promise<void> {
    if (!service.start) return
    const { config, log } = this.#options
    const ctx: MainContext = {
      publish: this.#options.publish,
      onWorkerMessage: (listener) => {
        this.#listeners.push(listener)
      },
      onWorkerCall: (answer) => {
        this.#callAnswerer = answer
      },
      log: log.child({ component: 'service' }),
      config,
      signal: this.#abort.signal,
    }
    let stop: Awaited<ReturnType<NonNullable<Service['start']>>>
    try {
      stop = await service.start(ctx)
    } catch (error) {
      // A service's own invalid setting stays a configuration error (exit 78, main.ts); any
      // other failure is the service's, not the container's, and says so.
      if (error instanceof ConfigError) throw error
      throw new ZcError(
        'ZC_ERR_SERVICE_START',
        `the service's start() (ZC_SERVICE=${config.service}) failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      )
    }
    if (typeof stop !== 'function') return
    this.#stop = stop
    // close() ran while start() was in flight and had no stop function to call yet.
    if (this.#closing) await this.stop()
  }

  /** Shutdown begins: the service's signal aborts, and nothing waits on start() any longer. */
  beginClose(): void {
    this.#closing = true
    this.#abort.abort()
    this.#markStarted()
  }

  /** Calls the service's stop function once, bounded by the shutdown deadline; false on timeout. */
  stop(): Promise<boolean> {
    const stop = this.#stop
    this.#stop = undefined
    if (!stop) return Promise.resolve(true)
    const { config, log } = this.#options
    const run = (async () => stop())().catch((error: unknown) => {
      log.error({ err: error }, 'service stop failed')
    })
    return withDeadline(run, config.shutdownTimeoutMs, 'timeout' as const).then((outcome) => {
      if (outcome !== 'timeout') return true
      log.warn({ deadlineMs: config.shutdownTimeoutMs }, 'service stop timed out')
      return false
    })
  }
}
