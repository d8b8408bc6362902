import { msToNs } from '../recording/format'
import type { MessageToWrite, RecordingSource, RecordingWriter } from '../recording/writer'
import type { RecordConfig, SocketSpec } from '../shared/config'
import type { Logger } from '../shared/logger'
import { BUDGET_WORDS, type RecordBatch } from '../shared/record-batch'

/** Per socket: received by the recorder = recorded + overflow + skipped. */
export interface RecordCounts {
  recorded: number
  overflow: number
  skipped: number
}

/**
 * The main thread's side of container recording: owns the MCAP writer, takes the receive
 * threads' batches and writes them in arrival order, giving their bytes back to the shared
 * budget once written.
 *
 * Why the main thread and not a recorder thread of its own: the writer's work is appending to
 * chunks in memory and an occasional asynchronous file write, which costs the main thread's
 * event loop little; the receive threads, the hot path, only post a batch every 50 ms. A
 * thread of its own would add a start-up and a shutdown to get right (and zstd is the one
 * CPU-heavy part: left off by default).
 */
export class ContainerRecorder {
  /** Handed to every receive thread (see worker/record-capture.ts). */
  readonly budget = new SharedArrayBuffer(BUDGET_WORDS * Int32Array.BYTES_PER_ELEMENT)
  readonly counts = new Map<string, RecordCounts>()
  readonly #pending = new Int32Array(this.budget)
  readonly #writer: RecordingWriter
  readonly #sources: ReadonlyMap<string, RecordingSource>
  readonly #log: Logger
  readonly #config: RecordConfig
  #writeFailed = false

  private constructor(
    writer: RecordingWriter,
    sources: ReadonlyMap<string, RecordingSource>,
    config: RecordConfig,
    log: Logger,
  ) {
    this.#writer = writer
    this.#sources = sources
    this.#config = config
    this.#log = log
  }

  /** Creates the file; an error here (no such folder, no permission) fails start-up. */
  static async open(
    config: RecordConfig,
    sockets: readonly SocketSpec[],
    log: Logger,
  ): Promise<ContainerRecorder> {
    const sources = new Map(
      sockets.map((s) => [
        s.name,
        {
          socket: s.name,
          endpoint: s.endpoints.map((e) => `${e.action} ${e.address}`).join(', '),
        },
      ]),
    )
    const all = [...sources.values()]
    // Loaded only when recording: the MCAP libraries cost every container's start-up otherwise.
    const { RecordingWriter: Writer } =
      require('../recording/writer') as typeof import('../recording/writer')
    const writer = await Writer.open(config.file, {
      source: {
        socket: all.map((s) => s.socket).join(', '),
        endpoint: all.map((s) => s.endpoint).join(', '),
        extra: Object.fromEntries(
          sockets.map((s) => [`zmq.subscriptions.${s.name}`, s.topics.join(',')]),
        ),
      },
      compression: config.compression,
    })
    log.info({ file: config.file, compression: config.compression }, 'recording')
    return new ContainerRecorder(writer, sources, config, log)
  }

  get bufferBytes(): number {
    return this.#config.bufferBytes
  }

  /** One batch from the receive thread of `socket`. */
  accept(socket: string, batch: RecordBatch): void {
    let counts = this.counts.get(socket)
    if (!counts) {
      counts = { recorded: 0, overflow: 0, skipped: 0 }
      this.counts.set(socket, counts)
    }
    counts.overflow += batch.overflow
    counts.skipped += batch.skipped
    const data = new Uint8Array(batch.data)
    const { layout } = batch
    const messages: MessageToWrite[] = []
    const source = this.#sources.get(socket)
    let offset = 0
    for (let i = 0; i < layout.length; i += 3) {
      const topicLength = layout[i] as number
      const payloadLength = layout[i + 1] as number
      messages.push({
        source,
        topicFrame: data.subarray(offset, offset + topicLength),
        payload: data.subarray(offset + topicLength, offset + topicLength + payloadLength),
        logTimeNs: msToNs(layout[i + 2] as number),
      })
      offset += topicLength + payloadLength
    }
    if (messages.length === 0) return
    const c = counts
    this.#writer.addBatch(messages).then(
      () => {
        c.recorded += messages.length
        Atomics.sub(this.#pending, 0, offset)
      },
      (error: unknown) => {
        // Counted as overflow: the budget is never given back, so the receive threads stop
        // taking messages (counted there too), and the error is logged once.
        c.overflow += messages.length
        if (this.#writeFailed) return
        this.#writeFailed = true
        this.#log.error({ err: error, file: this.#writer.currentPath }, 'recording failed')
      },
    )
  }

  /** Writes what is queued and ends the file (summary, footer). Call after the workers stopped. */
  async close(): Promise<void> {
    try {
      await this.#writer.close()
    } catch (error) {
      if (!this.#writeFailed)
        this.#log.error({ err: error, file: this.#writer.currentPath }, 'recording failed')
    }
    this.#log.info(
      { file: this.#writer.currentPath, sockets: Object.fromEntries(this.counts) },
      'recording closed',
    )
  }
}
