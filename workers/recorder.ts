// Thread entry for the recorder (ZMQ_RECORD_FILE). Everything else lives in src/recorder/.
import { workerData } from 'node:worker_threads'
import { runRecorder } from '../src/recorder/recorder-thread'
import type { RecorderInit } from '../src/shared/protocol'

void runRecorder(workerData as RecorderInit)
