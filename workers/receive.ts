// Thread entry for one inbound socket. Everything else lives in src/worker/receive-worker.ts.
import { workerData } from 'node:worker_threads'
import { startReceiveThread } from '../src/worker/receive-worker'

startReceiveThread(workerData)
