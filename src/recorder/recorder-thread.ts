import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads'
import { BatchRefusedError } from '../recording/format'
import type { PackedMessages, RecordingSource, RecordingWriter } from '../recording/writer'
import { serializeError } from '../shared/errors'
import { createLogger } from '../shared/logger'
import {
  assertNever,
  type FromRecorder,
  type RecorderInit,
  type ToRecorder,
} from '../shared/protocol'
import {
  addCounts,
  BUDGET_WORDS,
  batchData,
  batchLayout,
  budgetOf,
  RECORD_BATCH_BYTES,
  type RecordBatch,
} from '../shared/record-batch'
import { applyRecorderPriority } from './recorder-priority'

/**
 * The recorder thread (ZMQ_RECORD_FILE): owns the MCAP writer. Receive threads post their
 * batches straight to it, each on a port of its own; it writes them in arrival order and gives
 * their bytes back to the shared budget once written. The main thread only starts it, hands it
 * the ports, and tells it to close once every receive thread has stopped.
 *
 * Why a thread of its own: the writer's work (framing, CRC32, compression) cost the main thread
 * up to 40% of the receive throughput on two cores, when it was @mcap/core's McapWriter there. Here it runs
 * at a raised nice value, so under CPU pressure it is the recording that falls behind (overflow,
 * counted), not receiving.
 */
export async function runRecorder(init: RecorderInit): Promise<void> {
  const log = createLogger(init.config.logLevel, { thread: 'recorder' }, init.config.logFormat)
  applyRecorderPriority(init.config.threadPriority, log)
  const record = init.config.record
  const post = (message: FromRecorder) => init.port.postMessage(message)
  if (!record) throw new Error('the recorder thread needs ZMQ_RECORD_FILE')
  let writer: RecordingWriter
  try {
    // Loaded here, in the recorder thread only: the MCAP libraries cost start-up otherwise.
    const { RecordingWriter: Writer } =
      require('../recording/writer') as typeof import('../recording/writer')
    writer = await Writer.open(record.file, { source: init.file, compression: record.compression })
  } catch (error) {
    post({ type: 'failed', phase: 'open', error: serializeError(error), file: record.file })
    init.port.close()
    return
  }
  const recorder = new Recorder(init, writer, post)
  init.port.on('message', (message: ToRecorder) => recorder.handle(message))
  post({ type: 'opened' })
}

class Recorder {
  readonly #writer: RecordingWriter
  readonly #post: (message: FromRecorder) => void
  readonly #control: MessagePort
  readonly #pending: Int32Array
  readonly #counts: BigInt64Array
  readonly #sources: readonly RecordingSource[]
  readonly #indexOf: ReadonlyMap<string, number>
  /** Every receive thread's batch port, with the index of its socket. */
  readonly #ports = new Map<MessagePort, number>()
  /** Batches waiting for the writer, oldest first: one in the writer at a time. */
  readonly #queue: QueuedBatch[] = []
  #writing: Promise<void> | undefined
  /** Set by the main thread (see RecorderInit.hurry): what waits is lost, the file ends now. */
  readonly #hurry: Int32Array
  #writeFailed = false
  #closing = false

  constructor(init: RecorderInit, writer: RecordingWriter, post: (message: FromRecorder) => void) {
    this.#writer = writer
    this.#post = post
    this.#control = init.port
    this.#pending = new Int32Array(init.budget, 0, BUDGET_WORDS)
    this.#counts = new BigInt64Array(init.counts)
    this.#hurry = new Int32Array(init.hurry, 0, 1)
    this.#sources = init.sources
    this.#indexOf = new Map(init.sources.map((s, i) => [s.socket, i]))
  }

  handle(message: ToRecorder): void {
    switch (message.type) {
      case 'connect': {
        const index = this.#index(message.socket)
        const { port } = message
        this.#ports.set(port, index)
        port.on('message', (batch: RecordBatch) => this.#accept(index, batch, port))
        return
      }
      case 'lost': {
        // A receive thread that ended without posting its last batch: those bytes will never
        // be written, so they go back to the budget, and its messages are counted.
        Atomics.sub(this.#pending, 0, budgetOf(message.messages, message.bytes))
        addCounts(this.#counts, this.#index(message.socket), {
          lost: message.messages,
          overflow: message.overflow,
          skipped: message.skipped,
        })
        return
      }
      case 'close':
        void this.#close()
        return
      default:
        assertNever(message)
    }
  }

  /** The stop's time is up (the shutdown deadline, a second signal). */
  #hurried(): boolean {
    return Atomics.load(this.#hurry, 0) === 1
  }

  #index(socket: string): number {
    const index = this.#indexOf.get(socket)
    if (index === undefined) throw new Error(`the recorder has no socket "${socket}"`)
    return index
  }

  #accept(index: number, batch: RecordBatch, port: MessagePort): void {
    addCounts(this.#counts, index, { overflow: batch.overflow, skipped: batch.skipped })
    const { messages } = batch
    if (messages === 0) return
    const source = this.#sources[index]
    const packed = {
      data: batchData(batch),
      layout: batchLayout(batch),
      ...(source ? { source } : {}),
    }
    const queued = { index, packed, messages, bytes: batch.bytes, port }
    if (this.#hurried()) this.#drop(queued, 'lost')
    else this.#queue.push(queued)
    this.#startWriting()
  }

  #startWriting(): void {
    if (this.#writing) return
    this.#writing = this.#writeQueued().finally(() => {
      this.#writing = undefined
      // A batch that arrived as the loop ended.
      if (this.#queue.length > 0) this.#startWriting()
    })
  }

  /** Not written: counted, and its bytes given back to the budget. */
  #drop(batch: QueuedBatch, as: 'lost' | 'overflow'): void {
    addCounts(this.#counts, batch.index, { [as]: batch.messages })
    Atomics.sub(this.#pending, 0, budgetOf(batch.messages, batch.bytes))
  }

  async #writeQueued(): Promise<void> {
    for (let batch = this.#queue.shift(); batch; batch = this.#queue.shift()) {
      // Checked before each batch: the backlog can be seconds of writing at nice 19.
      if (this.#hurried()) {
        this.#drop(batch, 'lost')
        continue
      }
      if (this.#writeFailed) {
        // Counted as overflow and its bytes kept: the budget fills, so the receive threads stop
        // taking messages (counted there too).
        addCounts(this.#counts, batch.index, { overflow: batch.messages })
        continue
      }
      try {
        await this.#writer.addPacked(batch.packed)
        addCounts(this.#counts, batch.index, { recorded: batch.messages })
        Atomics.sub(this.#pending, 0, budgetOf(batch.messages, batch.bytes))
        // Written: the chunk writer has copied the bytes, so the buffer can be filled again.
        const buffer = batch.packed.data.buffer as ArrayBuffer
        if (buffer.byteLength === RECORD_BATCH_BYTES && !this.#closing)
          batch.port.postMessage(buffer, [buffer])
      } catch (error) {
        // A batch refused part-way (a 65,537th topic) has its first messages in the file.
        const added = error instanceof BatchRefusedError ? error.added : 0
        addCounts(this.#counts, batch.index, {
          recorded: added,
          overflow: batch.messages - added,
        })
        // Reported once.
        this.#writeFailed = true
        this.#post({
          type: 'failed',
          phase: 'write',
          error: serializeError(error),
          file: this.#writer.currentPath,
        })
      }
    }
  }

  /**
   * Every receive thread has stopped, and each posted its last batch before it said so: those
   * batches are queued at their ports, so they are taken here synchronously, before the ports
   * close. Then the file is finished and the thread ends by itself (nothing holds it open).
   */
  async #close(): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    for (const [port, index] of this.#ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
        this.#accept(index, m.message as RecordBatch, port)
      port.close()
    }
    // Everything queued is written first, unless the stop's time is up (see #writeQueued).
    while (this.#writing) await this.#writing
    let error: unknown
    try {
      await this.#writer.close()
    } catch (e) {
      error = e
    }
    this.#post({
      type: 'closed',
      file: this.#writer.currentPath,
      ...(error !== undefined && !this.#writeFailed ? { error: serializeError(error) } : {}),
    })
    this.#control.close()
  }
}

interface QueuedBatch {
  readonly index: number
  readonly packed: PackedMessages
  readonly messages: number
  /** Its bytes in the shared budget. */
  readonly bytes: number
  /** Where its buffer goes back once written (see RECORD_BATCH_BYTES). */
  readonly port: MessagePort
}
