import { wallClockMs } from '../recording/format'
import {
  BATCH_MESSAGES,
  budgetOf,
  LAYOUT_BYTES,
  LAYOUT_BYTES_PER_MESSAGE,
  LAYOUT_WORDS,
  RECORD_BATCH_BYTES,
  type RecordBatch,
  TALLY,
  TALLY_WORDS,
} from '../shared/record-batch'

/**
 * The receive thread's side of container recording (ZMQ_RECORD_FILE): one call per received
 * message, which copies the two frames into a batch buffer and adds to a counter, so the
 * receive loop never waits on the file. Batches go to the recorder thread as transferred buffers.
 *
 * The buffer is bounded across all sockets by a byte budget in shared memory: bytes taken here
 * and not yet written by the recorder thread. A message that does not fit is not recorded and is
 * counted (overflow); receiving and handling go on as before.
 *
 * What is captured and not yet posted is counted in shared memory (the tally), so that a thread
 * terminated in a hung handler, which never posts its last batch, still leaves a count of it.
 */
/** A batch leaves at BATCH_MESSAGES messages, when its buffer is full, or after FLUSH_MS. */
const FLUSH_MS = 50
/** What a batch buffer holds of messages' bytes, after its layout. */
const DATA_ROOM = RECORD_BATCH_BYTES - LAYOUT_BYTES
/** Buffers the recorder gave back, kept for the next batches (more are left to the GC). */
const SPARE_BUFFERS = 2

export class RecordCapture {
  readonly #pending: Int32Array
  readonly #limitBytes: number
  readonly #post: (batch: RecordBatch, transfer: ArrayBuffer[]) => void
  readonly #timer: NodeJS.Timeout
  /**
   * The batch being filled (see RecordBatch): its layout, then copies of the frames, since
   * zeromq's buffers are not ours to keep (a handler may transfer them). Two views of one
   * buffer, both undefined between batches.
   */
  #layout: Float64Array | undefined
  #data: Uint8Array | undefined
  /** Messages, bytes, overflow and skipped since the last batch (TALLY words). */
  readonly #tally: Int32Array
  /** Batch buffers the recorder wrote and posted back (see RECORD_BATCH_BYTES). */
  readonly #spare: ArrayBuffer[] = []

  /** `tally`: shared with the main thread (see TALLY); a private one when nobody reads it. */
  constructor(
    budget: SharedArrayBuffer,
    limitBytes: number,
    post: (batch: RecordBatch, transfer: ArrayBuffer[]) => void,
    tally = new SharedArrayBuffer(TALLY_WORDS * Int32Array.BYTES_PER_ELEMENT),
  ) {
    this.#pending = new Int32Array(budget)
    this.#tally = new Int32Array(tally)
    this.#limitBytes = limitBytes
    this.#post = post
    this.#timer = setInterval(() => this.flush(), FLUSH_MS)
    this.#timer.unref()
  }

  /** A batch buffer back from the recorder, written: filled again instead of a new one. */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === RECORD_BATCH_BYTES && this.#spare.length < SPARE_BUFFERS)
      this.#spare.push(buffer)
  }

  /**
   * The hook in the receive loop: one copy of the bytes, no wait, never blocks. `receivedAtMs`
   * is the loop's own reading of the receive time (performance.now()), so recording costs no
   * clock read of its own.
   */
  add(frames: readonly Buffer[], receivedAtMs: number): void {
    const tally = this.#tally
    if (frames.length !== 2) {
      tally[TALLY.skipped] = (tally[TALLY.skipped] as number) + 1
      return
    }
    const [topic, payload] = frames as [Buffer, Buffer]
    const size = topic.length + payload.length
    const cost = budgetOf(1, size)
    // Taken optimistically, given back if over: two threads may race past the limit otherwise.
    if (Atomics.add(this.#pending, 0, cost) + cost > this.#limitBytes) {
      Atomics.sub(this.#pending, 0, cost)
      tally[TALLY.overflow] = (tally[TALLY.overflow] as number) + 1
      return
    }
    if (this.#data && (tally[TALLY.bytes] as number) + size > this.#data.length) {
      this.flush()
      // Still held (a small batch was copied out), but too small for this one.
      if (this.#data && size > this.#data.length) {
        this.recycle(this.#data.buffer as ArrayBuffer)
        this.#release()
      }
    }
    const used = tally[TALLY.bytes] as number
    if (!this.#data) this.#take(size)
    const layout = this.#layout as Float64Array
    const data = this.#data as Uint8Array
    data.set(topic, used)
    data.set(payload, used + topic.length)
    tally[TALLY.bytes] = used + size
    const count = tally[TALLY.messages] as number
    const at = LAYOUT_WORDS * count
    layout[at] = topic.length
    layout[at + 1] = payload.length
    layout[at + 2] = wallClockMs(receivedAtMs)
    tally[TALLY.messages] = count + 1
    if (count + 1 === BATCH_MESSAGES) this.flush()
  }

  /**
   * A batch buffer for a message of `size` bytes: one the recorder gave back, or a new one; a
   * message larger than a batch buffer gets one of its own size.
   */
  #take(size: number): void {
    const buffer =
      size <= DATA_ROOM
        ? (this.#spare.pop() ?? new ArrayBuffer(RECORD_BATCH_BYTES))
        : new ArrayBuffer(LAYOUT_BYTES + size)
    this.#layout = new Float64Array(buffer, 0, BATCH_MESSAGES * LAYOUT_WORDS)
    this.#data = new Uint8Array(buffer, LAYOUT_BYTES)
  }

  #release(): void {
    this.#layout = undefined
    this.#data = undefined
  }

  /**
   * Sends what is waiting as one batch. A buffer at least half full moves to the recorder thread
   * whole (no copy), and the next message fills a buffer the recorder gave back, or a new one; a
   * smaller batch is copied out, so that a slow trickle does not take a megabyte every 50 ms.
   * So a batch's buffer is never more than twice what the budget counts for it (budgetOf).
   */
  flush(): void {
    const tally = this.#tally
    const messages = tally[TALLY.messages] as number
    const bytes = tally[TALLY.bytes] as number
    const overflow = tally[TALLY.overflow] as number
    const skipped = tally[TALLY.skipped] as number
    if (messages === 0 && overflow === 0 && skipped === 0) return
    let buffer: ArrayBuffer
    let dataOffset: number
    const layout = this.#layout
    const data = this.#data
    if (messages === 0 || !layout || !data) {
      buffer = new ArrayBuffer(0)
      dataOffset = 0
    } else if (bytes * 2 >= data.length) {
      buffer = data.buffer as ArrayBuffer
      dataOffset = LAYOUT_BYTES
      this.#release()
    } else {
      const words = messages * LAYOUT_WORDS
      dataOffset = messages * LAYOUT_BYTES_PER_MESSAGE
      buffer = new ArrayBuffer(dataOffset + bytes)
      new Float64Array(buffer, 0, words).set(layout.subarray(0, words))
      new Uint8Array(buffer, dataOffset).set(data.subarray(0, bytes))
    }
    this.#post({ buffer, messages, dataOffset, bytes, overflow, skipped }, [buffer])
    // Cleared right after the post, which has queued the batch at the recorder: a terminate that
    // lands between the two would count this batch twice (and give its bytes back to the budget
    // twice), never lose it silently. The window is two statements.
    tally.fill(0)
  }

  /** Sends the last batch; nothing is taken after this. */
  stop(): void {
    clearInterval(this.#timer)
    this.flush()
  }
}
