// The types module, not the config index: that would load envalid into every receive thread.
import { type SocketSpec, THREAD_NICE_OFFSET } from '../shared/config/types'
import type { Log } from '../shared/log'
import type { SocketCounters } from '../shared/shared-state'
import { currentThreadId, setThreadNice } from '../shared/thread-nice'
import { setThreadSlice } from '../shared/thread-slice'

/**
 * Latency classes that hold when the cores are saturated: with more busy threads than cores,
 * Linux's scheduler shares time by nice value, so a control thread at nice 0 beside telemetry
 * threads at +5 gets about three times their share (each nice step is ~1.25x weight) and runs
 * first when it wakes. Nice is per thread on Linux, and `setpriority(PRIO_PROCESS, tid)` (which
 * `os.setPriority` calls) sets one thread's, so each receive thread sets its own at start-up.
 *
 * Weight is not all: on Linux 6.12+ a thread given a core keeps it for its slice (about 1.4 ms on
 * 2 cores) before a waking thread of any weight preempts it, unless the waking thread's slice is
 * shorter. So a socket can ask for a shorter slice (`_SLICE_US`): opt-in, because on the 2-core
 * development machine its effect on the control tail was inside the spread (README).
 */

/** The nice value the receive thread of `socket` runs at, from `_NICE` or its class's offset. */
function targetNice(socket: SocketSpec, currentNice: number): number {
  return socket.nice ?? Math.min(19, currentNice + THREAD_NICE_OFFSET[socket.latencyClass])
}

/**
 * Sets the calling receive thread's nice value (ZC_THREAD_PRIORITY, `_NICE`) and its slice, and
 * publishes both in shared memory for /metrics. Called once, from the worker's start-up. A failure (no
 * CAP_SYS_NICE for a value below the process's own, no /proc) is one warning, never fatal: the
 * thread then simply runs at the nice it inherited.
 */
export function applyThreadPriority(
  socket: SocketSpec,
  enabled: boolean,
  counters: SocketCounters,
  log: Log,
): void {
  if (!enabled) return
  const nice = setThreadNice((current) => targetNice(socket, current), log)
  counters.nice = nice
  const sliceUs = socket.sliceUs
  const tid = currentThreadId()
  if (!sliceUs || tid === undefined) return
  // Off the start-up path: the socket opens meanwhile, and a slice that cannot be had is a
  // warning, as a nice is.
  void setThreadSlice(tid, sliceUs, log).then((inEffect) => {
    counters.sliceUs = inEffect
  })
}
