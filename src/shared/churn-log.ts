import type { Log } from './log'

/**
 * Keeps connection churn from flooding the log. Connection events (a handshake, a disconnect, a
 * subscriber attached or detached) are logged one by one while they are rare; past `limit`
 * events within a window, the rest of that window is only counted, and one summary line per
 * window (`connection churn`, a count per kind) reports them when the window ends. 200
 * short-lived subscribers then make a few dozen lines, not 800.
 */
export class ChurnLog {
  readonly #log: Log
  readonly #limit: number
  readonly #windowMs: number
  #windowStart = 0
  #seen = 0
  readonly #held = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined

  constructor(log: Log, options: { limit?: number; windowMs?: number } = {}) {
    this.#log = log
    this.#limit = options.limit ?? 20
    this.#windowMs = options.windowMs ?? 10_000
  }

  /** True: log this event as usual. False: it is counted for the window's summary instead. */
  admit(kind: string, now = Date.now()): boolean {
    if (now - this.#windowStart >= this.#windowMs) {
      this.#flush()
      this.#windowStart = now
      this.#seen = 0
    }
    this.#seen++
    if (this.#seen <= this.#limit) return true
    this.#held.set(kind, (this.#held.get(kind) ?? 0) + 1)
    if (!this.#timer) {
      // Unref'd: a pending summary never keeps a thread alive at shutdown.
      this.#timer = setTimeout(() => this.#flush(), this.#windowStart + this.#windowMs - now)
      this.#timer.unref()
    }
    return false
  }

  #flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#held.size === 0) return
    const counts = Object.fromEntries(this.#held)
    this.#held.clear()
    this.#log.info(
      { ...counts, limit: this.#limit, windowMs: this.#windowMs },
      'connection churn: events past the limit, counted',
    )
  }
}
