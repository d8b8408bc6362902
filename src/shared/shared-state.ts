/**
 * Per-socket state and counters in shared memory. The receive worker writes them; the supervisor,
 * /metrics and /readyz read them at any time without a message round trip. The buffer belongs to
 * the supervisor, so a restarted worker continues the same totals.
 *
 * The worker counts in batches (see {@link SocketCounters.batched}): a BigInt `Atomics.add` per
 * counter per message was one of the hot path's main costs, so the worker adds plain numbers to a
 * pending area of the same buffer and moves them into the totals every few milliseconds, on the
 * liveness tick, and before it reports `stopped` or `failed`. Readers add the pending counts to
 * the totals (see #read), so /metrics is not behind the worker. The pending area lives in shared
 * memory, not in the worker, so that once a worker's thread is gone (even terminated mid-handler)
 * the supervisor moves what it had not yet flushed ({@link SocketCounters.absorbPending}) and
 * received = handled + dropped stays exact.
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
  // ZMQ_SUB_ENVELOPE: a sequence number this socket already had from that publisher on that topic
  // (a latest-value resend to a new subscriber reaches the others too, or a replay).
  'duplicate',
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
  /**
   * The thread boots and loads its modules, zeromq's addon among them: unsafe to terminate, as
   * cutting a thread inside the addon's set-up aborts the process too. The initial value (zero).
   */
  Booting: 0,
  /**
   * Modules loaded, loading the service module; no socket yet. Safe to terminate only through
   * claimTerminate(), which keeps the thread from opening its socket afterwards.
   */
  Loading: 5,
  /** Opening its socket and monitor (entered from Loading by compare-exchange). Unsafe. */
  Opening: 6,
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
const FLAG = {
  state: 0,
  stop: 1,
  peers: 2,
  monitor: 3,
  monitored: 4,
  nice: 5,
  flushing: 6,
  deadlines: 7,
  slice: 8,
} as const
/** A reader retries this often while a flush is half done, then takes the value it has. */
const READ_ATTEMPTS = 1000
/** Added to a nice value (-20..19) so that 0 in the flag word means "not set". */
const NICE_BIAS = 64
/** The flag words, rounded up to 8 bytes: the 64-bit counters after them must be aligned. */
export const FLAG_BYTES = 8 * Math.ceil(Object.keys(FLAG).length / 2)
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
  // ZMQ_SUB_ENVELOPE: 2-frame messages (handled as usual, the sender has no envelope), publisher
  // restarts seen (new epoch of a known source), and the age histogram's sum and count.
  'unenveloped',
  'publisherRestarts',
  'ageSumUs',
  'ageCount',
  ...DROP_REASONS,
  ...SOCKET_EVENTS.map((e) => `event:${e}` as const),
  ...DURATION_BUCKETS.map((_, i) => `bucket:${i}` as const),
  ...DURATION_BUCKETS.map((_, i) => `age:${i}` as const),
] as const
type CountName = (typeof COUNTS)[number]
const SLOT = Object.fromEntries(COUNTS.map((name, i) => [name, i])) as Record<CountName, number>
const FIRST_BUCKET = SLOT['bucket:0'] as number
const FIRST_AGE_BUCKET = SLOT['age:0'] as number
// The histograms' sum and count slots, as numbers: #observe runs per message.
const DURATION_SUM = SLOT.durationSumUs as number
const DURATION_COUNT = SLOT.durationCount as number
const AGE_SUM = SLOT.ageSumUs as number
const AGE_COUNT = SLOT.ageCount as number
/** Per subscription: received, lost (sequence gaps), deadlines missed. */
const PER_SUBSCRIPTION = 3
const SUB_RECEIVED = 0
const SUB_LOST = 1
const SUB_DEADLINE = 2
/**
 * Name to slot for `add` and `get`. A Map, not SLOT[name]: called with dozens of names, an
 * object lookup turns megamorphic (callgrind: about 230 instructions per call, a Map ~85).
 */
const SLOT_OF: ReadonlyMap<string, number> = new Map(Object.entries(SLOT))
const RECEIVED = SLOT.received as number
const HANDLED = SLOT.handled as number

/** Cumulative bucket counts over DURATION_BUCKETS, their sum and count. */
export interface Histogram {
  buckets: number[]
  sumSeconds: number
  count: number
}

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
/** A batching worker's counts reach the totals at most this long after they happen. */
export const FLUSH_DELAY_MS = 5

export class SocketCounters {
  readonly buffer: SharedArrayBuffer
  readonly #flags: Int32Array
  readonly #counts: BigUint64Array
  /**
   * Per subscription (the socket's `topics`, in order), after the fixed counters: messages
   * received after the topic checks, messages lost (envelope sequence gaps), deadlines missed.
   * The worker finds the subscription count from the buffer's size, so no message announces it.
   */
  readonly #bySubscription: BigUint64Array
  readonly #subscriptions: number
  /**
   * Counts a batching worker has not yet moved into the totals: the fixed counters, then the
   * per-subscription ones. Plain (non-atomic) numbers with one writer, the worker, while it runs;
   * readers only read them (see #read), and the supervisor moves them once the thread is gone.
   */
  readonly #pending: Float64Array
  /** The highest value this view has read of each count, by pending slot (see #read). */
  readonly #seen: Float64Array
  #batched = false
  #flushTimer: NodeJS.Timeout | undefined

  /** `subscriptions`: how many per-subscription slots a new buffer gets (a SUB's topic count). */
  constructor(buffer?: SharedArrayBuffer, subscriptions = 0) {
    this.buffer =
      buffer ??
      new SharedArrayBuffer(FIXED_BYTES + 16 * PER_SUBSCRIPTION * subscriptions + 8 * COUNTS.length)
    // Totals per subscription slot, then the pending area: COUNTS.length + slots numbers.
    const slots = (this.buffer.byteLength - FIXED_BYTES - 8 * COUNTS.length) / 16
    this.#flags = new Int32Array(this.buffer, 0, FLAG_BYTES / 4)
    this.#counts = new BigUint64Array(this.buffer, FLAG_BYTES, COUNTS.length)
    this.#bySubscription = new BigUint64Array(this.buffer, FIXED_BYTES, slots)
    this.#pending = new Float64Array(this.buffer, FIXED_BYTES + 8 * slots, COUNTS.length + slots)
    this.#seen = new Float64Array(COUNTS.length + slots)
    this.#subscriptions = Math.floor(slots / PER_SUBSCRIPTION)
  }

  /**
   * The receive worker's view of `buffer`: counts go to the pending area and reach the totals
   * within FLUSH_DELAY_MS, on {@link tick}, or on {@link flush}, which the worker calls before it
   * reports `stopped` or `failed`.
   */
  static batched(buffer: SharedArrayBuffer): SocketCounters {
    const counters = new SocketCounters(buffer)
    counters.#batched = true
    return counters
  }

  /** One message received for the subscription at `index` of the socket's topics. */
  addForSubscription(index: number): void {
    this.#addAt(index, SUB_RECEIVED, 1)
  }

  /** Messages of a subscription that never arrived (gaps in the envelope's sequence). */
  addLost(index: number, count: number): void {
    this.#addAt(index, SUB_LOST, count)
  }

  /** A subscription went silent past its deadline (one per episode). */
  addDeadlineMissed(index: number): void {
    this.#addAt(index, SUB_DEADLINE, 1)
  }

  #addAt(index: number, field: number, by: number): void {
    if (index >= this.#subscriptions) return
    const slot = index * PER_SUBSCRIPTION + field
    if (this.#batched) this.#addPending(COUNTS.length + slot, by)
    else Atomics.add(this.#bySubscription, slot, BigInt(by))
  }

  #addPending(slot: number, by: number): void {
    ;(this.#pending[slot] as number) += by
    // One timer per batch, not per message: at high rates it fires every FLUSH_DELAY_MS.
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => this.flush(), FLUSH_DELAY_MS)
      this.#flushTimer.unref()
    }
  }

  /** Moves the pending counts into the totals (the worker's side of batching). */
  flush(): void {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    this.#movePending()
  }

  /**
   * For the supervisor, once the worker's thread has ended: moves what the worker counted but
   * never flushed (it was terminated, or crashed) into the totals. Never while a worker runs.
   */
  absorbPending(): void {
    this.#movePending()
  }

  #movePending(): void {
    const pending = this.#pending
    const fixed = COUNTS.length
    Atomics.add(this.#flags, FLAG.flushing, 1)
    for (let i = 0; i < pending.length; i++) {
      const value = pending[i] as number
      if (value === 0) continue
      // Zeroed first: were the thread cut between the two, a count is lost, never doubled.
      pending[i] = 0
      if (i < fixed) Atomics.add(this.#counts, i, BigInt(value))
      else Atomics.add(this.#bySubscription, i - fixed, BigInt(value))
    }
    // Even again (also after a worker was cut mid-flush: absorbPending runs this once more).
    Atomics.store(this.#flags, FLAG.flushing, (Atomics.load(this.#flags, FLAG.flushing) + 1) & ~1)
  }

  /** Received per subscription, in the order of the socket's topics. */
  receivedBySubscription(): number[] {
    return this.#column(SUB_RECEIVED)
  }

  lostBySubscription(): number[] {
    return this.#column(SUB_LOST)
  }

  deadlineMissedBySubscription(): number[] {
    return this.#column(SUB_DEADLINE)
  }

  #column(field: number): number[] {
    return Array.from({ length: this.#subscriptions }, (_, i) => {
      const slot = i * PER_SUBSCRIPTION + field
      return this.#read(this.#bySubscription, slot, COUNTS.length + slot)
    })
  }

  add(name: CountName, by = 1): void {
    // The two counts of every message skip the lookup (a constant string compares by pointer).
    const slot =
      name === 'received' ? RECEIVED : name === 'handled' ? HANDLED : (SLOT_OF.get(name) as number)
    if (!this.#batched) {
      Atomics.add(this.#counts, slot, BigInt(by))
      return
    }
    this.#addPending(slot, by)
  }

  get(name: CountName): number {
    const slot = SLOT_OF.get(name) as number
    return this.#read(this.#counts, slot, slot)
  }

  /**
   * A total plus what the worker has counted and not yet flushed, so readers are never behind.
   * A flush moves a count from one to the other in two steps; the `flushing` word (odd during a
   * flush, a seqlock) makes the reader retry rather than see it in both places or in neither.
   * The retries are bounded: a worker cut mid-flush must not hang the reader, and one merely
   * descheduled mid-flush (nice +5 on busy cores) can outlast them. A read that gives up can only
   * be low (the flush zeroes the pending count before it adds it to the total, and the total is
   * read first), so each count is held to the highest this view has read: a counter that went
   * down would be a reset to Prometheus.
   */
  #read(totals: BigUint64Array, index: number, pendingSlot: number): number {
    for (let attempt = 0; ; attempt++) {
      const seq = Atomics.load(this.#flags, FLAG.flushing)
      const value = Number(Atomics.load(totals, index)) + (this.#pending[pendingSlot] as number)
      if (
        ((seq & 1) === 0 && Atomics.load(this.#flags, FLAG.flushing) === seq) ||
        attempt >= READ_ATTEMPTS
      ) {
        const highest = Math.max(value, this.#seen[pendingSlot] as number)
        this.#seen[pendingSlot] = highest
        return highest
      }
    }
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
    if (state !== WorkerState.Handling) return false
    return Atomics.load(this.#flags, FLAG.monitor) === 0
  }

  /**
   * For the supervisor, right before terminate(): whether it is safe now, and for a thread still
   * Loading, that it stays so. Reading Loading and then terminating would race the thread into
   * opening its socket and monitor (a native receive in flight when the terminate lands: 134);
   * so Loading is claimed by compare-exchange (to Closed), and the thread, which enters Opening
   * the same way (enterOpening), then opens nothing.
   */
  claimTerminate(): boolean {
    const loading: number = WorkerState.Loading
    const was = Atomics.compareExchange(this.#flags, FLAG.state, loading, WorkerState.Closed)
    return was === loading || this.terminateSafe
  }

  /** The thread's side of claimTerminate(): false when the supervisor claimed it first. */
  enterOpening(): boolean {
    const loading: number = WorkerState.Loading
    return (
      Atomics.compareExchange(this.#flags, FLAG.state, loading, WorkerState.Opening) === loading
    )
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

  /** The receive thread's scheduler slice in us, once set (see worker/thread-priority.ts). */
  get sliceUs(): number | undefined {
    return Atomics.load(this.#flags, FLAG.slice) || undefined
  }

  set sliceUs(value: number | undefined) {
    Atomics.store(this.#flags, FLAG.slice, value ?? 0)
  }

  /** Subscriptions past their `_DEADLINE_MS` now (the worker adds 1 on a miss, -1 on recovery). */
  get deadlinesMissing(): number {
    return Atomics.load(this.#flags, FLAG.deadlines)
  }

  addDeadlinesMissing(delta: number): void {
    Atomics.add(this.#flags, FLAG.deadlines, delta)
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
    this.#observe(FIRST_BUCKET, DURATION_SUM, DURATION_COUNT, seconds)
  }

  /** Records one message's age (envelope send time to handler start). */
  observeAge(seconds: number): void {
    this.#observe(FIRST_AGE_BUCKET, AGE_SUM, AGE_COUNT, seconds)
  }

  #observe(first: number, sum: number, count: number, seconds: number): void {
    let i = 0
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++
    // A sender's clock ahead of ours gives a negative age: counted in the lowest bucket, sum 0.
    const micros = Math.max(0, Math.round(seconds * 1e6))
    if (this.#batched) {
      if (i < DURATION_BUCKETS.length) this.#addPending(first + i, 1)
      this.#addPending(sum, micros)
      this.#addPending(count, 1)
      return
    }
    if (i < DURATION_BUCKETS.length) Atomics.add(this.#counts, first + i, 1n)
    Atomics.add(this.#counts, sum, BigInt(micros))
    Atomics.add(this.#counts, count, 1n)
  }

  /** Cumulative bucket counts (Prometheus `le` semantics), then +Inf = count. */
  durationHistogram(): Histogram {
    return this.#histogram(FIRST_BUCKET, 'durationSumUs', 'durationCount')
  }

  /** The age histogram (ZMQ_SUB_ENVELOPE), like durationHistogram. */
  ageHistogram(): Histogram {
    return this.#histogram(FIRST_AGE_BUCKET, 'ageSumUs', 'ageCount')
  }

  #histogram(first: number, sum: CountName, count: CountName): Histogram {
    const buckets: number[] = []
    let running = 0
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      running += this.#read(this.#counts, first + i, first + i)
      buckets.push(running)
    }
    const sumSeconds = this.get(sum) / 1e6
    // Read last, and no bucket may pass it: a worker counts a message's bucket first and its
    // count a moment later, so a read in between sees the one and not yet the other, and
    // Prometheus rejects a bucket above +Inf. That message shows in the next scrape.
    const total = this.get(count)
    for (let i = 0; i < buckets.length; i++) buckets[i] = Math.min(buckets[i] as number, total)
    return { buckets, sumSeconds, count: total }
  }

  /** The worker's event loop ticks this; /livez reads it. */
  tick(nowMs = Date.now()): void {
    Atomics.store(this.#counts, SLOT.lastTickMs as number, BigInt(nowMs))
    if (this.#batched) this.flush()
  }

  /** Stored, never pending, and a wall-clock time (it may step back): not read as a count. */
  get lastTickMs(): number {
    return Number(Atomics.load(this.#counts, SLOT.lastTickMs as number))
  }

  /** A new worker for the same socket starts with flags down and totals kept. */
  resetForRestart(): void {
    // The old worker is gone: what it had not flushed counts before the new one starts.
    this.absorbPending()
    Atomics.store(this.#flags, FLAG.stop, 0)
    Atomics.store(this.#flags, FLAG.state, WorkerState.Booting)
    Atomics.store(this.#flags, FLAG.peers, 0)
    Atomics.store(this.#flags, FLAG.monitor, 0)
    Atomics.store(this.#flags, FLAG.monitored, 0)
    Atomics.store(this.#flags, FLAG.nice, 0)
    Atomics.store(this.#flags, FLAG.slice, 0)
    Atomics.store(this.#flags, FLAG.deadlines, 0)
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
