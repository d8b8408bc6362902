/**
 * Mean and standard deviation in constant memory (Welford's method), so that `hz` can run for
 * days on a fast stream without keeping samples.
 */
export class RunningStats {
  #count = 0
  #mean = 0
  #m2 = 0

  add(x: number): void {
    this.#count++
    const delta = x - this.#mean
    this.#mean += delta / this.#count
    this.#m2 += delta * (x - this.#mean)
  }

  get count(): number {
    return this.#count
  }

  get mean(): number {
    return this.#mean
  }

  /** Population standard deviation; 0 below two samples. */
  get stddev(): number {
    return this.#count > 1 ? Math.sqrt(this.#m2 / this.#count) : 0
  }
}

/** Messages, bytes and inter-arrival intervals over some span (the run, or one display interval). */
export class Window {
  messages = 0
  bytes = 0
  readonly intervals = new RunningStats()
  firstAt: number | undefined
  lastAt: number | undefined

  add(atMs: number, size: number, intervalMs: number | undefined): void {
    this.messages++
    this.bytes += size
    if (intervalMs !== undefined) this.intervals.add(intervalMs)
    this.firstAt ??= atMs
    this.lastAt = atMs
  }

  get meanSize(): number {
    return this.messages === 0 ? 0 : this.bytes / this.messages
  }

  /** Messages per second from the first arrival to the last: 1 / mean interval. */
  get arrivalRate(): number {
    if (this.firstAt === undefined || this.lastAt === undefined || this.lastAt <= this.firstAt)
      return 0
    return ((this.messages - 1) * 1000) / (this.lastAt - this.firstAt)
  }
}

/** One topic's numbers: over the whole run, and over the current display interval. */
export class TopicRate {
  readonly total = new Window()
  recent = new Window()
  #lastAt: number | undefined

  add(atMs: number, size: number): void {
    const interval = this.#lastAt === undefined ? undefined : atMs - this.#lastAt
    this.#lastAt = atMs
    this.total.add(atMs, size, interval)
    this.recent.add(atMs, size, interval)
  }

  /** Ends the display interval; the next one starts empty (the last arrival carries over). */
  roll(): Window {
    const ended = this.recent
    this.recent = new Window()
    return ended
  }
}
