import type { Logger } from '../shared/logger'
import { setThreadNice } from '../shared/thread-nice'

/**
 * The recorder thread runs at the lowest priority nice offers (19), below every receive class
 * (control +0, telemetry +5, logging +10): with the cores saturated, it falls behind into its
 * bounded budget (the receive threads count the overflow and never wait) instead of taking CPU
 * from the receive threads, the hot path. At +10 (the logging class's offset) it weighs only 3x
 * less than a telemetry receive thread (+5), and `npm run bench:record` hardly moved.
 */
export const RECORDER_NICE_OFFSET = 19

/**
 * Raises the calling thread's nice by {@link RECORDER_NICE_OFFSET}, to at most 19
 * (ZC_THREAD_PRIORITY). Raising needs no privilege; a failure (no /proc) is one warning, never
 * fatal.
 */
export function applyRecorderPriority(enabled: boolean, log: Logger): void {
  if (enabled) setThreadNice((current) => Math.min(19, current + RECORDER_NICE_OFFSET), log)
}
