import { Worker } from 'node:worker_threads'
import { type Config, loadConfig, type SocketSpec } from '../shared/config'
import { threadEntry } from '../shared/paths'
import type { EarlyStart } from '../shared/protocol'

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
 * Until it is taken, an early thread holds no socket and no native work, so ending the process
 * (a start-up failure, a signal) cuts it safely; it is unref'd meanwhile, so it keeps nothing
 * alive. Restarts, and threads for a configuration the entry script did not read (tests), start
 * threads the usual way.
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
}

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
    const thread: EarlyThread = { worker, ended: false }
    worker.unref()
    // A thread that cannot even load fails again when started the usual way, and is reported
    // there; here its error only marks it unusable (an 'error' nobody listens to would throw).
    worker.on('error', () => {
      thread.ended = true
    })
    worker.once('exit', () => {
      thread.ended = true
    })
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
  if (argv.length > 1 || (argv.length === 1 && argv[0] !== 'run')) return []
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
  thread.worker.removeAllListeners()
  thread.worker.ref()
  return thread.worker
}

/** Ends the early threads nobody took (tests; the process's end cuts them anyway). */
export async function endEarlyThreads(): Promise<void> {
  const left = [...early.values()]
  early.clear()
  await Promise.all(left.map(({ worker }) => worker.terminate()))
}
