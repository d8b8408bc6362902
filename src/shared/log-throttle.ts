import type { Log } from './log'

/**
 * Lets the first occurrence of each kind of event through, then at most one per interval with a
 * count of what was held back, so a flood of bad frames cannot become a flood of log lines.
 * With a `flush`, what was held back is reported when its interval ends even if no further event
 * comes (a single burst would otherwise never show its count).
 */
export class LogThrottle {
  readonly #intervalMs: number
  readonly #flush: ((key: string, suppressed: number) => void) | undefined
  readonly #last = new Map<
    string,
    { at: number; suppressed: number; timer: NodeJS.Timeout | undefined }
  >()

  constructor(
    options: { intervalMs?: number; flush?: (key: string, suppressed: number) => void } = {},
  ) {
    this.#intervalMs = options.intervalMs ?? 1000
    this.#flush = options.flush
  }

  /** Returns undefined to stay quiet, or how many events were held back since the last line. */
  admit(key: string, now = Date.now()): number | undefined {
    const entry = this.#last.get(key)
    if (!entry) {
      this.#last.set(key, { at: now, suppressed: 0, timer: undefined })
      return 0
    }
    if (now - entry.at < this.#intervalMs) {
      entry.suppressed++
      if (this.#flush && !entry.timer) {
        // Unref'd: a pending report never keeps a thread alive at shutdown.
        entry.timer = setTimeout(() => this.#flushKey(key), entry.at + this.#intervalMs - now)
        entry.timer.unref()
      }
      return undefined
    }
    clearTimeout(entry.timer)
    entry.timer = undefined
    const suppressed = entry.suppressed
    entry.at = now
    entry.suppressed = 0
    return suppressed
  }

  #flushKey(key: string): void {
    const entry = this.#last.get(key)
    if (!entry) return
    entry.timer = undefined
    if (entry.suppressed === 0) return
    const suppressed = entry.suppressed
    entry.suppressed = 0
    entry.at = Date.now()
    this.#flush?.(key, suppressed)
  }
}

/** The `flush` for a LogThrottle: one line with the count, when a burst has ended. */
export function reportHeldBack(log: Log, level: 'warn' | 'error' = 'warn') {
  return (key: string, suppressed: number) =>
    log[level]({ kind: key, suppressed }, 'similar log lines held back')
}
