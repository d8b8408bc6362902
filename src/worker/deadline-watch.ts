/**
 * `ZMQ_SUB[_<NAME>]_DEADLINE_MS`: a subscription silent for longer than the deadline after its
 * first message has missed it. One `missed` per episode (silence), one `recovered` when a message
 * comes again. Time is passed in, so the watch is plain logic.
 */
export interface DeadlineEvents {
  missed(subscription: number, silentMs: number): void
  recovered(subscription: number, silentMs: number): void
}

export class DeadlineWatch {
  readonly #deadlineMs: number
  /** Per subscription index: when its last message arrived (undefined: none yet). */
  readonly #lastSeenMs: Array<number | undefined>
  readonly #missing: boolean[]
  readonly #events: DeadlineEvents

  constructor(subscriptions: number, deadlineMs: number, events: DeadlineEvents) {
    this.#deadlineMs = deadlineMs
    this.#lastSeenMs = Array.from({ length: subscriptions }, () => undefined)
    this.#missing = Array.from({ length: subscriptions }, () => false)
    this.#events = events
  }

  /** A message for `subscription` arrived. */
  seen(subscription: number, nowMs: number): void {
    const last = this.#lastSeenMs[subscription]
    this.#lastSeenMs[subscription] = nowMs
    if (this.#missing[subscription] && last !== undefined) {
      this.#missing[subscription] = false
      this.#events.recovered(subscription, nowMs - last)
    }
  }

  /** Checks every subscription; call it often (a few times per deadline). */
  check(nowMs: number): void {
    this.#lastSeenMs.forEach((last, i) => {
      if (last === undefined || this.#missing[i]) return
      if (nowMs - last <= this.#deadlineMs) return
      this.#missing[i] = true
      this.#events.missed(i, nowMs - last)
    })
  }

  /** How often check() should run for this deadline: a quarter of it, within 10 ms..1 s. */
  get checkEveryMs(): number {
    return Math.max(10, Math.min(1000, Math.floor(this.#deadlineMs / 4)))
  }
}
