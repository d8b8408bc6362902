import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import type { Receiver } from './designs'
import type { Publisher } from './peers'

/**
 * Gives one receive thread a core of its own for a run, as it has on a machine with a core to
 * spare for it: every thread of the receiver's and the publisher's processes goes to the other
 * cores this process may use, then the receive thread to the last one. This bench's own process
 * (idle but for reading the children's lines) and other processes are left where they are:
 * pinned, the bench would hand its narrowed cores to every process it starts after. A thread
 * started later inherits its creator's cores. Linux only (/proc, util-linux's taskset).
 */

let allowed: number[] | undefined

/** The cores this process may run on (Cpus_allowed_list), which a cpuset or taskset narrows. */
export function allowedCores(): number[] {
  allowed ??= readAllowedCores()
  return allowed
}

function readAllowedCores(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8')
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? ''
  return list.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number) as [number, number?]
    return Array.from({ length: (to as number) - from + 1 }, (_, i) => from + i)
  })
}

/** Why threads cannot be pinned here, or undefined if they can. */
export function pinningUnavailable(): string | undefined {
  try {
    if (allowedCores().length < 2)
      return 'fewer than two cores allowed: none to give a thread alone'
  } catch {
    return 'no /proc/self/status (not Linux)'
  }
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
  } catch {
    return 'no taskset (util-linux)'
  }
  return undefined
}

/**
 * The receive thread of `socket`, as its "thread priority set" line names it: the container logs
 * it once the thread has set its nice value (ZC_THREAD_PRIORITY, on by default).
 */
export async function receiveThreadOf(receiver: Receiver, socket: string): Promise<number> {
  const line = await receiver.proc.waitFor(
    (l) => l.msg === 'thread priority set' && l.socket === socket && typeof l.tid === 'number',
    5000,
    `"thread priority set" line for socket ${socket} (ZC_THREAD_PRIORITY=false?)`,
  )
  return line.tid as number
}

/** Pins `tid` alone to the last allowed core, and every other thread of `pids` to the rest. */
export function pinAlone(tid: number, pids: readonly number[]): void {
  const cores = allowedCores()
  const alone = cores[cores.length - 1] as number
  const rest = cores.slice(0, -1).join(',')
  for (const pid of pids)
    for (const thread of readdirSync(`/proc/${pid}/task`))
      if (Number(thread) !== tid) setCores(rest, thread, { mayBeGone: true })
  setCores(String(alone), String(tid), { mayBeGone: false })
}

/** A thread that ended between the listing and the call (`mayBeGone`) is left out. */
function setCores(cores: string, thread: string, o: { mayBeGone: boolean }): void {
  try {
    execFileSync('taskset', ['-p', '-c', cores, thread], { stdio: 'ignore' })
  } catch (error) {
    if (o.mayBeGone && !existsSync(`/proc/${thread}`)) return
    throw error
  }
}

/** For runOnce's `beforeGo`: the receiver's receive thread of `socket` alone on a core. */
export const receiveThreadAlone =
  (socket: string) =>
  async (receiver: Receiver, publisher: Publisher): Promise<void> => {
    const pids = [receiver.proc.child.pid, publisher.proc.child.pid]
    if (pids.some((p) => p === undefined)) throw new Error('a process without a pid')
    pinAlone(await receiveThreadOf(receiver, socket), pids as number[])
  }
