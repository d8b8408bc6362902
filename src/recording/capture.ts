import { wallClockMs } from './format'

/**
 * The receive thread's side of container recording (ZMQ_RECORD_FILE): one call per received
 * message, which only keeps a reference and adds to a counter, so the receive loop never waits
 * on the file. Messages go to the main thread in batches, as one transferred buffer each.
 *
 * The buffer is bounded across all sockets by a byte budget in shared memory: bytes taken here
 * and not yet written by the main thread. A message that does not fit is not recorded and is
 * counted (overflow); receiving and handling go on as before.
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
/** A batch leaves at this many messages, this many bytes, or after FLUSH_MS, whichever first. */
const BATCH_MESSAGES = 256
const BATCH_BYTES = 1024 * 1024
const FLUSH_MS = 50

export class RecordCapture {
  readonly #pending: Int32Array
  readonly #limitBytes: number
  readonly #post: (batch: RecordBatch, transfer: ArrayBuffer[]) => void
  readonly #timer: NodeJS.Timeout
  #frames: Buffer[] = []
  #times: number[] = []
  #bytes = 0
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

  /** The hook in the receive loop: constant work, no copy, never blocks. */
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
    this.#frames.push(topic, payload)
    this.#times.push(wallClockMs())
    this.#bytes += size
    if (this.#times.length >= BATCH_MESSAGES || this.#bytes >= BATCH_BYTES) this.flush()
  }

  /** Sends what is waiting as one batch (one copy into one transferred buffer). */
  flush(): void {
    const count = this.#times.length
    if (count === 0 && this.#overflow === 0 && this.#skipped === 0) return
    const data = new ArrayBuffer(this.#bytes)
    const bytes = new Uint8Array(data)
    const layout = new Float64Array(count * 3)
    let offset = 0
    for (let i = 0; i < count; i++) {
      const topic = this.#frames[2 * i] as Buffer
      const payload = this.#frames[2 * i + 1] as Buffer
      bytes.set(topic, offset)
      bytes.set(payload, offset + topic.length)
      offset += topic.length + payload.length
      layout[3 * i] = topic.length
      layout[3 * i + 1] = payload.length
      layout[3 * i + 2] = this.#times[i] as number
    }
    this.#post({ type: 'record', data, layout, overflow: this.#overflow, skipped: this.#skipped }, [
      data,
      layout.buffer as ArrayBuffer,
    ])
    this.#frames = []
    this.#times = []
    this.#bytes = 0
    this.#overflow = 0
    this.#skipped = 0
  }

  /** Sends the last batch; nothing is taken after this. */
  stop(): void {
    clearInterval(this.#timer)
    this.flush()
  }
}
