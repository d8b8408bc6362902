/**
 * Container recording (ZMQ_RECORD_FILE) crosses threads: receive threads fill batches
 * (worker/record-capture.ts) and post them straight to the recorder thread
 * (recorder/recorder-thread.ts), which writes them; the main thread (main/container-recorder.ts)
 * starts and ends it and reads its counts. What the three sides must agree on lives here.
 */
export interface RecordBatch {
  /** Topic and payload bytes of every message, back to back. */
  readonly data: ArrayBuffer
  /** How many of `data`'s bytes are messages (it may be a whole, partly filled batch buffer). */
  readonly bytes: number
  /**
   * LAYOUT_WORDS per message: topic length, payload length, receive time (ms since the epoch,
   * fractional). The recorder hands data and layout to the writer as they are (PackedMessages).
   */
  readonly layout: Float64Array
  /** Messages since the last batch that did not fit the budget. */
  readonly overflow: number
  /** Messages since the last batch that were not two frames (nothing to record faithfully). */
  readonly skipped: number
}

export const LAYOUT_WORDS = 3

/**
 * A receive thread's batch buffer. Once the recorder has written a batch that filled one, it
 * posts the buffer back on the same port, and the receive thread fills it again: a fresh
 * megabyte per batch costs the receive thread its allocation, zeroing and page faults, and the
 * recorder thread's free of it unmaps the pages under the receive thread's feet.
 */
export const RECORD_BATCH_BYTES = 1024 * 1024

/** The shared budget: Int32 word 0 holds the bytes taken and not yet written. */
export const BUDGET_WORDS = 1

/**
 * A receive thread's capture not yet posted, in shared memory (Int32 words), written by the
 * receive thread only. Read by the main thread once that thread is gone: a thread terminated in
 * a hung handler never posts its last batch, and these words say what it held.
 */
export const TALLY = { messages: 0, bytes: 1, overflow: 2, skipped: 3 } as const
export const TALLY_WORDS = 4

/** Per socket: received by the recorder = recorded + overflow + skipped + lost. */
export interface RecordCounts {
  recorded: number
  overflow: number
  skipped: number
  /** Captured by a receive thread that ended without posting them (terminated, crashed). */
  lost: number
}

export const RECORD_OUTCOMES = ['recorded', 'overflow', 'skipped', 'lost'] as const

/**
 * The recorder thread's counts in shared memory: BigInt64 words, RECORD_OUTCOMES.length per SUB
 * socket in the order the recorder was given them. Written by the recorder thread only (Atomics),
 * read by the main thread whenever /metrics or the closing log line asks.
 */
export function countsBuffer(sockets: number): SharedArrayBuffer {
  return new SharedArrayBuffer(sockets * RECORD_OUTCOMES.length * BigInt64Array.BYTES_PER_ELEMENT)
}

/** Reads socket `index`'s counts from a {@link countsBuffer}. */
export function readCounts(words: BigInt64Array, index: number): RecordCounts {
  const at = index * RECORD_OUTCOMES.length
  return Object.fromEntries(
    RECORD_OUTCOMES.map((outcome, i) => [outcome, Number(Atomics.load(words, at + i))]),
  ) as unknown as RecordCounts
}

/** Adds to socket `index`'s counts in a {@link countsBuffer}. */
export function addCounts(words: BigInt64Array, index: number, add: Partial<RecordCounts>): void {
  const at = index * RECORD_OUTCOMES.length
  RECORD_OUTCOMES.forEach((outcome, i) => {
    const by = add[outcome]
    if (by) Atomics.add(words, at + i, BigInt(by))
  })
}
