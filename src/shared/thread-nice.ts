import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { errorCode } from './errors'
import type { Log } from './log'

/**
 * This thread's Linux task id, for `os.setPriority(tid, nice)`: nice is per thread on Linux, so
 * each thread (receive threads, the recorder thread) sets its own. `/proc/thread-self` links to
 * `<pid>/task/<tid>`; undefined where there is no such link (not Linux, or /proc not mounted).
 */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(/\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1])
    return Number.isInteger(tid) && tid > 0 ? tid : undefined
  } catch {
    return undefined
  }
}

/**
 * Sets the calling thread's nice to `target(current)` and logs the outcome once: `thread
 * priority set`, or a warning (no /proc, or no CAP_SYS_NICE for a value below the process's
 * own), never fatal. Returns the nice the thread runs at, or undefined without /proc.
 */
export function setThreadNice(target: (current: number) => number, log: Log): number | undefined {
  const tid = currentThreadId()
  if (tid === undefined) {
    log.warn({ reason: 'no /proc/thread-self (not Linux?)' }, 'thread priority not set')
    return undefined
  }
  const current = getPriority(tid)
  const nice = target(current)
  try {
    if (nice !== current) setPriority(tid, nice)
  } catch (error) {
    log.warn(
      {
        tid,
        nice,
        current,
        // Node's SystemError carries the errno name (EACCES, EPERM) in `info`.
        code: errorCode((error as { info?: unknown }).info) ?? errorCode(error),
        hint: 'a nice below the process own needs CAP_SYS_NICE',
      },
      'thread priority not set',
    )
    return current
  }
  const now = getPriority(tid)
  log.info({ tid, nice: now }, 'thread priority set')
  return now
}
