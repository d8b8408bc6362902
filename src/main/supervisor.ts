import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { type Config, LATENCY_BUDGET_MS } from '../shared/config'
import { withDeadline } from '../shared/deadline'
import { ConfigError, errorCode, type SerializedError } from '../shared/errors'
import type { InfoDocument } from '../shared/info-document'
import type { Logger } from '../shared/logger'
import { LogThrottle, reportHeldBack } from '../shared/logger'
import type { StopReason } from '../shared/protocol'
import {
  loadService,
  type MainContext,
  resolveServicePath,
  type Service,
  type StopFn,
  serviceKeyIssues,
} from '../shared/service'
import { type CounterSnapshot, DURATION_BUCKETS } from '../shared/shared-state'
import { ContainerRecorder, type RecordCounts } from './container-recorder'
import type { Readiness } from './health'
import { buildInfo } from './info'
import { LatencyWindow } from './latency-window'
import { Publishers } from './publishers'
import { type GiveUpReason, WorkerSlot } from './worker-slot'
import { ZapHandler, type ZapStats } from './zap'

export interface SupervisorOptions {
  readonly log: Logger
  /** Overrides the worker thread entry (tests use fixture workers). */
  readonly workerEntry?: string
}

export interface CloseResult {
  /** True when every worker stopped by itself within the deadline. */
  readonly clean: boolean
  /** Sockets whose worker missed the deadline and was terminated. */
  readonly terminated: readonly string[]
  /**
   * Sockets whose worker missed the deadline in a state where terminating it would abort the
   * process. The caller must end the process without tearing the thread down (SIGKILL).
   */
  readonly stuck: readonly string[]
  readonly elapsedMs: number
}

export interface SupervisorEvents {
  /**
   * A socket's worker failed and will not be restarted: the restart limit was reached, or it
   * cannot be ended safely. The owner decides what to do (main.ts shuts down).
   */
  gaveUp: [socket: string, reason: GiveUpReason, error: SerializedError]
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
  readonly #slots: WorkerSlot[] = []
  readonly #latency = new Map<string, LatencyWindow>()
  #sampler: NodeJS.Timeout | undefined
  #started = false
  #zap: ZapHandler | undefined
  #callAnswerer: ((data: unknown, socket: string) => unknown) | undefined
  #markServiceStarted: () => void = () => {}
  /** Settles once the service's start() has returned (or thrown), or at close. */
  readonly #serviceStarted = new Promise<void>((resolve) => {
    this.#markServiceStarted = resolve
  })
  readonly #serviceListeners: Array<(data: unknown, socket: string) => void> = []
  readonly #serviceAbort = new AbortController()
  #publishers: Publishers | undefined
  #recorder: ContainerRecorder | undefined
  #serviceStop: StopFn | undefined
  #closing: Promise<CloseResult> | undefined
  #forced = false
  readonly #throttle: LogThrottle

  constructor(config: Config, options: SupervisorOptions) {
    super()
    this.config = config
    this.#log = options.log
    this.#options = options
    this.#throttle = new LogThrottle({ flush: reportHeldBack(options.log, 'error') })
  }

  /**
   * Brings every socket up. Resolves true when ready, false when `close()` was called during
   * start-up; throws a ZcError (after cleaning up) when something could not start.
   */
  async start(): Promise<boolean> {
    const { config } = this
    const servicePath = resolveServicePath(config.service)
    const service = await loadService(servicePath)
    const keyIssues = serviceKeyIssues(service, config.sockets)
    if (keyIssues.length > 0) throw new ConfigError(keyIssues)
    if (this.#closing) return false

    // Before any CURVE server socket binds: libzmq sends every handshake to this handler.
    if (config.sockets.some((s) => s.curve?.role === 'server')) {
      this.#zap = await ZapHandler.start(config.curveAllow, this.#log)
      if (this.#closing) {
        this.#zap.close()
        return false
      }
    }
    this.#publishers = await Publishers.open(config, this.#log)
    if (this.#closing) {
      // close() ran while we were binding and could not see these sockets yet.
      this.#publishers.close()
      return false
    }
    // The seed's slow-joiner allowance (2.4), so peers that connect right after bind miss nothing
    // published once we report ready. It runs while the workers start, not before.
    const settled =
      this.#publishers.size > 0 && config.settleMs > 0 ? delay(config.settleMs) : undefined

    if (config.record) {
      this.#recorder = await openRecorder(config, this.#log)
      if (this.#closing) {
        await this.#recorder.close()
        return false
      }
    }
    const recorder = this.#recorder
    for (const socket of config.sockets.filter((s) => s.kind !== 'pub')) {
      this.#slots.push(
        new WorkerSlot({
          socket,
          config,
          servicePath,
          log: this.#log,
          ...(this.#options.workerEntry ? { entry: this.#options.workerEntry } : {}),
          onPublish: (m) => this.#publishFromWorker(m.topic, m.payload, m.socket, socket.name),
          // Handlers may run before start() has registered its listeners (REP requests and
          // messages arrive as soon as a worker is ready): both wait for start() to return.
          onServiceMessage: (data, name) => {
            void this.#serviceStarted.then(() => {
              for (const listener of this.#serviceListeners) listener(data, name)
              this.emit('workerMessage', data, name)
            })
          },
          onCall: async (data, name) => {
            await this.#serviceStarted
            if (!this.#callAnswerer)
              throw new Error('the service has no onWorkerCall in its start()')
            return this.#callAnswerer(data, name)
          },
          onGiveUp: (reason, error) => this.emit('gaveUp', socket.name, reason, error),
          ...(recorder && socket.kind === 'sub'
            ? {
                record: {
                  budget: recorder.budget,
                  onBatch: (batch) => recorder.accept(socket.name, batch),
                },
              }
            : {}),
        }),
      )
      // A first sample now, so runs before the first periodic one count in the window too.
      const window = new LatencyWindow()
      window.push(new Array(DURATION_BUCKETS.length + 1).fill(0))
      this.#latency.set(socket.name, window)
    }
    try {
      await Promise.all([
        settled,
        this.#publishers.waitForSubscribers(),
        ...this.#slots.map((slot) => slot.start()),
      ])
    } catch (error) {
      if (this.#closing) return false
      throw error
    }
    if (this.#closing) return false

    await this.#startService(service)
    if (this.#closing) return false
    this.#started = true
    this.#sampler = setInterval(() => this.#sampleLatency(), 1000)
    this.#sampler.unref()
    return true
  }

  #sampleLatency(): void {
    for (const slot of this.#slots) {
      const h = slot.counters.durationHistogram()
      this.#latency.get(slot.socket.name)?.push([...h.buckets, h.count])
    }
  }

  /**
   * Whether the container can serve (/readyz), with the reasons it cannot. Goes false first thing
   * at shutdown (the Kubernetes contract), then the drain begins.
   *
   * A SUB socket with no connected publisher is `degraded`, not a reason: behind a Kubernetes
   * Service, a peer's connection is routed only once this container is ready, so waiting for
   * peers before being ready deadlocks two containers that subscribe to each other. It becomes
   * a reason only with ZC_READY_REQUIRES_PEERS=true.
   */
  readiness(): Readiness {
    const reasons: string[] = []
    const degraded: string[] = []
    if (this.#closing) reasons.push('shutting down')
    else if (!this.#started) reasons.push('starting')
    for (const slot of this.#slots) {
      const name = slot.socket.name
      if (this.#started && slot.state !== 'up')
        reasons.push(`receive worker ${name} is ${slot.state}`)
      if (slot.socket.kind === 'sub' && slot.counters.monitored && slot.counters.peers === 0)
        (this.config.readyRequiresPeers ? reasons : degraded).push(
          `socket ${name} has no connected peer`,
        )
      if (this.config.readyOnLatency) {
        const p99 = this.#latency.get(name)?.p99()
        const budget = LATENCY_BUDGET_MS[slot.socket.latencyClass] / 1000
        if (p99 !== undefined && p99 > budget)
          reasons.push(
            `socket ${name} p99 handler time above its ${slot.socket.latencyClass} budget`,
          )
      }
    }
    for (const gate of this.#publishers?.gateUnmet() ?? [])
      reasons.push(`socket ${gate.socket} has ${gate.attached} of ${gate.required} subscribers`)
    return { ready: reasons.length === 0, reasons, degraded }
  }

  /**
   * Whether the process is alive (/livez): this thread answers (the caller runs in it), and every
   * running worker's event loop has ticked recently. Never depends on peers.
   */
  liveness(): { live: boolean; reasons: string[] } {
    const reasons: string[] = []
    const now = Date.now()
    for (const slot of this.#slots) {
      if (slot.state !== 'up') continue
      const age = now - slot.counters.lastTickMs
      if (age > this.config.livenessStaleMs)
        reasons.push(`receive worker ${slot.socket.name} event loop stalled for ${age} ms`)
    }
    return { live: reasons.length === 0, reasons }
  }

  /** Each receive socket's spec, state and shared counters (for /metrics). */
  slots(): ReadonlyArray<Pick<WorkerSlot, 'socket' | 'counters' | 'state'>> {
    return this.#slots
  }

  async #startService(service: Service): Promise<void> {
    try {
      await this.#runStart(service)
    } finally {
      this.#markServiceStarted()
    }
  }

  async #runStart(service: Service): Promise<void> {
    if (!service.start) return
    const ctx: MainContext = {
      publish: (topic, payload, options) => this.publish(topic, payload, options),
      onWorkerMessage: (listener) => {
        this.#serviceListeners.push(listener)
      },
      onWorkerCall: (answer) => {
        this.#callAnswerer = answer
      },
      log: this.#log.child({ component: 'service' }),
      config: this.config,
      signal: this.#serviceAbort.signal,
    }
    const stop = await service.start(ctx)
    if (typeof stop !== 'function') return
    this.#serviceStop = stop
    // close() ran while start() was in flight and had no stop function to call yet.
    if (this.#closing) await this.#stopService()
  }

  /** Calls the service's stop function once, bounded by the shutdown deadline; false on timeout. */
  #stopService(): Promise<boolean> {
    const stop = this.#serviceStop
    this.#serviceStop = undefined
    if (!stop) return Promise.resolve(true)
    const run = (async () => stop())().catch((error: unknown) => {
      this.#log.error({ err: error }, 'service stop failed')
    })
    return withDeadline(run, this.config.shutdownTimeoutMs, 'timeout' as const).then((outcome) => {
      if (outcome !== 'timeout') return true
      this.#log.warn({ deadlineMs: this.config.shutdownTimeoutMs }, 'service stop timed out')
      return false
    })
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
      const suppressed = this.#throttle.admit(`publish:${from}`)
      if (suppressed !== undefined)
        this.#log.error(
          { err: error, socket: from, topic, suppressed },
          'publish from handler rejected',
        )
    }
  }

  /** The /info document: sockets, peers, counts, readiness (see main/info.ts). */
  info(version: string): InfoDocument {
    return buildInfo({
      config: this.config,
      version,
      // The performance clock starts with the process.
      uptimeMs: performance.now(),
      readiness: this.readiness(),
      receivers: this.#slots.map((slot) => ({
        socket: slot.socket,
        state: slot.state,
        counters: {
          ...slot.counters.snapshot(),
          restarts: slot.counters.get('restarts'),
          peers: slot.counters.monitored ? slot.counters.peers : null,
          receivedBySubscription: slot.counters.receivedBySubscription(),
        },
        p99: this.#latency.get(slot.socket.name)?.p99(),
      })),
      publishers: this.#publishers?.stats() ?? [],
    })
  }

  /** Counters of each receive socket, by socket name. */
  counters(): Record<string, CounterSnapshot> {
    return Object.fromEntries(this.#slots.map((w) => [w.socket.name, w.counters.snapshot()]))
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
    this.#serviceAbort.abort()
    this.#markServiceStarted()
    clearInterval(this.#sampler)
    // Workers are told first: closing their sockets is what makes shutdown fast, and it must not
    // wait behind a service stop function. The service stop and the joins share one deadline.
    for (const w of this.#slots) w.requestStop(reason)
    const deadline = this.config.shutdownTimeoutMs
    const [serviceStopped, outcomes] = await Promise.all([
      this.#stopService(),
      Promise.all(this.#slots.map((w) => w.join(deadline))),
    ])
    const named = (outcome: string) =>
      this.#slots.filter((_, i) => outcomes[i] === outcome).map((w) => w.socket.name)
    const result: CloseResult = {
      clean: serviceStopped && outcomes.every((o) => o === 'joined'),
      terminated: named('terminated'),
      stuck: named('stuck'),
      elapsedMs: Math.round(performance.now() - started),
    }
    // After a second signal, main.ts has already reported and exited.
    if (this.#forced) return result
    this.#slots.forEach((w, i) => {
      const counts = w.counters.snapshot()
      const socket = w.socket.name
      if (outcomes[i] === 'joined') this.#log.info({ socket, ...counts }, 'receive worker stopped')
      // The seed's "RX thread did not stop cleanly".
      else if (outcomes[i] === 'terminated')
        this.#log.warn(
          { socket, deadlineMs: deadline, ...counts },
          'receive worker did not stop cleanly; terminated',
        )
      else
        this.#log.error(
          { socket, deadlineMs: deadline, ...counts },
          'receive worker blocked with native zeromq work pending; it cannot be terminated safely',
        )
    })
    this.#publishers?.close()
    this.#zap?.close()
    // After the joins: every receive thread has sent its last batch.
    await this.#recorder?.close()
    return result
  }

  /** ZMQ_RECORD_FILE: per SUB socket, messages recorded, overflowed and skipped so far. */
  recordCounts(): ReadonlyMap<string, Readonly<RecordCounts>> {
    return this.#recorder?.counts ?? new Map()
  }

  /** ZAP handler counts, when any socket is a CURVE server. */
  zapStats(): ZapStats | undefined {
    return this.#zap?.stats
  }

  /**
   * For a second signal: ends every worker now. A worker with native zeromq work in flight
   * cannot be terminated (that aborts the process); it was told to stop and normally closes its
   * socket within milliseconds. Resolves with the sockets still unsafe after `graceMs`.
   */
  async forceStop(graceMs = 200): Promise<string[]> {
    this.#forced = true
    for (const w of this.#slots) w.requestStop('signal')
    const until = performance.now() + graceMs
    let pending = this.#slots
    for (;;) {
      const done = await Promise.all(pending.map((w) => w.terminateIfSafe()))
      pending = pending.filter((_, i) => !done[i])
      if (pending.length === 0 || performance.now() >= until) break
      // Bounded poll of a shared state word: there is no event for "the state changed".
      await delay(5)
    }
    this.#publishers?.close()
    this.#zap?.close()
    return pending.map((w) => w.socket.name)
  }
}

/** ZMQ_RECORD_FILE: a file that cannot be created is a configuration error (exit 78). */
async function openRecorder(config: Config, log: Logger): Promise<ContainerRecorder> {
  const record = config.record as NonNullable<Config['record']>
  const subs = config.sockets.filter((s) => s.kind === 'sub')
  try {
    return await ContainerRecorder.open(record, subs, log)
  } catch (error) {
    throw new ConfigError([
      {
        variable: 'ZMQ_RECORD_FILE',
        problem: `names a file that cannot be created (${errorCode(error) ?? (error as Error).message}): ${record.file}`,
        example: '/data/recording.mcap',
      },
    ])
  }
}
