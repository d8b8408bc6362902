import type { MessagePort, TransferListItem } from 'node:worker_threads'
import type { Config, SocketSpec } from './config'
import type { SerializedError } from './errors'
import type { RecordBatch } from './record-batch'

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
  /** ZMQ_RECORD_FILE: the recorder's shared byte budget (see worker/record-capture.ts). */
  readonly recordBudget?: SharedArrayBuffer
}

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
  | RecordBatch

/**
 * Main -> worker: the one way a control port is written to, so every message is a ToWorker.
 * (A bare `postMessage` takes `any`: a typo in a message type would only show as a stuck worker.)
 */
export function send(port: MessagePort, message: ToWorker): void {
  port.postMessage(message)
}

/**
 * Worker -> main: the one way a receive worker writes to its port. `transfer` moves buffers the
 * message owns whole (a publish's payload, a record batch) instead of copying them.
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
