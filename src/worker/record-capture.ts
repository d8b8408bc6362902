import { wallClockMs } from '../recording/format'
import type { RecordBatch } from '../shared/record-batch'

/**
 * The receive thread's side of container recording (ZMQ_RECORD_FILE): one call per received
 * message, which copies the two frames into a batch buffer and adds to a counter, so the
 * receive loop never waits on the file. Batches go to the main thread as transferred buffers.
 *
 * The buffer is bounded across all sockets by a byte budget in shared memory: bytes taken here
 * and not yet written by the main thread. A message that does not fit is not recorded and is
 * counted (overflow); receiving and handling go on as before.
 */
/** A batch leaves at this many messages, when its buffer is full, or after FLUSH_MS. */
const BATCH_MESSAGES = 1024
const BATCH_BYTES = 1024 * 1024
const FLUSH_MS = 50

export class RecordCapture {
  readonly #pending: Int32Array
  readonly #limitBytes: number
  readonly #post: (batch: RecordBatch, transfer: ArrayBuffer[]) => void
  readonly #timer: NodeJS.Timeout
  /** Copies of the frames: zeromq's buffers are not ours to keep (a handler may transfer them). */
  #data: Uint8Array | undefined
  #used = 0
  readonly #layout = new Float64Array(BATCH_MESSAGES * 3)
  #count = 0
  #overflow = 0
  #skipped = 0

  constructor(
    budget: SharedArrayBuffer,
    limitBytes: number,
    post: (batch: RecordBatch, transfer: ArrayBuffer[]) => void,
  ) {
    this.#pending = new Int32Array(budget)
    this.#limitBytes = limitBytes
    this.#post = post
    this.#timer = setInterval(() => this.flush(), FLUSH_MS)
    this.#timer.unref()
  }

  /** The hook in the receive loop: one copy of the bytes, no wait, never blocks. */
  add(frames: readonly Buffer[]): void {
    if (frames.length !== 2) {
      this.#skipped++
      return
    }
    const [topic, payload] = frames as [Buffer, Buffer]
    const size = topic.length + payload.length
    // Taken optimistically, given back if over: two threads may race past the limit otherwise.
    if (Atomics.add(this.#pending, 0, size) + size > this.#limitBytes) {
      Atomics.sub(this.#pending, 0, size)
      this.#overflow++
      return
    }
    if (this.#data && this.#used + size > this.#data.length) {
      this.flush()
      if (this.#data && size > this.#data.length) this.#data = undefined
    }
    this.#data ??= new Uint8Array(Math.max(BATCH_BYTES, size))
    this.#data.set(topic, this.#used)
    this.#data.set(payload, this.#used + topic.length)
    this.#used += size
    const at = 3 * this.#count++
    this.#layout[at] = topic.length
    this.#layout[at + 1] = payload.length
    this.#layout[at + 2] = wallClockMs()
    if (this.#count === BATCH_MESSAGES) this.flush()
  }

  /**
   * Sends what is waiting as one batch. A buffer at least half full moves to the main thread
   * whole (no copy) and a new one is made on the next message; a smaller batch is copied out,
   * so that a slow trickle does not allocate a megabyte every 50 ms.
   */
  flush(): void {
    if (this.#count === 0 && this.#overflow === 0 && this.#skipped === 0) return
    let data: ArrayBuffer
    if (!this.#data || this.#used === 0) {
      data = new ArrayBuffer(0)
    } else if (this.#used * 2 >= this.#data.length) {
      data = this.#data.buffer as ArrayBuffer
      this.#data = undefined
    } else {
      data = this.#data.slice(0, this.#used).buffer as ArrayBuffer
    }
    const layout = this.#layout.slice(0, this.#count * 3)
    this.#post({ type: 'record', data, layout, overflow: this.#overflow, skipped: this.#skipped }, [
      data,
      layout.buffer as ArrayBuffer,
    ])
    this.#used = 0
    this.#count = 0
    this.#overflow = 0
    this.#skipped = 0
  }

  /** Sends the last batch; nothing is taken after this. */
  stop(): void {
    clearInterval(this.#timer)
    this.flush()
  }
}
