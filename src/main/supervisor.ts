import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import type { Config } from '../shared/config'
import { ConfigError, errorCode, type SerializedError } from '../shared/errors'
import type { InfoDocument } from '../shared/info-document'
import { LogThrottle, reportHeldBack } from '../shared/log-throttle'
import type { Logger } from '../shared/logger'
import type { StopReason } from '../shared/protocol'
import { loadService, resolveServicePath, serviceKeyIssues } from '../shared/service'
import { type CounterSnapshot, WorkerState } from '../shared/shared-state'
import { settleReceiveCopies } from '../shared/zmq/receive-copies'
import { ContainerRecorder, type RecordCounts } from './container-recorder'
import type { Readiness } from './health'
import { buildInfo } from './info'
import { startLibuvPool } from './libuv-pool'
import { Publishers } from './publishers'
import { LatencySamples, livenessOf, readinessOf } from './readiness'
import { ServiceHost } from './service-host'
import { reportJoins } from './shutdown-report'
import {
  hasStarted,
  nextSupervisorPhase,
  type SupervisorEvent,
  type SupervisorPhase,
} from './supervisor-phase'
import { type GiveUpReason, WorkerSlot } from './worker-slot'
import { ZapHandler, type ZapStats } from './zap'
import { startZmqThreads } from './zmq-threads'

/** After a second signal, how long the recorder may take to finish its file. */
const FORCED_RECORDER_CLOSE_MS = 2000
/** How long a second signal waits for a thread still loading its modules (see forceStop). */
const BOOT_WAIT_MS = 5000

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
   * process, and `recorder` when the recorder thread is blocked writing its file (see
   * ContainerRecorder.stuck). The caller must end the process without tearing the thread down
   * (SIGKILL).
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
  readonly #latency = new LatencySamples()
  #phase: SupervisorPhase = { name: 'starting' }
  #zap: ZapHandler | undefined
  readonly #service: ServiceHost
  #publishers: Publishers | undefined
  #recorder: ContainerRecorder | undefined
  #receiveCopies = false
  /** The first close()'s result, for every later call. */
  #closing: Promise<CloseResult> | undefined
  readonly #throttle: LogThrottle

  constructor(config: Config, options: SupervisorOptions) {
    super()
    this.config = config
    this.#log = options.log
    this.#options = options
    this.#throttle = new LogThrottle({ flush: reportHeldBack(options.log, 'error') })
    this.#service = new ServiceHost({
      config,
      log: options.log,
      publish: (topic, payload, publishOptions) => this.publish(topic, payload, publishOptions),
      onWorkerMessage: (data, socket) => this.emit('workerMessage', data, socket),
    })
  }

  /**
   * Whether received frames are copied into ordinary Buffers in this process, as a frame received
   * at start-up showed (ZMQ_RECEIVE_COPY asks for it; the first receive in a process decides).
   */
  get receiveCopies(): boolean {
    return this.#receiveCopies
  }

  get phase(): SupervisorPhase {
    return this.#phase
  }

  #on(event: SupervisorEvent): boolean {
    const next = nextSupervisorPhase(this.#phase, event)
    if (next === undefined) return false
    this.#phase = next
    return true
  }

  /** close() was called while start() awaited: start() stops and resolves false. */
  get #closed(): boolean {
    return this.#phase.name !== 'starting'
  }

  /**
   * Brings every socket up. Resolves true when ready, false when `close()` was called during
   * start-up; throws a ZcError (after cleaning up) when something could not start.
   */
  async start(): Promise<boolean> {
    const { config } = this
    // Before anything else queues work, the recorder thread and the service's loading among them.
    startLibuvPool()
    // Before any socket of this process receives, the service's own among them: zeromq.js
    // decides at the first received frame, once for every thread (receive-copies.ts).
    this.#receiveCopies = await settleReceiveCopies(config.receiveCopy)
    if (this.#receiveCopies !== config.receiveCopy)
      this.#log.warn(
        {
          variable: 'ZMQ_RECEIVE_COPY',
          wanted: config.receiveCopy,
          receiveCopies: this.#receiveCopies,
        },
        'receive copies not as configured',
      )
    const servicePath = resolveServicePath(config.service)
    const service = await loadService(servicePath)
    const keyIssues = serviceKeyIssues(service, config.sockets)
    if (keyIssues.length > 0) throw new ConfigError(keyIssues)
    if (this.#closed) return false

    // Before any CURVE server socket binds: libzmq sends every handshake to this handler.
    if (config.sockets.some((s) => s.curve?.role === 'server')) {
      this.#zap = await ZapHandler.start(config.curveAllow, this.#log)
      if (this.#closed) {
        this.#zap.close()
        return false
      }
    }
    this.#publishers = await Publishers.open(config, this.#log)
    if (this.#closed) {
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
      if (this.#closed) {
        await this.#recorder.close()
        return false
      }
    }
    const recorder = this.#recorder
    // Before any receive thread opens a socket: see zmq-threads.ts.
    startZmqThreads()
    for (const socket of config.sockets.filter((s) => s.kind !== 'pub')) {
      this.#slots.push(
        new WorkerSlot({
          socket,
          config,
          servicePath,
          log: this.#log,
          ...(this.#options.workerEntry ? { entry: this.#options.workerEntry } : {}),
          onPublish: (m) => this.#publishFromWorker(m.topic, m.payload, m.socket, socket.name),
          onServiceMessage: (data, name) => this.#service.deliver(data, name),
          onCall: (data, name) => this.#service.call(data, name),
          onGiveUp: (reason, error) => this.emit('gaveUp', socket.name, reason, error),
          ...(recorder && socket.kind === 'sub'
            ? { record: () => recorder.connect(socket.name) }
            : {}),
        }),
      )
      this.#latency.add(socket.name)
    }
    try {
      await Promise.all([
        settled,
        this.#publishers.waitForSubscribers(),
        ...this.#slots.map((slot) => slot.start()),
      ])
    } catch (error) {
      if (this.#closed) return false
      throw error
    }
    if (this.#closed) return false

    await this.#service.start(service)
    if (!this.#on('started')) return false
    this.#latency.start(this.#slots)
    return true
  }

  /** /readyz: see {@link readinessOf}. */
  readiness(): Readiness {
    return readinessOf({
      config: this.config,
      closing: this.#closing !== undefined,
      started: hasStarted(this.#phase),
      slots: this.#slots,
      latency: this.#latency,
      publishers: this.#publishers,
    })
  }

  /** /livez: see {@link livenessOf}. */
  liveness(): { live: boolean; reasons: string[] } {
    return livenessOf(this.config, this.#slots)
  }

  /** Each receive socket's spec, state and shared counters (for /metrics). */
  slots(): ReadonlyArray<Pick<WorkerSlot, 'socket' | 'counters' | 'state'>> {
    return this.#slots
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
        p99: this.#latency.p99(slot.socket.name),
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
    this.#on('close')
    this.#closing ??= this.#close(reason)
    return this.#closing
  }

  async #close(reason: StopReason): Promise<CloseResult> {
    const started = performance.now()
    this.#service.beginClose()
    this.#latency.stop()
    // Workers are told first: closing their sockets is what makes shutdown fast, and it must not
    // wait behind a service stop function. The service stop and the joins share one deadline.
    for (const w of this.#slots) w.requestStop(reason)
    const deadline = this.config.shutdownTimeoutMs
    const [serviceStopped, outcomes] = await Promise.all([
      this.#service.stop(),
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
    if (this.#phase.name === 'forced') return result
    reportJoins(this.#log, this.#slots, outcomes, deadline)
    this.#publishers?.close()
    this.#zap?.close()
    // After the joins: every receive thread has sent its last batch. The recorder writes its
    // backlog in what remains of the deadline (at nice 19 a full budget of small messages takes
    // seconds); the rest is counted as lost, and the file still ends properly.
    await this.#recorder?.close(Math.max(0, deadline - (performance.now() - started)))
    if (this.#recorder?.stuck) return { ...result, stuck: [...result.stuck, 'recorder'] }
    return result
  }

  /** ZMQ_RECORD_FILE: per SUB socket, messages recorded, overflowed, skipped and lost so far. */
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
   * socket within milliseconds. Resolves with the sockets still unsafe after `graceMs`, and
   * `recorder` when the recorder thread is blocked writing its file (see CloseResult.stuck).
   */
  async forceStop(graceMs = 200): Promise<string[]> {
    this.#on('force')
    // First: what waits for the writer from now on is lost, not written. Later, a recorder
    // unblocked meanwhile (a slow disk catching up) would write its whole backlog first.
    this.#recorder?.hurry()
    for (const w of this.#slots) w.requestStop('signal')
    const until = performance.now() + graceMs
    // A thread still booting (loading zeromq's addon) or opening its socket is waited for past
    // the grace: either always finishes, and a stopped thread then closes (a signal twice during
    // start-up, say), where SIGKILL would end the container with 137 instead of the signal's code.
    const bootedBy = performance.now() + BOOT_WAIT_MS
    let pending = this.#slots
    for (;;) {
      const done = await Promise.all(pending.map((w) => w.terminateIfSafe()))
      pending = pending.filter((_, i) => !done[i])
      const now = performance.now()
      const booting = pending.some(({ counters: { state } }) => {
        return state === WorkerState.Booting || state === WorkerState.Opening
      })
      if (pending.length === 0 || (now >= until && (!booting || now >= bootedBy))) break
      // Bounded poll of a shared state word: there is no event for "the state changed".
      await delay(5)
    }
    this.#publishers?.close()
    this.#zap?.close()
    // The terminated workers' last batches and the recorder's backlog are counted as lost; the
    // file still gets its summary and footer, within a bound: a second signal asked for a quick end.
    // Awaited only with a recorder: any extra await, even of nothing, lets main.ts log its last
    // line before the slots' joins have logged their counts.
    if (this.#recorder) {
      await this.#recorder.close(0, FORCED_RECORDER_CLOSE_MS)
    }
    const unsafe = pending.map((w) => w.socket.name)
    if (this.#recorder?.stuck) unsafe.push('recorder')
    return unsafe
  }
}

/** ZMQ_RECORD_FILE: a file that cannot be created is a configuration error (exit 78). */
async function openRecorder(config: Config, log: Logger): Promise<ContainerRecorder> {
  const record = config.record as NonNullable<Config['record']>
  const subs = config.sockets.filter((s) => s.kind === 'sub')
  try {
    return await ContainerRecorder.open(config, subs, log)
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
