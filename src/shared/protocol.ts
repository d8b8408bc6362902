import type { MessagePort, TransferListItem } from 'node:worker_threads'
import type { Config, SocketSpec } from './config'
import type { SerializedError } from './errors'

/**
 * Everything that crosses a thread boundary, in one place. Messages are plain tagged objects:
 * class instances lose their class when posted. Counters do not travel here; they live in
 * shared memory (see shared-state.ts).
 */

/** Handed to a receive worker as `workerData`. */
export interface WorkerInit {
  readonly socket: SocketSpec
  readonly config: Config
  /** Resolved path of the service module, or undefined for the built-in logging service. */
  readonly servicePath: string | undefined
  /** The worker's private control channel (transferred). */
  readonly port: MessagePort
  /** Shared counters and state word; survives the worker so totals never reset. */
  readonly counters: SharedArrayBuffer
  /** ZMQ_RECORD_FILE: where this thread's capture goes (see worker/record-capture.ts). */
  readonly record?: RecordLink
}

/**
 * The workerData of a receive thread started early (src/main/receive-threads.ts): it loads its
 * modules, then waits for its WorkerInit as its first message.
 */
export interface EarlyStart {
  readonly early: true
}

/**
 * What a thread started early posts on its parentPort once its modules are loaded: from then on
 * it holds no native work until its init comes, so the process may end under it (see
 * settleEarlyThreads in src/main/receive-threads.ts). While zeromq's addon loads, it may not.
 */
export interface EarlyLoaded {
  readonly type: 'loaded'
}

/** Whether a thread started early was given what it waits for (a loud bug otherwise). */
export function isWorkerInit(value: unknown): value is WorkerInit {
  const init = value as Partial<WorkerInit> | undefined
  return (
    typeof init === 'object' &&
    init !== null &&
    typeof init.socket === 'object' &&
    typeof init.config === 'object' &&
    init.counters instanceof SharedArrayBuffer &&
    typeof init.port?.postMessage === 'function'
  )
}

/** A receive thread's line to the recorder thread. */
export interface RecordLink {
  /** The recorder's shared byte budget (see record-batch.ts). */
  readonly budget: SharedArrayBuffer
  /** Batches go here, straight to the recorder thread (transferred). */
  readonly port: MessagePort
  /** What this thread captured and has not posted yet (see TALLY in record-batch.ts). */
  readonly tally: SharedArrayBuffer
}

/** Handed to the recorder thread (ZMQ_RECORD_FILE) as `workerData`. */
export interface RecorderInit {
  readonly config: Config
  /** The file's source metadata: every SUB socket's endpoints and subscriptions. */
  readonly file: {
    readonly socket: string
    readonly endpoint: string
    readonly extra: Readonly<Record<string, string>>
  }
  /** One per SUB socket, in the order of the counts buffer. */
  readonly sources: ReadonlyArray<{ readonly socket: string; readonly endpoint: string }>
  readonly budget: SharedArrayBuffer
  /** Counts per socket (see countsBuffer in record-batch.ts). */
  readonly counts: SharedArrayBuffer
  /**
   * Int32 word 0 set to 1 by the main thread when the stop's time is up (the shutdown deadline,
   * a second signal): what still waits for the writer is counted as lost, not written. Shared
   * memory, not a message, so the writer sees it before its next batch even when its event loop
   * is busy.
   */
  readonly hurry: SharedArrayBuffer
  /** The recorder's control channel from the main thread (transferred). */
  readonly port: MessagePort
}

export type ToRecorder =
  /** A receive thread of `socket` will post its batches on `port` (transferred). */
  | { type: 'connect'; socket: string; port: MessagePort }
  /** A receive thread ended with this much captured and never posted (its TALLY words). */
  | {
      type: 'lost'
      socket: string
      messages: number
      bytes: number
      overflow: number
      skipped: number
    }
  /** Every receive thread has stopped: take what is queued, end the file, exit. */
  | { type: 'close' }

export type FromRecorder =
  | { type: 'opened' }
  /** `open`: the file could not be created. `write`: writing failed; later batches are overflow. */
  | { type: 'failed'; phase: 'open' | 'write'; error: SerializedError; file: string }
  /** The file is finished (or `error` says why not); the thread ends next. */
  | { type: 'closed'; file: string; error?: SerializedError }

export type StopReason = 'signal' | 'fatal' | 'manual' | 'restart'

export type ToWorker =
  | { type: 'shutdown'; reason: StopReason }
  | { type: 'answer'; id: number; ok: true; value: unknown }
  | { type: 'answer'; id: number; ok: false; error: SerializedError }

export type FromWorker =
  | { type: 'ready' }
  | { type: 'stopped' }
  | { type: 'failed'; error: SerializedError; phase: 'start' | 'run' }
  | { type: 'publish'; topic: string; payload: Uint8Array; socket: string | undefined }
  | { type: 'service'; data: unknown }
  | { type: 'call'; id: number; data: unknown }

/**
 * Main -> worker: the one way a control port is written to, so every message is a ToWorker.
 * (A bare `postMessage` takes `any`: a typo in a message type would only show as a stuck worker.)
 */
export function send(port: MessagePort, message: ToWorker): void {
  port.postMessage(message)
}

/**
 * Worker -> main: the one way a receive worker writes to its port. `transfer` moves buffers the
 * message owns whole (a publish's payload) instead of copying them.
 */
export function post(
  port: MessagePort,
  message: FromWorker,
  transfer?: readonly TransferListItem[],
): void {
  port.postMessage(message, transfer)
}

/** For exhaustive switches: a new message type that is not handled fails to compile. */
export function assertNever(value: never): never {
  throw new Error(`unexpected message ${JSON.stringify(value)}`)
}
