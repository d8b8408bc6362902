import { open } from 'node:fs/promises'
import path from 'node:path'
import { FileHandleWritable } from '@mcap/nodejs'
import { loadedZstd, loadZstd } from './codecs'
import {
  CHANNEL_KEYS,
  type Compression,
  ENCODINGS,
  LIBRARY,
  METADATA_NAME,
  type PayloadEncoding,
  PROFILE,
  topicFromFrame,
} from './format'
import { McapWriter } from './mcap'

/** Where messages came from: in the file's metadata, and in each channel's. */
export interface RecordingSource {
  /** `connect tcp://camera:5555`, several joined by `, `. */
  readonly endpoint: string
  /** `SUB`, or the container's socket name. */
  readonly socket: string
  /** Anything else worth keeping (subscriptions, the command line): file-level metadata. */
  readonly extra?: Readonly<Record<string, string>>
}

export interface RecordingWriterOptions {
  readonly source: RecordingSource
  readonly compression?: Compression
  readonly encoding?: PayloadEncoding
  /**
   * Start a new numbered file (`out_1.mcap`, `out_2.mcap`, ...) once the current one reaches
   * this size. The check runs after each message, and data reaches the file a chunk at a time,
   * so a file ends at the first chunk boundary past the limit. Undefined: one file.
   */
  readonly maxBytes?: number
}

export interface MessageToWrite {
  /** The receiving socket, when it is not the file's source (a container with several SUBs). */
  readonly source?: RecordingSource
  readonly topicFrame: Uint8Array
  readonly payload: Uint8Array
  /** Receive time, nanoseconds since the epoch. */
  readonly logTimeNs: bigint
}

/** MCAP's own default chunk size: large chunks compress well and index cheaply. */
const CHUNK_BYTES = 1024 * 1024
/** The smallest chunk when --max-bytes is small, so that splitting still has a meaning. */
const MIN_CHUNK_BYTES = 4 * 1024

/**
 * Writes ZeroMQ messages to MCAP: a channel per topic, log time = receive time. McapWriter
 * must not be called again before its previous call has settled, so every call goes through
 * one promise chain; `add` may be called without awaiting and order is kept.
 */
export class RecordingWriter {
  readonly #basePath: string
  readonly #options: RecordingWriterOptions
  readonly #chunkBytes: number
  #file: OpenFile | undefined
  #tail: Promise<void> = Promise.resolve()
  #index = 0
  #failure: Error | undefined
  #closed = false
  /** Every file written, in order. */
  readonly files: string[] = []
  messages = 0
  bytes = 0

  private constructor(basePath: string, options: RecordingWriterOptions) {
    this.#basePath = basePath
    this.#options = options
    this.#chunkBytes =
      options.maxBytes === undefined
        ? CHUNK_BYTES
        : Math.max(MIN_CHUNK_BYTES, Math.min(CHUNK_BYTES, Math.floor(options.maxBytes / 4)))
  }

  /** Opens the (first) file; a path that cannot be created rejects here, not on the first write. */
  static async open(filePath: string, options: RecordingWriterOptions): Promise<RecordingWriter> {
    const writer = new RecordingWriter(filePath, options)
    if (options.compression === 'zstd') await loadZstd()
    writer.#file = await writer.#openNext()
    return writer
  }

  /** The file being written now. */
  get currentPath(): string {
    return this.files[this.files.length - 1] ?? this.#basePath
  }

  /**
   * Queues one message: the topic frame and the payload frame as received, at `logTimeNs`.
   * Resolves once it is in the writer (a chunk in memory or the file); a write error rejects
   * this call and every later one.
   */
  add(topicFrame: Uint8Array, payload: Uint8Array, logTimeNs: bigint): Promise<void> {
    return this.addBatch([{ topicFrame, payload, logTimeNs }])
  }

  /** Several messages in one step of the chain: cheaper per message than `add`. */
  addBatch(messages: readonly MessageToWrite[]): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) throw new Error('the recording is closed')
      for (const m of messages) {
        let file = this.#file as OpenFile
        const maxBytes = this.#options.maxBytes
        if (maxBytes !== undefined && file.writable.position() >= BigInt(maxBytes)) {
          await file.close()
          file = await this.#openNext()
          this.#file = file
        }
        await file.add(topicFromFrame(m.topicFrame), m.payload, m.logTimeNs, m.source)
        this.messages++
        this.bytes += m.payload.byteLength
      }
    })
  }

  /** Ends the file properly (chunk, summary, footer); safe to call twice. */
  close(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) return
      this.#closed = true
      await this.#file?.close()
    })
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(() => {
      if (this.#failure) throw this.#failure
      return step()
    })
    this.#tail = run.catch((error: unknown) => {
      this.#failure ??= error as Error
    })
    return run
  }

  async #openNext(): Promise<OpenFile> {
    const filePath =
      this.#options.maxBytes === undefined ? this.#basePath : numbered(this.#basePath, this.#index)
    this.#index++
    const file = await OpenFile.create(filePath, this.#options, this.#chunkBytes)
    this.files.push(filePath)
    return file
  }
}

/** `out.mcap` → `out_0.mcap`, as `ros2 bag` numbers its split files. */
function numbered(filePath: string, index: number): string {
  const ext = path.extname(filePath) || '.mcap'
  const stem = filePath.slice(0, filePath.length - path.extname(filePath).length)
  return `${stem}_${index}${ext}`
}

/** One MCAP file being written, with its channels. */
class OpenFile {
  readonly writable: FileHandleWritable
  readonly #handle: Awaited<ReturnType<typeof open>>
  readonly #writer: McapWriter
  readonly #options: RecordingWriterOptions
  readonly #channels = new Map<string, number>()
  #sequence = 0

  private constructor(
    handle: Awaited<ReturnType<typeof open>>,
    writer: McapWriter,
    writable: FileHandleWritable,
    options: RecordingWriterOptions,
  ) {
    this.#handle = handle
    this.#writer = writer
    this.writable = writable
    this.#options = options
  }

  static async create(
    filePath: string,
    options: RecordingWriterOptions,
    chunkBytes: number,
  ): Promise<OpenFile> {
    const handle = await open(filePath, 'w')
    const writable = new FileHandleWritable(handle)
    const writer = new McapWriter({
      writable,
      chunkSize: chunkBytes,
      compressChunk: options.compression === 'zstd' ? compressZstd : undefined,
    })
    const file = new OpenFile(handle, writer, writable, options)
    await writer.start({ profile: PROFILE, library: LIBRARY })
    const { source } = options
    await writer.addMetadata({
      name: METADATA_NAME,
      metadata: new Map([
        [CHANNEL_KEYS.endpoint, source.endpoint],
        [CHANNEL_KEYS.socket, source.socket],
        ...Object.entries(source.extra ?? {}),
      ]),
    })
    return file
  }

  async add(
    topic: string,
    payload: Uint8Array,
    logTimeNs: bigint,
    from: RecordingSource | undefined,
  ): Promise<void> {
    // A channel per socket and topic: each says which socket and endpoints its messages came from.
    const source = from ?? this.#options.source
    const key = `${source.socket}\n${topic}`
    let channelId = this.#channels.get(key)
    if (channelId === undefined) {
      channelId = await this.#writer.registerChannel({
        topic,
        schemaId: 0,
        messageEncoding: ENCODINGS[this.#options.encoding ?? 'bytes'],
        metadata: new Map([
          [CHANNEL_KEYS.endpoint, source.endpoint],
          [CHANNEL_KEYS.socket, source.socket],
          [CHANNEL_KEYS.topicEncoding, 'latin1'],
        ]),
      })
      this.#channels.set(key, channelId)
    }
    await this.#writer.addMessage({
      channelId,
      sequence: this.#sequence++,
      logTime: logTimeNs,
      publishTime: logTimeNs,
      data: payload,
    })
  }

  async close(): Promise<void> {
    try {
      await this.#writer.end()
    } finally {
      await this.#handle.close()
    }
  }
}

function compressZstd(chunk: Uint8Array): { compression: string; compressedData: Uint8Array } {
  return { compression: 'zstd', compressedData: loadedZstd().compress(chunk) }
}
