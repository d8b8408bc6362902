import { resourceLimits } from 'node:worker_threads'

type V8 = typeof import('node:v8')
let v8: V8 | undefined
/**
 * node:v8 is loaded at the first check (the first message, or the first liveness tick, up to a
 * second after the thread starts: usually after it is ready), not while the thread starts:
 * loading it costs a thread about 0.5 ms of start-up.
 */
function heapStatistics() {
  v8 ??= require('node:v8') as V8
  return v8.getHeapStatistics()
}

/**
 * A receive worker's guard against running out of memory. When V8 reaches a worker's heap limit,
 * Node terminates the thread, and with zeromq 6 a thread torn down with a native receive pending
 * (its socket monitor has one for as long as it runs) aborts the whole process (SIGABRT, 134).
 * V8 offers JS no near-heap-limit callback, so the worker watches its own heap instead: past the
 * high-water mark it stops in order (socket, monitor, thread) while there is still room to.
 *
 * The worker checks on its liveness tick and after handlers: a handler that allocates fast is
 * caught between messages, not only once a second. After a handler, at most one check per
 * millisecond: `v8.getHeapStatistics()` costs about 0.2 us, the clock read that gates it a
 * quarter of that, and no handler fills tens of MB of heap in a millisecond. One that allocates
 * the whole remaining heap in a single call is beyond any check from JS.
 */
export class HeapWatch {
  readonly #highWaterPercent: number
  #limits: { readonly limitBytes: number; readonly markBytes: number } | undefined
  #checkedAt = Number.NEGATIVE_INFINITY

  constructor(highWaterPercent: number) {
    this.#highWaterPercent = highWaterPercent
  }

  /** Bytes of used heap past which the worker stops. */
  get markBytes(): number {
    return (this.#limits ?? this.#limitsFrom(heapStatistics())).markBytes
  }

  /** The old-generation limit the mark is a fraction of. */
  get limitBytes(): number {
    return (this.#limits ?? this.#limitsFrom(heapStatistics())).limitBytes
  }

  /** The used heap in bytes when it is past the mark, else undefined. */
  exceeded(nowMs = performance.now()): number | undefined {
    this.#checkedAt = nowMs
    const stats = heapStatistics()
    const used = stats.used_heap_size
    return used > this.#limitsFrom(stats).markBytes ? used : undefined
  }

  /** As {@link exceeded}, at most once per `intervalMs` (for the per-message path). */
  exceededSince(intervalMs: number, nowMs = performance.now()): number | undefined {
    if (nowMs - this.#checkedAt < intervalMs) return undefined
    return this.exceeded(nowMs)
  }

  #limitsFrom(stats: { heap_size_limit: number }) {
    if (this.#limits) return this.#limits
    // heap_size_limit also counts the young generation's reserve, which never holds what leaks:
    // the mark is a share of the old generation, where V8 runs out.
    const total = stats.heap_size_limit
    const young = (resourceLimits.maxYoungGenerationSizeMb ?? 0) * 2 ** 20
    const limitBytes = total > 2 * young ? total - young : total
    this.#limits = {
      limitBytes,
      markBytes: Math.floor((limitBytes * this.#highWaterPercent) / 100),
    }
    return this.#limits
  }
}
