// Thread entry for one inbound socket. Everything else lives in src/worker/receive-worker.ts.
import { workerData } from 'node:worker_threads'
import type { WorkerInit } from '../src/shared/protocol'
import { runReceiveWorker } from '../src/worker/receive-worker'

void runReceiveWorker(workerData as WorkerInit)
