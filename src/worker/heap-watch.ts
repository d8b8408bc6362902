import v8 from 'node:v8'
import { resourceLimits } from 'node:worker_threads'

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
  /** Bytes of used heap past which the worker stops. */
  readonly markBytes: number
  /** The old-generation limit the mark is a fraction of. */
  readonly limitBytes: number
  #checkedAt = Number.NEGATIVE_INFINITY

  constructor(highWaterPercent: number) {
    // heap_size_limit also counts the young generation's reserve, which never holds what leaks:
    // the mark is a share of the old generation, where V8 runs out.
    const total = v8.getHeapStatistics().heap_size_limit
    const young = (resourceLimits.maxYoungGenerationSizeMb ?? 0) * 2 ** 20
    this.limitBytes = total > 2 * young ? total - young : total
    this.markBytes = Math.floor((this.limitBytes * highWaterPercent) / 100)
  }

  /** The used heap in bytes when it is past the mark, else undefined. */
  exceeded(nowMs = performance.now()): number | undefined {
    this.#checkedAt = nowMs
    const used = v8.getHeapStatistics().used_heap_size
    return used > this.markBytes ? used : undefined
  }

  /** As {@link exceeded}, at most once per `intervalMs` (for the per-message path). */
  exceededSince(intervalMs: number, nowMs = performance.now()): number | undefined {
    if (nowMs - this.#checkedAt < intervalMs) return undefined
    return this.exceeded(nowMs)
  }
}
