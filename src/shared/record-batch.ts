/**
 * Container recording (ZMQ_RECORD_FILE) crosses threads: receive threads fill batches
 * (worker/record-capture.ts) and post them straight to the recorder thread
 * (recorder/recorder-thread.ts), which writes them; the main thread (main/container-recorder.ts)
 * starts and ends it and reads its counts. What the three sides must agree on lives here.
 */
export interface RecordBatch {
  /**
   * One buffer, transferred: first the layout, LAYOUT_WORDS Float64 words per message (topic
   * length, payload length, receive time in ms since the epoch, fractional), then from
   * `dataOffset` the topic and payload bytes of every message, back to back. The recorder hands
   * both views to the writer as they are (PackedMessages; see {@link batchLayout},
   * {@link batchData}).
   *
   * One buffer and not two: the layout used to travel in an array of its own, sliced off per
   * batch, so every batch cost the receive thread a 24 KiB allocation and a second transfer.
   * Now a batch buffer the recorder gives back brings its layout's room with it.
   */
  readonly buffer: ArrayBuffer
  readonly messages: number
  /** Where the messages' bytes start in `buffer` (the layout is before). */
  readonly dataOffset: number
  /** How many bytes from `dataOffset` are messages (a whole batch buffer may be partly filled). */
  readonly bytes: number
  /** Messages since the last batch that did not fit the budget. */
  readonly overflow: number
  /** Messages since the last batch that were not two frames (nothing to record faithfully). */
  readonly skipped: number
}

export const LAYOUT_WORDS = 3
export const LAYOUT_BYTES_PER_MESSAGE = LAYOUT_WORDS * Float64Array.BYTES_PER_ELEMENT

/** A batch leaves the receive thread at this many messages at most. */
export const BATCH_MESSAGES = 1024

/** The layout's room at the head of a batch buffer: BATCH_MESSAGES messages. */
export const LAYOUT_BYTES = BATCH_MESSAGES * LAYOUT_BYTES_PER_MESSAGE

/**
 * A receive thread's batch buffer (layout, then messages). Once the recorder has written a batch
 * that filled one, it posts the buffer back on the same port, and the receive thread fills it
 * again: a fresh megabyte per batch costs the receive thread its allocation, zeroing and page
 * faults, and the recorder thread's free of it unmaps the pages under the receive thread's feet.
 */
export const RECORD_BATCH_BYTES = 1024 * 1024

/** The batch's layout, a view into its buffer. */
export const batchLayout = (batch: RecordBatch) =>
  new Float64Array(batch.buffer, 0, batch.messages * LAYOUT_WORDS)

/** The batch's messages' bytes, a view into its buffer. */
export const batchData = (batch: RecordBatch) =>
  new Uint8Array(batch.buffer, batch.dataOffset, batch.bytes)

/**
 * What a message waiting to be written holds: its two frames' bytes and its layout words. The
 * budget (ZMQ_RECORD_BUFFER_BYTES) counts both, so a backlog of tiny messages is bounded as a
 * large one is; counting the frames alone let 1-byte messages hold 25 times the budget.
 */
export const budgetOf = (messages: number, bytes: number) =>
  bytes + messages * LAYOUT_BYTES_PER_MESSAGE

/** The shared budget: Int32 word 0 holds what is taken and not yet written (see budgetOf). */
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
