/**
 * Container recording (ZMQ_RECORD_FILE) crosses threads: receive threads fill batches
 * (worker/record-capture.ts) and the main thread writes them (main/container-recorder.ts). What
 * both sides must agree on lives here.
 */
export interface RecordBatch {
  readonly type: 'record'
  /** Topic and payload bytes of every message, back to back. */
  readonly data: ArrayBuffer
  /** Per message: topic length, payload length, receive time (ms since the epoch, fractional). */
  readonly layout: Float64Array
  /** Messages since the last batch that did not fit the budget. */
  readonly overflow: number
  /** Messages since the last batch that were not two frames (nothing to record faithfully). */
  readonly skipped: number
}

/** The shared budget: Int32 word 0 holds the bytes taken and not yet written. */
export const BUDGET_WORDS = 1
