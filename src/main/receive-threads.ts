import { Worker } from 'node:worker_threads'
import { type Config, loadConfig, type SocketSpec } from '../shared/config'
import { withDeadline } from '../shared/deadline'
import { threadEntry } from '../shared/paths'
import type { EarlyLoaded, EarlyStart } from '../shared/protocol'
import { runsContainer } from './runs-container'

/**
 * How receive threads are created, and the first ones created early.
 *
 * A receive thread spends most of its start-up booting Node and loading its modules (pino,
 * zeromq, the container's code), none of which needs the main thread. The main thread spends
 * about as long loading its own (pino, zeromq, the supervisor, the HTTP server) before it can
 * hand a thread its socket. So the entry script (dist/main.js) starts one thread per inbound
 * socket as soon as the configuration is read, before it loads the rest: both loads run side by
 * side, on two cores. Each early thread loads its modules and then waits for its socket's init
 * (WorkerInit) as its first message, which WorkerHandle posts instead of starting a thread.
 *
 * An early thread is not safe to cut at every moment: while it loads zeromq's addon, ending the
 * process under it can abort it (134), as a pending receive can (zeromq.js#411). Once loaded it
 * says so and then holds no native work until its init comes. So a process that ends with
 * threads nobody took (a start-up that failed or was stopped) first lets each reach that point
 * ({@link settleEarlyThreads}). Until taken, a thread is unref'd. Restarts, and threads for a
 * configuration the entry script did not read (tests), start threads the usual way.
 */

/** The receive thread's entry (workers/receive.ts). */
export const RECEIVE_ENTRY = threadEntry('receive')

/**
 * A receive worker's young generation, fixed at Node 20's size. Node 24 sizes it from the heap
 * (192 MB beside a 96 MB old space): a scavenge that must promote that much exhausts the old
 * space long before the heap watch's mark (worker/heap-watch.ts), V8 ends the thread, and with
 * its monitor's receive pending that is SIGABRT for the whole process (seen in CI on Node 24).
 */
const WORKER_YOUNG_GENERATION_MB = 48

/** The Worker options of one socket's receive thread, early or not. */
export function receiveThreadOptions(config: Config, socket: SocketSpec) {
  return {
    name: `receive:${socket.name}`,
    resourceLimits: {
      maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
      ...(config.workerMaxOldMb ? { maxOldGenerationSizeMb: config.workerMaxOldMb } : {}),
    },
  }
}

/** A thread started early, and the socket it is for. */
export interface StartedThread {
  readonly socket: string
  readonly worker: Worker
}

interface EarlyThread {
  readonly worker: Worker
  /** Ended (or failed) before it was taken: not usable, a new thread is started instead. */
  ended: boolean
  /** Its modules are loaded (it posted EarlyLoaded): safe to cut from here on. */
  loaded: boolean
  /** Settles once it has loaded or ended. */
  readonly settled: Promise<void>
  /** Its listeners here, removed when it is taken. */
  readonly listeners: { message: (m: unknown) => void; error: () => void; exit: () => void }
}

/** How long a process that ends waits for an untaken thread to finish loading. */
const SETTLE_DEADLINE_MS = 5000

const early = new Map<string, EarlyThread>()

/**
 * Starts one receive thread per inbound socket of `config`, to be taken by
 * {@link takeEarlyThread}. `entry` is for tests.
 */
export function startEarlyThreads(config: Config, entry = RECEIVE_ENTRY): StartedThread[] {
  const started: StartedThread[] = []
  for (const socket of config.sockets) {
    if (socket.kind === 'pub' || early.has(socket.name)) continue
    const workerData: EarlyStart = { early: true }
    const worker = new Worker(entry, { workerData, ...receiveThreadOptions(config, socket) })
    let settle: () => void = () => {}
    const settled = new Promise<void>((resolve) => {
      settle = resolve
    })
    const thread: EarlyThread = {
      worker,
      ended: false,
      loaded: false,
      settled,
      listeners: {
        message: (message) => {
          if ((message as Partial<EarlyLoaded>)?.type !== 'loaded') return
          thread.loaded = true
          settle()
        },
        // A thread that cannot even load fails again when started the usual way, and is
        // reported there; here its error only marks it unusable (an 'error' nobody listens to
        // would throw).
        error: () => {
          thread.ended = true
        },
        exit: () => {
          thread.ended = true
          settle()
        },
      },
    }
    worker.unref()
    worker.on('message', thread.listeners.message)
    worker.on('error', thread.listeners.error)
    worker.once('exit', thread.listeners.exit)
    early.set(socket.name, thread)
    started.push({ socket: socket.name, worker })
  }
  return started
}

/**
 * The entry script's call: for the container (no command, or `run`), reads the configuration and
 * starts its receive threads early. Anything wrong with the configuration is left to the
 * container's own start-up, which reports it; then no thread is started here.
 */
export function startEarlyThreadsFor(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): StartedThread[] {
  if (!runsContainer(argv)) return []
  let config: Config
  try {
    config = loadConfig(env)
  } catch {
    return []
  }
  return startEarlyThreads(config)
}

/**
 * The early thread of `socket`, if one is waiting and still alive. It is taken once: a restart
 * gets a new thread. The caller posts its init and owns it from then on (it is ref'd again).
 */
export function takeEarlyThread(socket: string): Worker | undefined {
  const thread = early.get(socket)
  if (!thread) return undefined
  early.delete(socket)
  if (thread.ended) return undefined
  const { worker, listeners } = thread
  worker.off('message', listeners.message)
  worker.off('error', listeners.error)
  worker.off('exit', listeners.exit)
  worker.ref()
  return worker
}

/** Early threads nobody took (yet). */
export function earlyThreadsLeft(): number {
  return early.size
}

/** What {@link settleEarlyThreads} found: threads ended once loaded, and those cut before. */
export interface Settled {
  readonly loaded: number
  readonly ended: number
  /** Still loading at the deadline: cut all the same (a thread that cannot load in seconds). */
  readonly cut: number
}

/**
 * Ends the early threads nobody took, each once it has loaded (or ended by itself), so that the
 * process can end without cutting one inside zeromq's addon. Called before process.exit() by
 * main.ts, and by tests.
 */
export async function settleEarlyThreads(deadlineMs = SETTLE_DEADLINE_MS): Promise<Settled> {
  const left = [...early.values()]
  early.clear()
  const outcome = { loaded: 0, ended: 0, cut: 0 }
  await Promise.all(
    left.map(async (thread) => {
      // Unref'd: the wait must keep the event loop up by itself.
      thread.worker.ref()
      await withDeadline(thread.settled, deadlineMs, undefined)
      if (thread.ended) outcome.ended++
      else if (thread.loaded) outcome.loaded++
      else outcome.cut++
      await thread.worker.terminate()
    }),
  )
  return outcome
}
