import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { cpus } from 'node:os'
import type { Receiver } from './designs'
import type { Publisher } from './peers'

/**
 * Gives one receive thread a core of its own for a run, as it has on a machine with a core to
 * spare for it: every thread of the receiver's and the publisher's processes goes to the other
 * cores, then the receive thread to the last one. What recording costs that thread then is what
 * it costs the hot path itself; on shared cores it also pays for the recorder's use of them.
 * A thread started later inherits its creator's cores. Linux only (/proc, util-linux's taskset).
 */

/** Why threads cannot be pinned here, or undefined if they can. */
export function pinningUnavailable(): string | undefined {
  if (cpus().length < 2) return 'one core: nothing to give a thread alone'
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
  } catch {
    return 'no taskset (util-linux)'
  }
  return undefined
}

/** The receive thread of `socket`, as its "thread priority set" line names it. */
export function receiveThreadOf(receiver: Receiver, socket: string): number {
  const line = receiver.proc.lines.find(
    (l) => l.msg === 'thread priority set' && l.socket === socket && typeof l.tid === 'number',
  )
  if (!line) throw new Error(`no "thread priority set" line for socket ${socket} (priorities off?)`)
  return line.tid as number
}

/** Pins `tid` alone to the last core, and every other thread of `pids` to the rest. */
export function pinAlone(tid: number, pids: readonly number[]): void {
  const last = cpus().length - 1
  const rest = last === 1 ? '0' : `0-${last - 1}`
  const taskset = (cores: string, thread: number | string) =>
    execFileSync('taskset', ['-p', '-c', cores, String(thread)], { stdio: 'ignore' })
  for (const pid of pids)
    for (const thread of readdirSync(`/proc/${pid}/task`)) taskset(rest, thread)
  taskset(String(last), tid)
}

/** For runOnce's `beforeGo`: the receiver's receive thread of `socket` alone on a core. */
export const receiveThreadAlone =
  (socket: string) =>
  (receiver: Receiver, publisher: Publisher): void => {
    const pids = [receiver.proc.child.pid, publisher.proc.child.pid]
    if (pids.some((p) => p === undefined)) throw new Error('a process without a pid')
    pinAlone(receiveThreadOf(receiver, socket), pids as number[])
  }
