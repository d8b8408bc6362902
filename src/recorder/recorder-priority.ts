import { getPriority, setPriority } from 'node:os'
// The types module, not the config index: that would load envalid into the recorder thread.
import { THREAD_NICE_OFFSET } from '../shared/config/types'
import { errorCode } from '../shared/errors'
import type { Logger } from '../shared/logger'
import { currentThreadId } from '../shared/thread-id'

/**
 * The recorder thread runs as nice as the logging class: with the cores saturated, it falls
 * behind into its bounded budget (the receive threads count the overflow and never wait) instead
 * of taking CPU from the receive threads, the hot path.
 */
export const RECORDER_NICE_OFFSET = THREAD_NICE_OFFSET.logging

/**
 * Raises the calling thread's nice by {@link RECORDER_NICE_OFFSET} (ZC_THREAD_PRIORITY). Raising
 * needs no privilege; a failure (no /proc) is one warning, never fatal.
 */
export function applyRecorderPriority(enabled: boolean, log: Logger): void {
  if (!enabled) return
  const tid = currentThreadId()
  if (tid === undefined) {
    log.warn({ reason: 'no /proc/thread-self (not Linux?)' }, 'thread priority not set')
    return
  }
  const current = getPriority(tid)
  const nice = Math.min(19, current + RECORDER_NICE_OFFSET)
  try {
    if (nice !== current) setPriority(tid, nice)
  } catch (error) {
    const code = errorCode((error as { info?: unknown }).info) ?? errorCode(error)
    log.warn({ tid, nice, current, code }, 'thread priority not set')
    return
  }
  log.info({ tid, nice: getPriority(tid) }, 'thread priority set')
}
