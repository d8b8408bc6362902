// Thread entry for one inbound socket. Everything else lives in src/worker/receive-worker.ts.
import { parentPort, workerData } from 'node:worker_threads'
import type { EarlyStart, WorkerInit } from '../src/shared/protocol'
import { runReceiveWorker } from '../src/worker/receive-worker'

// A thread started early (src/main/receive-threads.ts) has loaded its modules by now, and gets
// its socket's init as its first message; any other gets it as workerData.
if ((workerData as Partial<EarlyStart> | undefined)?.early)
  parentPort?.once('message', (init: WorkerInit) => void runReceiveWorker(init))
else void runReceiveWorker(workerData as WorkerInit)
