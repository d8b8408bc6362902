/**
 * Per-socket state and counters in shared memory. The receive worker writes them; the supervisor,
 * /metrics and /readyz read them at any time without a message round trip. The buffer belongs to
 * the supervisor, so a restarted worker continues the same totals.
 */

/** Why a received message was not handled. Every received message is handled or one of these. */
export const DROP_REASONS = [
  'bad_frames',
  'invalid_topic',
  'unsubscribed',
  'handler_error',
  // A typed service (defineTypedService): the topic's codec could not decode the payload, or the
  // topic has no codec. The handler was not called.
  'decode_error',
  // Pool mode: the handler queue was full (the newest or the oldest message went, by policy).
  'pool_full',
  // Pool mode: still waiting for a pool thread when the socket stopped.
  'shutdown',
  // Received but not finished when its worker died (crashed, ran out of memory, was terminated).
  'worker_failed',
] as const
export type DropReason = (typeof DROP_REASONS)[number]

/** Socket monitor events, as counted (zeromq Observer event names mapped onto these). */
export const SOCKET_EVENTS = [
  'connect',
  'disconnect',
  'connect_retry',
  'handshake',
  'handshake_error',
  'accept',
  'accept_error',
  'bind_error',
  'close',
] as const
export type SocketEvent = (typeof SOCKET_EVENTS)[number]

/** Upper bounds (seconds) of the handler-duration histogram; spans control's 10 ms to logging's 1 s. */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const

/**
 * Where a receive worker is. `terminate()` and `process.exit()` abort the whole process while a
 * worker has native zeromq work in flight (zeromq.js#411), so the supervisor reads this word
 * before it terminates anything.
 */
export const WorkerState = {
  /** Loading the service module; no socket yet. */
  Loading: 0,
  /** An async bind is in flight (a SUB with `@`). Unsafe to terminate. */
  Binding: 1,
  /** A receive is pending. Unsafe to terminate. */
  Receiving: 2,
  /** Running a handler; no receive pending (but see `monitorActive`). */
  Handling: 3,
  /** Socket and monitor closed; nothing native in flight. */
  Closed: 4,
} as const
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState]

// Int32 flags first, then 64-bit counters (8-byte aligned).
const FLAG = { state: 0, stop: 1, peers: 2, monitor: 3, monitored: 4, nice: 5 } as const
/** Added to a nice value (-20..19) so that 0 in the flag word means "not set". */
const NICE_BIAS = 64
const FLAG_BYTES = 32
const COUNTS = [
  'received',
  'handled',
  // REP: requests handled with an error reply (`['ERR', message]`): handled, and a handler error.
  'errorReplies',
  'publishRejected',
  'overruns',
  'restarts',
  'outOfMemory',
  'lastTickMs',
  'durationSumUs',
  'durationCount',
  ...DROP_REASONS,
  ...SOCKET_EVENTS.map((e) => `event:${e}` as const),
  ...DURATION_BUCKETS.map((_, i) => `bucket:${i}` as const),
] as const
type CountName = (typeof COUNTS)[number]
const SLOT = Object.fromEntries(COUNTS.map((name, i) => [name, i])) as Record<CountName, number>
const FIRST_BUCKET = SLOT['bucket:0'] as number

export interface CounterSnapshot {
  received: number
  handled: number
  /** REP: handled requests whose handler threw, answered `['ERR', message]`. */
  errorReplies: number
  dropped: Record<DropReason, number>
  droppedTotal: number
  publishRejected: number
}

const FIXED_BYTES = FLAG_BYTES + 8 * COUNTS.length

export class SocketCounters {
  readonly buffer: SharedArrayBuffer
  readonly #flags: Int32Array
  readonly #counts: BigUint64Array
  /**
   * Messages received per subscription (the socket's `topics`, in order), after the topic
   * checks: one slot each, after the fixed counters. The worker finds the slot count from the
   * buffer's size, so no message announces it.
   */
  readonly #bySubscription: BigUint64Array

  /** `subscriptions`: how many per-subscription slots a new buffer gets (a SUB's topic count). */
  constructor(buffer?: SharedArrayBuffer, subscriptions = 0) {
    this.buffer = buffer ?? new SharedArrayBuffer(FIXED_BYTES + 8 * subscriptions)
    this.#flags = new Int32Array(this.buffer, 0, FLAG_BYTES / 4)
    this.#counts = new BigUint64Array(this.buffer, FLAG_BYTES, COUNTS.length)
    this.#bySubscription = new BigUint64Array(
      this.buffer,
      FIXED_BYTES,
      (this.buffer.byteLength - FIXED_BYTES) / 8,
    )
  }

  /** One message received for the subscription at `index` of the socket's topics. */
  addForSubscription(index: number): void {
    if (index < this.#bySubscription.length) Atomics.add(this.#bySubscription, index, 1n)
  }

  /** Received per subscription, in the order of the socket's topics. */
  receivedBySubscription(): number[] {
    return Array.from({ length: this.#bySubscription.length }, (_, i) =>
      Number(Atomics.load(this.#bySubscription, i)),
    )
  }

  add(name: CountName, by = 1n): void {
    Atomics.add(this.#counts, SLOT[name] as number, by)
  }

  get(name: CountName): number {
    return Number(Atomics.load(this.#counts, SLOT[name] as number))
  }

  get state(): WorkerState {
    return Atomics.load(this.#flags, FLAG.state) as WorkerState
  }

  set state(value: WorkerState) {
    Atomics.store(this.#flags, FLAG.state, value)
  }

  /**
   * Whether `terminate()` cannot abort the process now. A socket monitor keeps a native receive
   * in flight for as long as it runs, so with one active only Closed is safe.
   */
  get terminateSafe(): boolean {
    const state = this.state
    if (state === WorkerState.Closed) return true
    // Loading too: a worker opening its socket starts the monitor before its state moves on.
    if (state !== WorkerState.Loading && state !== WorkerState.Handling) return false
    return Atomics.load(this.#flags, FLAG.monitor) === 0
  }

  set monitorActive(active: boolean) {
    Atomics.store(this.#flags, FLAG.monitor, active ? 1 : 0)
  }

  /** A monitor runs for this socket, so `peers` means something (see monitorSocket). */
  get monitored(): boolean {
    return Atomics.load(this.#flags, FLAG.monitored) === 1
  }

  set monitored(value: boolean) {
    Atomics.store(this.#flags, FLAG.monitored, value ? 1 : 0)
  }

  /** Set by the supervisor; the receive loop checks it after every receive, like the seed's Event. */
  requestStop(): void {
    Atomics.store(this.#flags, FLAG.stop, 1)
  }

  get stopRequested(): boolean {
    return Atomics.load(this.#flags, FLAG.stop) === 1
  }

  /** The receive thread's OS nice value, once the worker has set it (see worker/thread-priority.ts). */
  get nice(): number | undefined {
    const stored = Atomics.load(this.#flags, FLAG.nice)
    return stored === 0 ? undefined : stored - NICE_BIAS
  }

  set nice(value: number | undefined) {
    Atomics.store(this.#flags, FLAG.nice, value === undefined ? 0 : value + NICE_BIAS)
  }

  /** Publishers this SUB has a live connection to (handshakes minus disconnects). */
  get peers(): number {
    return Atomics.load(this.#flags, FLAG.peers)
  }

  addPeers(delta: number): void {
    // Never below zero: a disconnect can be reported for a connection that never shook hands.
    for (;;) {
      const current = Atomics.load(this.#flags, FLAG.peers)
      const next = Math.max(0, current + delta)
      if (Atomics.compareExchange(this.#flags, FLAG.peers, current, next) === current) return
    }
  }

  event(kind: SocketEvent): void {
    this.add(`event:${kind}`)
  }

  /** Records one handler run: histogram bucket, sum, count. */
  observeDuration(seconds: number): void {
    let i = 0
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++
    if (i < DURATION_BUCKETS.length) Atomics.add(this.#counts, FIRST_BUCKET + i, 1n)
    Atomics.add(this.#counts, SLOT.durationSumUs as number, BigInt(Math.round(seconds * 1e6)))
    Atomics.add(this.#counts, SLOT.durationCount as number, 1n)
  }

  /** Cumulative bucket counts (Prometheus `le` semantics), then +Inf = count. */
  durationHistogram(): { buckets: number[]; sumSeconds: number; count: number } {
    const buckets: number[] = []
    let running = 0
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      running += Number(Atomics.load(this.#counts, FIRST_BUCKET + i))
      buckets.push(running)
    }
    return {
      buckets,
      sumSeconds: this.get('durationSumUs') / 1e6,
      count: this.get('durationCount'),
    }
  }

  /** The worker's event loop ticks this; /livez reads it. */
  tick(nowMs = Date.now()): void {
    Atomics.store(this.#counts, SLOT.lastTickMs as number, BigInt(nowMs))
  }

  get lastTickMs(): number {
    return this.get('lastTickMs')
  }

  /** A new worker for the same socket starts with flags down and totals kept. */
  resetForRestart(): void {
    Atomics.store(this.#flags, FLAG.stop, 0)
    Atomics.store(this.#flags, FLAG.state, WorkerState.Loading)
    Atomics.store(this.#flags, FLAG.peers, 0)
    Atomics.store(this.#flags, FLAG.monitor, 0)
    Atomics.store(this.#flags, FLAG.monitored, 0)
    Atomics.store(this.#flags, FLAG.nice, 0)
  }

  snapshot(): CounterSnapshot {
    const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, this.get(r)])) as Record<
      DropReason,
      number
    >
    return {
      received: this.get('received'),
      handled: this.get('handled'),
      errorReplies: this.get('errorReplies'),
      dropped,
      droppedTotal: DROP_REASONS.reduce((sum, r) => sum + dropped[r], 0),
      publishRejected: this.get('publishRejected'),
    }
  }
}
