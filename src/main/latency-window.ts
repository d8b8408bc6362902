import { DURATION_BUCKETS } from '../shared/shared-state'

/**
 * p99 of handler durations over the last few seconds, from the cumulative histogram in shared
 * memory: keeps one snapshot per second and compares the newest with the oldest.
 */
export class LatencyWindow {
  readonly #samples: number[][] = []
  readonly #size: number

  constructor(seconds = 10) {
    this.#size = seconds + 1
  }

  /** Adds a cumulative bucket snapshot (one count per DURATION_BUCKETS bound, then +Inf). */
  push(cumulative: number[]): void {
    this.#samples.push(cumulative)
    if (this.#samples.length > this.#size) this.#samples.shift()
  }

  /**
   * The upper bound (seconds) of the bucket holding the 99th percentile within the window;
   * Infinity when it lies beyond the last bound; undefined with no handler runs in the window.
   */
  p99(): number | undefined {
    const newest = this.#samples.at(-1)
    const oldest = this.#samples[0]
    if (!newest || !oldest || newest === oldest) return undefined
    const total = (newest.at(-1) ?? 0) - (oldest.at(-1) ?? 0)
    if (total <= 0) return undefined
    const rank = Math.ceil(total * 0.99)
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if ((newest[i] ?? 0) - (oldest[i] ?? 0) >= rank) return DURATION_BUCKETS[i]
    }
    return Number.POSITIVE_INFINITY
  }
}
