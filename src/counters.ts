/**
 * Per-socket counters in shared memory. The receive worker is the only writer; the supervisor
 * (and later the metrics endpoint) reads them at any time without a message round trip. The
 * buffer belongs to the supervisor, so a restarted worker continues the same totals.
 */

/** Why a received message was not handled. Every received message is handled or one of these. */
export const DROP_REASONS = [
  'bad_frames',
  'invalid_topic',
  'unsubscribed',
  'handler_error',
] as const
export type DropReason = (typeof DROP_REASONS)[number]

/**
 * Where a receive worker is, published in shared memory. `terminate()` and `process.exit()` abort
 * the whole process while a worker has native zeromq work in flight (zeromq.js#411), so the
 * supervisor reads this word before it terminates anything.
 */
export const WorkerState = {
  /** Loading the service module; no socket yet. */
  Loading: 0,
  /** An async bind is in flight (a SUB with `@`). Unsafe to terminate. */
  Binding: 1,
  /** A receive is pending. Unsafe to terminate. */
  Receiving: 2,
  /** Running a handler; no receive pending. */
  Handling: 3,
  /** Socket closed; nothing native in flight. */
  Closed: 4,
} as const
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState]

/** The states in which `worker.terminate()` cannot abort the process. */
export function isTerminateSafe(state: WorkerState): boolean {
  return (
    state === WorkerState.Loading || state === WorkerState.Handling || state === WorkerState.Closed
  )
}

const STATE = 0
const STOP = 1
const COUNTS = ['received', 'handled', 'publishRejected', ...DROP_REASONS] as const
type CountName = (typeof COUNTS)[number]
const SLOT = Object.fromEntries(COUNTS.map((name, i) => [name, i])) as Record<CountName, number>

export interface CounterSnapshot {
  received: number
  handled: number
  dropped: Record<DropReason, number>
  droppedTotal: number
  publishRejected: number
}

export class SocketCounters {
  readonly buffer: SharedArrayBuffer
  readonly #flags: Int32Array
  readonly #counts: BigUint64Array

  constructor(buffer = new SharedArrayBuffer(8 + 8 * COUNTS.length)) {
    this.buffer = buffer
    this.#flags = new Int32Array(buffer, 0, 2)
    this.#counts = new BigUint64Array(buffer, 8, COUNTS.length)
  }

  add(name: CountName): void {
    Atomics.add(this.#counts, SLOT[name], 1n)
  }

  get(name: CountName): number {
    return Number(Atomics.load(this.#counts, SLOT[name]))
  }

  get state(): WorkerState {
    return Atomics.load(this.#flags, STATE) as WorkerState
  }

  set state(value: WorkerState) {
    Atomics.store(this.#flags, STATE, value)
  }

  /** Set by the supervisor; the receive loop checks it after every receive, like the seed's Event. */
  requestStop(): void {
    Atomics.store(this.#flags, STOP, 1)
  }

  get stopRequested(): boolean {
    return Atomics.load(this.#flags, STOP) === 1
  }

  /** A new worker for the same socket starts with the stop flag down and totals kept. */
  resetForRestart(): void {
    Atomics.store(this.#flags, STOP, 0)
    Atomics.store(this.#flags, STATE, WorkerState.Loading)
  }

  snapshot(): CounterSnapshot {
    const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, this.get(r)])) as Record<
      DropReason,
      number
    >
    return {
      received: this.get('received'),
      handled: this.get('handled'),
      dropped,
      droppedTotal: DROP_REASONS.reduce((sum, r) => sum + dropped[r], 0),
      publishRejected: this.get('publishRejected'),
    }
  }
}
