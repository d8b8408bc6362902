import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import type { MessagePort } from 'node:worker_threads'
import { Reply, Subscriber } from 'zeromq'
import { LATENCY_BUDGET_MS, type PoolConfig } from '../shared/config'
import { withDeadline } from '../shared/deadline'
import { errorCode, serializeError } from '../shared/errors'
import { createLogger, type Logger, LogThrottle, reportHeldBack } from '../shared/logger'
import { assertNever, type FromWorker, type ToWorker, type WorkerInit } from '../shared/protocol'
import {
  type Handler,
  type HandlerContext,
  handlerFor,
  loadService,
  type Payload,
  type ReplyHandler,
  replyHandlerFor,
} from '../shared/service'
import { type DropReason, SocketCounters, WorkerState } from '../shared/shared-state'
import { TopicMatcher, validateTopic } from '../shared/topics'
import { isPayloadDecodeError } from '../shared/typed-topics'
import { attach, createSocket, socketOptions } from '../shared/zmq/attach'
import { type Monitor, monitorSocket } from '../shared/zmq/socket-monitor'
import { classifyFrames } from './frames'
import { HeapWatch } from './heap-watch'
import { PoolDispatcher } from './pool-dispatch'
import { RecordCapture } from './record-capture'
import { applyThreadPriority } from './thread-priority'

/**
 * The body of a receive worker: owns one SUB socket, receives with a bounded timeout, checks
 * frames and runs the service's handler. Lives in src/ so workers/ holds only thread entries.
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

export async function runReceiveWorker(init: WorkerInit): Promise<void> {
  const worker = new ReceiveWorker(init)
  await worker.run()
}

class ReceiveWorker {
  readonly #init: WorkerInit
  readonly #port: MessagePort
  readonly #counters: SocketCounters
  readonly #log: Logger
  readonly #throttle: LogThrottle
  readonly #budgetSeconds: number
  readonly #heap: HeapWatch
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
  /** This SUB had a publisher and lost every one: the next connection is "peer back". */
  #peerLost = false
  #pool: PoolDispatcher | undefined
  /** ZMQ_RECORD_FILE on a SUB socket: one non-blocking call per received message. */
  readonly #capture: RecordCapture | undefined
  #nextCall = 0
  readonly #calls = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >()
  /** Endpoints that lost their connection and that libzmq is not retrying (see #onDisconnect). */
  /** Resolved addresses this socket bound: their disconnects are peers leaving, not ours to re-arm. */
  readonly #bound = new Set<string>()
  readonly #rearm = new Map<string, { timer: NodeJS.Timeout | undefined; attempt: number }>()

  constructor(init: WorkerInit) {
    this.#init = init
    this.#port = init.port
    this.#counters = SocketCounters.batched(init.counters)
    const { socket } = init
    this.#log = createLogger(
      init.config.logLevel,
      { socket: socket.name, class: socket.latencyClass },
      init.config.logFormat,
    )
    this.#throttle = new LogThrottle({ flush: reportHeldBack(this.#log) })
    applyThreadPriority(socket, init.config.threadPriority, this.#counters, this.#log)
    this.#budgetSeconds = LATENCY_BUDGET_MS[socket.latencyClass] / 1000
    const { record } = init.config
    this.#capture =
      record && init.recordBudget && socket.kind === 'sub'
        ? new RecordCapture(init.recordBudget, record.bufferBytes, (batch, transfer) =>
            this.#port.postMessage(batch, transfer),
          )
        : undefined
    // A heartbeat in shared memory for /livez: it stops when this thread's event loop is stuck.
    this.#counters.tick()
    this.#heap = new HeapWatch(init.config.workerHeapHighWaterPercent)
    // A few ticks per staleness window, so a healthy thread never looks stale between ticks.
    // The heap is checked on the tick too: a service's own timers can leak between messages.
    const tickMs = Math.max(10, Math.min(LIVENESS_TICK_MS, init.config.livenessStaleMs / 4))
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
      // A stop during a slow (async) service load: open nothing, just end.
      if (this.#stopping) return await this.#finish()
      if (spec.pool) this.#pool = this.#startPool(spec.pool)
      this.#socket = await this.#openSocket()
    } catch (error) {
      // A shutdown during start-up closes the socket under a pending bind: not a failure.
      if (!this.#stopping)
        this.#post({ type: 'failed', error: serializeError(error), phase: 'start' })
      return await this.#finish()
    }
    if (this.#stopping) return await this.#finish()
    this.#post({ type: 'ready' })
    try {
      await this.#receiveLoop(this.#socket, handler, new TopicMatcher(spec.topics), this.#context())
      // The socket is closed: tasks already running finish (bounded by the supervisor's join
      // deadline, like any handler in flight); messages still waiting are counted as dropped.
      this.#pool?.discardWaiting()
      await this.#pool?.drained()
    } catch (error) {
      this.#fail(error)
    }
    await this.#pool?.close()
    await this.#finish()
  }

  #startPool(config: PoolConfig): PoolDispatcher {
    const { socket, servicePath } = this.#init
    return new PoolDispatcher(
      config,
      {
        servicePath,
        socket,
        logLevel: this.#init.config.logLevel,
        logFormat: this.#init.config.logFormat,
      },
      {
        done: (item, result) => {
          if (result.decodeError !== undefined) {
            this.#timed(item.receivedAt, item.topic)
            this.#drop('decode_error', () => ({ topic: item.topic, err: result.decodeError }))
            return
          }
          for (const p of result.publishes) this.#post({ type: 'publish', ...p })
          for (const data of result.messages) this.#post({ type: 'service', data })
          this.#timed(item.receivedAt, item.topic)
          this.#counters.add('handled')
        },
        failed: (item, error) => {
          this.#timed(item.receivedAt, item.topic)
          this.#drop(handlerDropReason(error), () => ({ topic: item.topic, err: error }))
        },
        dropped: (item, reason) =>
          this.#drop(reason, () => ({ topic: item.topic, policy: config.drop })),
      },
    )
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
      spec.endpoints.forEach((e, i) => {
        if (e.action === 'bind') this.#bound.add(endpoints[i] ?? e.address)
      })
      const shown = spec.endpoints.map((e, i) => `${e.action} ${endpoints[i]}`)
      if (socket instanceof Subscriber) {
        // ZeroMQ filters by prefix; exact matching happens in TopicMatcher.
        for (const t of spec.topics) socket.subscribe(t)
        this.#log.info({ endpoints: shown, topics: spec.topics }, 'subscribed')
      } else {
        this.#log.info({ endpoints: shown }, 'answering requests')
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
      if (attempt > 0) await delay(MONITOR_RETRY_MS)
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
      peers: (delta) => this.#onPeers(delta),
      disconnected: (address) => this.#onDisconnect(address),
      retrying: (address) => this.#cancelRearm(address),
      connected: (address) => this.#cancelRearm(address, true),
    })
    counters.monitorActive = this.#monitor !== undefined
    counters.monitored = this.#monitor !== undefined
    return this.#monitor !== undefined
  }

  /**
   * Counts connected peers for /readyz and zc_sub_peers, and logs each change of a SUB socket
   * between "no publisher" (degraded) and "some publisher": one line per change, not per
   * connection (the monitor logs those as `socket event`).
   */
  #onPeers(delta: number): void {
    const before = this.#counters.peers
    this.#counters.addPeers(delta)
    const after = this.#counters.peers
    if (this.#init.socket.kind !== 'sub' || this.#stopping) return
    if (before > 0 && after === 0) {
      this.#peerLost = true
      this.#log.warn(
        { degraded: `socket ${this.#init.socket.name} has no connected peer` },
        'peer lost',
      )
    } else if (before === 0 && after > 0) {
      this.#log.info({ peers: after }, this.#peerLost ? 'peer back' : 'peer connected')
    }
  }

  /**
   * libzmq reconnects a lost connection by itself, and says so at once with a `connect:retry`
   * event. After a protocol error, such as a message over ZMQ_MAXMSGSIZE, it never does. So
   * a disconnect with no retry soon after is re-armed here: disconnect, then connect again,
   * with exponential backoff until a handshake succeeds.
   */
  #onDisconnect(address: string): void {
    if (this.#stopping) return
    for (const endpoint of this.#connectEndpointsFor(address)) this.#scheduleRearm(endpoint)
  }

  #scheduleRearm(endpoint: string): void {
    const { reconnectIntervalMs, reconnectIntervalMaxMs } = this.#init.config
    const entry = this.#rearm.get(endpoint) ?? { timer: undefined, attempt: 0 }
    clearTimeout(entry.timer)
    const delayMs = Math.min(reconnectIntervalMaxMs, reconnectIntervalMs * 2 ** entry.attempt)
    // A retry event, if libzmq is retrying, arrives well within one interval plus this slack.
    entry.timer = setTimeout(() => this.#rearmNow(endpoint), delayMs + 50)
    entry.timer.unref()
    this.#rearm.set(endpoint, entry)
  }

  #rearmNow(endpoint: string): void {
    const socket = this.#socket
    const entry = this.#rearm.get(endpoint)
    if (!socket || socket.closed || this.#stopping || !entry) return
    entry.attempt++
    this.#log.warn(
      { address: endpoint, attempt: entry.attempt },
      'reconnecting: libzmq gave up on this connection',
    )
    try {
      socket.disconnect(endpoint)
    } catch {
      // Already gone from libzmq's list: connecting again is all that is needed.
    }
    socket.connect(endpoint)
    this.#scheduleRearm(endpoint)
  }

  #cancelRearm(address: string, connected = false): void {
    for (const endpoint of this.#connectEndpointsFor(address)) {
      const entry = this.#rearm.get(endpoint)
      if (!entry) continue
      clearTimeout(entry.timer)
      if (connected) this.#rearm.delete(endpoint)
      else entry.timer = undefined
    }
  }

  /** Our connect endpoints an event address refers to (libzmq may report a resolved address). */
  #connectEndpointsFor(address: string): string[] {
    const connects = this.#init.socket.endpoints
      .filter((e) => e.action === 'connect')
      .map((e) => e.address)
    if (connects.includes(address)) return [address]
    // libzmq may report a connect endpoint by its resolved address (tcp://camera:5555 as
    // tcp://172.18.0.3:5555). Only a lone connect endpoint can be matched that way safely; with
    // several, or for the address of a bound endpoint, re-arming would disturb healthy peers.
    return connects.length === 1 && !this.#bound.has(address) ? connects : []
  }

  async #receiveLoop(
    socket: Subscriber | Reply,
    handler: Handler | ReplyHandler,
    matcher: TopicMatcher,
    ctx: HandlerContext,
  ) {
    const counters = this.#counters
    for (;;) {
      // State first, then the stop flag: the supervisor sets the flag, then reads the state, so
      // one of the two always sees the other's write and never terminates mid-receive.
      counters.state = WorkerState.Receiving
      if (this.#stopping || counters.stopRequested) break
      let frames: Buffer[]
      try {
        frames = await socket.receive()
      } catch (error) {
        // close() and a receive timeout both reject with EAGAIN; `closed` tells them apart.
        if (socket.closed) break
        if (errorCode(error) === 'EAGAIN') continue
        throw error
      }
      counters.state = WorkerState.Handling
      counters.add('received')
      this.#capture?.add(frames)
      if (socket instanceof Reply) {
        await this.#answer(socket, frames, handler as ReplyHandler, ctx)
      } else {
        const pending = this.#dispatch(frames, handler as Handler, matcher, ctx)
        // Only an async handler costs an await; a sync one goes straight back to receive.
        if (pending) await pending
      }
      // After handlers too: one that allocates fast would outrun the liveness tick.
      this.#checkHeap(HEAP_CHECK_MIN_INTERVAL_MS)
    }
  }

  /**
   * One REQ/REP round: every request gets exactly one reply, `['OK', value]` or
   * `['ERR', message]`, so a client never waits on silence (REP is lockstep).
   */
  async #answer(
    socket: Reply,
    frames: Buffer[],
    handler: ReplyHandler,
    ctx: HandlerContext,
  ): Promise<void> {
    const receivedAt = performance.now()
    const spec = this.#init.socket
    let reply: Array<string | Buffer | Uint8Array>
    const [payload] = frames
    if (frames.length !== 1 || !payload) {
      this.#drop('bad_frames', () => ({ frames: frames.length }))
      reply = ['ERR', `a request is one frame, got ${frames.length}`]
    } else {
      try {
        const value = await handler(
          { topic: '', payload, socket: spec.name, latencyClass: spec.latencyClass, receivedAt },
          ctx,
        )
        // Plain data that is not bytes or text goes out as JSON, not as "[object Object]".
        const bytes =
          typeof value === 'string' || value instanceof Uint8Array
            ? value
            : JSON.stringify(value ?? '')
        reply = ['OK', bytes]
        this.#counters.add('handled')
      } catch (error) {
        // Not a drop: the request was answered, with the error. Handled, and a handler error.
        this.#counters.add('handled')
        this.#counters.add('errorReplies')
        const suppressed = this.#throttle.admit('error_reply')
        if (suppressed !== undefined)
          this.#log.error({ err: error, suppressed }, 'reply handler failed; error reply sent')
        reply = ['ERR', error instanceof Error ? error.message : String(error)]
      }
      this.#timed(receivedAt, '')
    }
    if (socket.closed) return
    // A send is native work in flight too.
    this.#counters.state = WorkerState.Receiving
    try {
      await socket.send(reply)
    } catch (error) {
      if (!socket.closed) throw error
    }
  }

  /** Checks the frames and runs the handler; returns a promise only for an async handler. */
  #dispatch(
    frames: Buffer[],
    handler: Handler,
    matcher: TopicMatcher,
    ctx: HandlerContext,
  ): Promise<void> | undefined {
    const receivedAt = performance.now()
    const verdict = classifyFrames(frames, matcher)
    if (!verdict.ok) return this.#drop(verdict.reason, verdict.details)
    const { topic, payload } = verdict
    // Per-subscription counts for /info: one atomic add (the matcher found the index anyway).
    this.#counters.addForSubscription(verdict.subscription)
    if (this.#pool) {
      // The receive thread only queues: it is back at receive() at once, whatever the handler costs.
      this.#pool.submit({ topic, payload, receivedAt })
      return undefined
    }
    const spec = this.#init.socket
    let result: void | Promise<void>
    try {
      result = handler(
        { topic, payload, socket: spec.name, latencyClass: spec.latencyClass, receivedAt },
        ctx,
      )
    } catch (error) {
      this.#timed(receivedAt, topic)
      return this.#drop(handlerDropReason(error), () => ({ topic, err: error }))
    }
    if (typeof (result as Promise<void> | undefined)?.then !== 'function') {
      this.#timed(receivedAt, topic)
      this.#counters.add('handled')
      return undefined
    }
    return (result as Promise<void>).then(
      () => {
        this.#timed(receivedAt, topic)
        this.#counters.add('handled')
      },
      (error: unknown) => {
        this.#timed(receivedAt, topic)
        this.#drop(handlerDropReason(error), () => ({ topic, err: error }))
      },
    )
  }

  /** Time from receive to handler completion: histogram, and the latency class's budget. */
  #timed(receivedAt: number, topic: string): void {
    const seconds = (performance.now() - receivedAt) / 1000
    this.#counters.observeDuration(seconds)
    if (seconds <= this.#budgetSeconds) return
    this.#counters.add('overruns')
    const suppressed = this.#throttle.admit('overrun')
    if (suppressed !== undefined) {
      this.#log.warn(
        {
          topic,
          durationMs: Number((seconds * 1000).toFixed(3)),
          budgetMs: this.#budgetSeconds * 1000,
          suppressed,
        },
        'latency budget exceeded',
      )
    }
  }

  /** Counts a drop; builds the log details only for lines the throttle lets through. */
  #drop(reason: DropReason, details: () => Record<string, unknown>): undefined {
    this.#counters.add(reason)
    const suppressed = this.#throttle.admit(reason)
    if (suppressed === undefined) return undefined
    const level = reason === 'handler_error' ? 'error' : 'warn'
    this.#log[level]({ reason, ...details(), suppressed }, 'message dropped')
    return undefined
  }

  #context(): HandlerContext {
    const counters = this.#counters
    return {
      publish: (topic: string, payload: Payload, options) => {
        try {
          validateTopic(topic)
        } catch (error) {
          counters.add('publishRejected')
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
          this.#port.postMessage(message, [buffer])
        else this.#post(message)
      },
      toMain: (data) => this.#post({ type: 'service', data }),
      callMain: (data) =>
        new Promise((resolve, reject) => {
          const id = this.#nextCall++
          this.#calls.set(id, { resolve, reject })
          this.#post({ type: 'call', id, data })
        }),
      log: this.#log,
      socket: this.#init.socket,
    }
  }

  #onControl(message: ToWorker): void {
    switch (message.type) {
      case 'shutdown':
        this.#log.debug({ reason: message.reason }, 'shutdown requested')
        this.#stop(message.reason === 'restart')
        return
      case 'answer': {
        const call = this.#calls.get(message.id)
        this.#calls.delete(message.id)
        if (!call) return
        if (message.ok) call.resolve(message.value)
        else
          call.reject(Object.assign(new Error(message.error.message), { name: message.error.name }))
        return
      }
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
      for (const entry of this.#rearm.values()) clearTimeout(entry.timer)
      this.#rearm.clear()
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
  #checkHeap(minIntervalMs = 0): void {
    if (this.#stopping) return
    const used = this.#heap.exceededSince(minIntervalMs)
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
    // The last batch before `stopped`: the port keeps order, so the recorder has it all.
    this.#capture?.stop()
    this.#post({ type: 'stopped' })
    this.#port.close()
  }

  #post(message: FromWorker): void {
    // Batched counts reach shared memory before the supervisor reads them for either report.
    if (message.type === 'stopped' || message.type === 'failed') this.#counters.flush()
    this.#port.postMessage(message)
  }
}

/** A typed service's decode failure is its own drop reason; anything else a handler threw is its error. */
function handlerDropReason(error: unknown): DropReason {
  return isPayloadDecodeError(error) ? 'decode_error' : 'handler_error'
}
