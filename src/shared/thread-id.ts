import { readlinkSync } from 'node:fs'

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
