import { type MessagePort, parentPort } from 'node:worker_threads'
import { Reply, Subscriber } from 'zeromq'
import { codeCacheOutcome, writeTrainedCodeCache } from '../shared/code-cache-state'
import { withDeadline } from '../shared/deadline'
import { serializeError } from '../shared/errors'
import type { Log } from '../shared/log'
import {
  assertNever,
  type EarlyLoaded,
  type EarlyStart,
  type FromWorker,
  isWorkerInit,
  post,
  type ToWorker,
  type WorkerInit,
} from '../shared/protocol'
import {
  type Handler,
  handlerFor,
  loadService,
  type ReplyHandler,
  replyHandlerFor,
} from '../shared/service'
import { SocketCounters, WorkerState } from '../shared/shared-state'
import { TopicMatcher } from '../shared/topics'
import { attach, createSocket, socketOptions } from '../shared/zmq/attach'
import { type Monitor, monitorSocket } from '../shared/zmq/socket-monitor'
import { HeapWatch } from './heap-watch'
import { MainCalls } from './main-calls'
import { PeerWatch } from './peers'
import { ReceiveLoop } from './receive-loop'
import { Reconnect } from './reconnect'
import { RecordCapture } from './record-capture'
import { ThreadLogs } from './thread-logs'
import { applyThreadPriority } from './thread-priority'

/**
 * The life of a receive worker: owns one SUB or REP socket, opens it, runs the receive loop
 * (receive-loop.ts), and stops, fails or finishes in order. Lives in src/ so workers/ holds only
 * thread entries.
 *
 * Shutdown rule (zeromq.js#411): terminate() or process.exit() while a receive is pending aborts
 * the whole process. So this thread closes its own socket as soon as it is told to stop, which
 * rejects the pending receive at once, and then simply ends; it never calls process.exit.
 */
const LIVENESS_TICK_MS = 1000
/** After handlers, the heap is checked at most this often (see HeapWatch). */
const HEAP_CHECK_MIN_INTERVAL_MS = 1
const MONITOR_ATTEMPTS = 5
const MONITOR_RETRY_MS = 50
/** How long a monitor may take to end with its socket before a restart (tcp: ~150 ms). */
const MONITOR_END_MS = 500

/**
 * The receive thread's entry (workers/receive.ts), its modules loaded. A thread started early
 * (main/receive-threads.ts) says it has loaded and gets its socket's init as its first message;
 * any other has it as `workerData`.
 */
export function startReceiveThread(data: unknown): void {
  if (!(data as Partial<EarlyStart> | undefined)?.early) {
    void runReceiveWorker(data as WorkerInit)
    return
  }
  parentPort?.once('message', (init: unknown) => {
    if (!isWorkerInit(init))
      throw new Error('receive thread started early: its first message is not a WorkerInit')
    void runReceiveWorker(init)
  })
  // Only now, with every module loaded (zeromq's addon too, by this module's imports): from here
  // the thread may be cut. A zeromq loaded lazily, later, would break that promise.
  parentPort?.postMessage({ type: 'loaded' } satisfies EarlyLoaded)
}

/** Runs one socket's receive worker to its end. */
export async function runReceiveWorker(init: WorkerInit): Promise<void> {
  const worker = new ReceiveWorker(init)
  await worker.run()
}

class ReceiveWorker {
  readonly #init: WorkerInit
  readonly #port: MessagePort
  readonly #counters: SocketCounters
  readonly #logs: ThreadLogs
  /** The thread's own lines (the service's `ctx.log` is #logs.serviceLog()). */
  readonly #log: Log
  readonly #heap: HeapWatch
  readonly #loop: ReceiveLoop
  readonly #calls: MainCalls
  readonly #reconnect: Reconnect
  readonly #peers: PeerWatch
  #socket: Subscriber | Reply | undefined
  /**
   * The socket's binds and connects while they run. zeromq.js never settles a bind whose socket
   * is closed under it, and the bind's native work stays in flight: the thread can then neither
   * end by itself nor be terminated without aborting the process. So a stop waits for this first.
   */
  #attaching: Promise<unknown> | undefined
  #monitor: Monitor | undefined
  #closing: Promise<void> | undefined
  #stopping = false
  /** ZMQ_RECORD_FILE on a SUB socket: one non-blocking call per received message. */
  readonly #capture: RecordCapture | undefined

  constructor(init: WorkerInit) {
    this.#init = init
    this.#port = init.port
    this.#counters = SocketCounters.batched(init.counters)
    // Past Booting: this thread's modules, zeromq's addon among them, are loaded.
    this.#counters.state = WorkerState.Loading
    const { socket, config } = init
    this.#logs = new ThreadLogs(config.logLevel, config.logFormat, {
      socket: socket.name,
      class: socket.latencyClass,
    })
    this.#log = this.#logs.own
    applyThreadPriority(socket, config.threadPriority, this.#counters, this.#log)
    const { record } = config
    const link = init.record
    this.#capture =
      record && link && socket.kind === 'sub'
        ? new RecordCapture(
            link.budget,
            record.bufferBytes,
            // Straight to the recorder thread: the main thread's event loop is not in the path.
            (batch, transfer) => link.port.postMessage(batch, transfer),
            link.tally,
          )
        : undefined
    if (this.#capture && link) {
      const capture = this.#capture
      // Written batch buffers come back on the same port. Unref'd: it must not keep a stopped
      // thread alive.
      link.port.on('message', (buffer: ArrayBuffer) => capture.recycle(buffer))
      link.port.unref()
    }
    this.#calls = new MainCalls(this.#port, this.#counters)
    this.#loop = new ReceiveLoop({
      init,
      counters: this.#counters,
      log: this.#log,
      capture: this.#capture,
      stopping: () => this.#stopping,
      afterMessage: (nowMs) => this.#checkHeap(HEAP_CHECK_MIN_INTERVAL_MS, nowMs),
    })
    this.#reconnect = new Reconnect({
      spec: socket,
      reconnectIntervalMs: config.reconnectIntervalMs,
      reconnectIntervalMaxMs: config.reconnectIntervalMaxMs,
      log: this.#log,
      socket: () => (this.#stopping ? undefined : this.#socket),
    })
    this.#peers = new PeerWatch(socket, this.#counters, this.#log)
    // A heartbeat in shared memory for /livez: it stops when this thread's event loop is stuck.
    this.#counters.tick()
    this.#heap = new HeapWatch(config.workerHeapHighWaterPercent)
    // A few ticks per staleness window, so a healthy thread never looks stale between ticks.
    // The heap is checked on the tick too: a service's own timers can leak between messages.
    const tickMs = Math.max(10, Math.min(LIVENESS_TICK_MS, config.livenessStaleMs / 4))
    setInterval(() => {
      this.#counters.tick()
      this.#checkHeap()
    }, tickMs).unref()
    // The control channel first, so a shutdown sent during start-up is never missed.
    this.#port.on('message', (message: ToWorker) => this.#onControl(message))
    // An error escaping a timer or a stray promise must not kill the thread with a receive
    // pending (that aborts the process): report it, close the socket, and end in order.
    process.on('uncaughtException', (error) => this.#fail(error))
    process.on('unhandledRejection', (error) => this.#fail(error))
    // process.exit() in a worker ends the thread with the socket monitor's receive in flight,
    // which aborts the whole process. A service that calls it gets a failed worker instead.
    process.exit = ((code?: number) => {
      const error = new Error(
        `process.exit(${code ?? ''}) called in a receive worker; workers must not exit`,
      )
      this.#fail(error)
      throw error
    }) as typeof process.exit
  }

  async run(): Promise<void> {
    const spec = this.#init.socket
    let handler: Handler | ReplyHandler
    try {
      const service = await loadService(this.#init.servicePath)
      handler =
        spec.kind === 'rep' ? replyHandlerFor(service, spec.name) : handlerFor(service, spec.name)
      // A stop during a slow (async) service load: open nothing, just end. The same when the
      // supervisor has claimed this thread to terminate it (see SocketCounters.claimTerminate).
      if (this.#stopping || !this.#counters.enterOpening()) return await this.#finish()
      if (spec.pool) this.#loop.startPool(spec.pool)
      this.#socket = await this.#openSocket()
    } catch (error) {
      // A shutdown during start-up closes the socket under a pending bind: not a failure.
      if (!this.#stopping)
        this.#post({ type: 'failed', error: serializeError(error), phase: 'start' })
      return await this.#finish()
    }
    if (this.#stopping) return await this.#finish()
    this.#post({ type: 'ready' })
    // Only in the build's training run: this thread's code cache, now that it holds the code of
    // its start-up (shared/bundle-loader.ts). Not later: the code of receiving and stopping,
    // compiled when first called, would in the cache be loaded at every start, and cost each
    // idle thread about 0.25 MiB of RSS (README "Start-up").
    // An error from here to #finish goes through #fail, so the thread still ends by #finish
    // (socket closed, `stopped` posted). Escaping run(), it would reach #fail as an unhandled
    // rejection, which closes the socket but posts no `stopped`: a stop or a restart would then
    // wait for its deadline.
    try {
      writeTrainedCodeCache()
      const ctx = this.#calls.context(() => this.#logs.serviceLog(), spec)
      await this.#loop.run(this.#socket, handler, new TopicMatcher(spec.topics), ctx)
      await this.#loop.drainPool()
    } catch (error) {
      this.#fail(error)
    }
    await this.#loop.closePool().catch((error: unknown) => this.#fail(error))
    await this.#finish()
  }

  async #openSocket(): Promise<Subscriber | Reply> {
    const { socket: spec, config } = this.#init
    const socket = createSocket<Subscriber | Reply>(
      spec.kind === 'rep' ? Reply : Subscriber,
      {
        ...socketOptions(config, spec),
        receiveTimeout: config.receiveTimeoutMs,
        maxMessageSize: config.maxMessageBytes,
      },
      spec,
    )
    // Stored at once so a shutdown during a slow bind still closes it.
    this.#socket = socket
    if (config.monitor) await this.#startMonitor(socket)
    // Stopped while a monitor retry waited: the socket is closed, and there is nothing to attach.
    if (this.#stopping) return socket
    try {
      const attaching = attach(socket, spec, () => {
        this.#counters.state = WorkerState.Binding
      })
      this.#attaching = attaching
      const endpoints = await attaching
      // Not Loading: the monitor may already have a native receive in flight.
      this.#counters.state = WorkerState.Handling
      this.#reconnect.attached(endpoints)
      const shown = spec.endpoints.map((e, i) => `${e.action} ${endpoints[i]}`)
      // Whether this thread's code came from the build's code cache (shared/bundle-loader.ts):
      // a V8 flag in NODE_OPTIONS or another Node version makes V8 refuse it, silently but for this.
      const codeCache = codeCacheOutcome()
      if (socket instanceof Subscriber) {
        // ZeroMQ filters by prefix; exact matching happens in TopicMatcher.
        for (const t of spec.topics) socket.subscribe(t)
        this.#log.info({ endpoints: shown, topics: spec.topics, codeCache }, 'subscribed')
      } else {
        this.#log.info({ endpoints: shown, codeCache }, 'answering requests')
      }
    } catch (error) {
      await this.#closeSocket()
      throw error
    }
    return socket
  }

  async #startMonitor(socket: Subscriber | Reply): Promise<void> {
    // A monitor that cannot start (see monitorSocket) usually can a moment later.
    for (let attempt = 0; attempt < MONITOR_ATTEMPTS && !socket.closed; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, MONITOR_RETRY_MS))
      if (this.#tryMonitor(socket)) return
    }
  }

  #tryMonitor(socket: Subscriber | Reply): boolean {
    const counters = this.#counters
    // Flag first: from here on a native monitor receive is in flight, and a stuck handler is
    // no longer safe to terminate (see shared/shared-state.ts).
    counters.monitorActive = true
    this.#monitor = monitorSocket(socket, this.#log, {
      count: (kind) => counters.event(kind),
      peers: (delta) => this.#peers.change(delta, this.#stopping),
      disconnected: (address) => {
        if (!this.#stopping) this.#reconnect.disconnected(address)
      },
      retrying: (address) => this.#reconnect.cancel(address),
      connected: (address) => this.#reconnect.cancel(address, true),
    })
    counters.monitorActive = this.#monitor !== undefined
    counters.monitored = this.#monitor !== undefined
    return this.#monitor !== undefined
  }

  #onControl(message: ToWorker): void {
    switch (message.type) {
      case 'shutdown':
        this.#log.debug({ reason: message.reason }, 'shutdown requested')
        this.#stop(message.reason === 'restart')
        return
      case 'answer':
        this.#calls.answer(message)
        return
      default:
        assertNever(message)
    }
  }

  /** Closing the socket rejects a pending receive at once; a handler in flight runs to its end. */
  #stop(patient = false): void {
    if (this.#stopping) return
    this.#stopping = true
    void this.#closeSocket(patient)
  }

  /**
   * Closes the socket (which ends a pending receive), then its monitor. Only once the monitor's
   * own native receive has ended is the thread safe to terminate (Closed).
   *
   * zeromq 6.8: closing an Observer leaves libzmq unable to close that socket's TCP connections
   * until the process exits, while a monitor left to end with its socket takes about 150 ms on
   * tcp (and never ends on inproc). At shutdown the process is about to exit, so the monitor is
   * closed at once. Before a restart (`patient`) it gets time to end by itself, or the peer would
   * keep a dead connection per restart.
   */
  #closeSocket(patient = false): Promise<void> {
    this.#closing ??= (async () => {
      this.#reconnect.stop()
      // A bind in flight settles within milliseconds (it is local); then the socket can close.
      await this.#attaching?.catch(() => {})
      if (this.#socket && !this.#socket.closed) this.#socket.close()
      const monitor = this.#monitor
      if (monitor) {
        if (patient) await withDeadline(monitor.done, MONITOR_END_MS, undefined)
        monitor.close()
        await monitor.done
      }
      this.#counters.monitorActive = false
      this.#counters.state = WorkerState.Closed
    })()
    return this.#closing
  }

  /**
   * Past the high-water mark the worker stops in order, as for any failure: socket, monitor,
   * then the thread ends by itself and the supervisor restarts it. Left to V8's hard limit, Node
   * would tear the thread down with the monitor's receive pending, which aborts the process.
   */
  #checkHeap(minIntervalMs = 0, nowMs = performance.now()): void {
    if (this.#stopping) return
    const used = this.#heap.exceededSince(minIntervalMs, nowMs)
    if (used === undefined) return
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
    const percent = this.#init.config.workerHeapHighWaterPercent
    this.#counters.add('outOfMemory')
    this.#log.error(
      { usedMb: mb(used), markMb: mb(this.#heap.markBytes), limitMb: mb(this.#heap.limitBytes) },
      'receive worker out of memory; stopping',
    )
    this.#post({
      type: 'failed',
      error: {
        name: 'OutOfMemory',
        code: 'ZC_ERR_WORKER_OUT_OF_MEMORY',
        message: `heap ${mb(used)} MB is past ${percent}% of the worker's ${mb(this.#heap.limitBytes)} MB limit`,
      },
      phase: 'run',
    })
    this.#stop(true)
  }

  #fail(error: unknown): void {
    this.#log.error({ err: error }, 'uncaught error in receive worker')
    this.#post({ type: 'failed', error: serializeError(error), phase: 'run' })
    // A restart follows: let the monitor end by itself (see #closeSocket).
    this.#stop(true)
  }

  async #finish(): Promise<void> {
    await this.#closeSocket()
    // The receive loop may have set Receiving on its way out after the close.
    this.#counters.state = WorkerState.Closed
    // The last batch before `stopped`: a post queues it at the recorder thread at once, so when
    // the main thread hears `stopped` and tells the recorder to close, the batch is there.
    this.#capture?.stop()
    this.#post({ type: 'stopped' })
    this.#port.close()
  }

  #post(message: FromWorker): void {
    // Batched counts reach shared memory before the supervisor reads them for either report.
    if (message.type === 'stopped' || message.type === 'failed') this.#counters.flush()
    post(this.#port, message)
  }
}
