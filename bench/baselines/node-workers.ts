/**
 * Baseline: a bare zeromq.js SUB in a worker_thread per socket (node-worker-thread.ts), with
 * nothing else: no receive timeout, no checks, no counters in shared memory, no monitor. The
 * relay publishes from the worker on a PUB of its own, directly. SIGTERM asks each worker to
 * close its socket and waits for it to end, up to the join deadline; a worker still running
 * then is terminated (exit 75).
 */
import { once } from 'node:events'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { emit, readSpec } from './spec'

const spec = readSpec()
const entry = path.join(__dirname, `node-worker-thread${path.extname(__filename)}`)

let ready = 0
const workers = spec.sockets.map((socket, i) => {
  const worker = new Worker(entry, {
    workerData: { socket, relay: spec.relay && i === 0, hang: spec.hang },
  })
  worker.on('message', (message: { event: string }) => {
    if (message.event !== 'ready') return emit(message)
    if (++ready === spec.sockets.length) emit({ event: 'ready' })
  })
  worker.on('error', (error) => process.stderr.write(`worker error: ${String(error)}\n`))
  return worker
})

async function stop(): Promise<void> {
  for (const w of workers) w.postMessage('stop')
  const joined = await Promise.race([
    Promise.all(workers.map((w) => once(w, 'exit'))).then(() => true),
    delay(spec.joinMs).then(() => false),
  ])
  if (!joined) await Promise.all(workers.map((w) => w.terminate()))
  process.exit(joined ? 0 : 75)
}

process.once('SIGTERM', () => void stop())
process.once('SIGINT', () => void stop())
