// Piscina task entry for pool mode (ZMQ_SUB_*_POOL_THREADS). The work is in src/pool-task.ts.
import { workerData } from 'piscina'
import { type PoolTask, type PoolWorkerData, runPoolTask } from '../src/pool/pool-task'

export default (task: PoolTask) => runPoolTask(task, workerData as PoolWorkerData)
