import { type FileHandle, open } from 'node:fs/promises'
import path from 'node:path'
import { LAYOUT_WORDS } from '../shared/record-batch'
import { ChunkedMcapWriter, LogTime } from './chunked-writer'
import { loadedZstd, loadZstd } from './codecs'
import {
  BatchRefusedError,
  CHANNEL_KEYS,
  type Compression,
  ENCODINGS,
  LIBRARY,
  METADATA_NAME,
  type PayloadEncoding,
  PROFILE,
  topicFromFrame,
} from './format'

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

/**
 * Messages back to back in `data` (topic frame, then payload), with LAYOUT_WORDS numbers each in
 * `layout`: topic length, payload length, receive time in ms since the epoch (fractional). This
 * is how the container's receive threads batch them (shared/record-batch.ts).
 */
export interface PackedMessages {
  /** The receiving socket, when it is not the file's source. */
  readonly source?: RecordingSource
  readonly data: Uint8Array
  readonly layout: Float64Array
}

/** MCAP's own default chunk size: large chunks compress well and index cheaply. */
const CHUNK_BYTES = 1024 * 1024
/** The smallest chunk when --max-bytes is small, so that splitting still has a meaning. */
const MIN_CHUNK_BYTES = 4 * 1024

/**
 * Writes ZeroMQ messages to MCAP: a channel per topic, log time = receive time. A file must not
 * be written again before its previous write has settled, so every call goes through one
 * promise chain; `add` may be called without awaiting and order is kept.
 */
export class RecordingWriter {
  readonly #basePath: string
  readonly #options: RecordingWriterOptions
  readonly #chunkBytes: number
  readonly #maxBytes: number | undefined
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
    this.#maxBytes = options.maxBytes
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
   * Resolves once it is in the writer (copied into a chunk in memory, or in the file); a write
   * error rejects this call and every later one.
   */
  add(topicFrame: Uint8Array, payload: Uint8Array, logTimeNs: bigint): Promise<void> {
    return this.addBatch([{ topicFrame, payload, logTimeNs }])
  }

  /** Several messages in one step of the chain: cheaper per message than `add`. */
  addBatch(messages: readonly MessageToWrite[]): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) throw new Error('the recording is closed')
      const logTime = new LogTime()
      for (let added = 0; added < messages.length; added++) {
        const m = messages[added] as MessageToWrite
        const file = this.#fileFull() ? await this.#nextFile() : (this.#file as OpenFile)
        const { topicFrame, payload } = m
        logTime.setNanos(m.logTimeNs)
        let full: boolean
        try {
          full = file.add(
            topicFrame,
            0,
            topicFrame.byteLength,
            payload,
            0,
            payload.byteLength,
            logTime,
            m.source,
          )
        } catch (error) {
          throw new BatchRefusedError(added, error)
        }
        this.messages++
        this.bytes += payload.byteLength
        if (full) await file.writer.flushChunk()
      }
    })
  }

  /**
   * Messages packed back to back, as the container's receive threads batch them: no object per
   * message on the way in, and the topic frame is compared as bytes with those of the last few
   * channels (a batch is mostly one topic), so a message costs a copy into the chunk and a few
   * numbers.
   */
  addPacked(packed: PackedMessages): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) throw new Error('the recording is closed')
      const { data, layout, source } = packed
      const logTime = new LogTime()
      let offset = 0
      for (let i = 0; i + LAYOUT_WORDS <= layout.length; i += LAYOUT_WORDS) {
        const topicLength = layout[i] as number
        const payloadLength = layout[i + 1] as number
        const payloadAt = offset + topicLength
        const file = this.#fileFull() ? await this.#nextFile() : (this.#file as OpenFile)
        // Receive times are kept to the µs, as msToNs gives them.
        logTime.setMicros(Math.round((layout[i + 2] as number) * 1000))
        let full: boolean
        try {
          full = file.add(
            data,
            offset,
            topicLength,
            data,
            payloadAt,
            payloadLength,
            logTime,
            source,
          )
        } catch (error) {
          throw new BatchRefusedError(i / LAYOUT_WORDS, error)
        }
        offset = payloadAt + payloadLength
        this.messages++
        this.bytes += payloadLength
        if (full) await file.writer.flushChunk()
      }
    })
  }

  /** The file has reached --max-bytes: the next message goes to the next numbered one. */
  #fileFull(): boolean {
    return (
      this.#maxBytes !== undefined && (this.#file as OpenFile).writer.position >= this.#maxBytes
    )
  }

  async #nextFile(): Promise<OpenFile> {
    await this.#file?.close()
    this.#file = await this.#openNext()
    return this.#file
  }

  /**
   * Ends the file properly (chunk, summary, footer) and closes it; safe to call twice. After a
   * failed add too: a file whose writes all landed still ends properly (a message refused for a
   * 65,537th topic, say), and the handle is closed either way. Rejects with the first failure.
   */
  close(): Promise<void> {
    const run = this.#tail.then(async () => {
      if (!this.#closed) {
        this.#closed = true
        try {
          await this.#file?.close()
        } catch (error) {
          this.#failure ??= error as Error
        }
      }
      if (this.#failure) throw this.#failure
    })
    this.#tail = run.catch(() => {})
    return run
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
  readonly writer: ChunkedMcapWriter
  readonly #handle: FileHandle
  readonly #options: RecordingWriterOptions
  readonly #channels = new Map<string, number>()
  /**
   * The channels of the last few topics seen, compared as bytes before any string is made: most
   * messages share their predecessor's, and a socket that interleaves a few topics finds them here.
   */
  readonly #recent: RecentChannel[] = []
  /** Where the next channel not in #recent goes (the oldest entry, once it is full). */
  #recentNext = 0
  #sequence = 0

  private constructor(
    handle: FileHandle,
    writer: ChunkedMcapWriter,
    options: RecordingWriterOptions,
  ) {
    this.#handle = handle
    this.writer = writer
    this.#options = options
  }

  static async create(
    filePath: string,
    options: RecordingWriterOptions,
    chunkBytes: number,
  ): Promise<OpenFile> {
    const handle = await open(filePath, 'w')
    const writer = new ChunkedMcapWriter((parts) => writeAll(handle, parts), {
      chunkBytes,
      compressChunk: options.compression === 'zstd' ? compressZstd : undefined,
    })
    const file = new OpenFile(handle, writer, options)
    try {
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
    } catch (error) {
      await handle.close()
      throw error
    }
    return file
  }

  /**
   * One message, its topic frame `frames[topicAt..topicAt + topicLength]`, copied into the
   * chunk before this returns. True when the chunk is full: await `flushChunk()` first.
   */
  add(
    frames: Uint8Array,
    topicAt: number,
    topicLength: number,
    payload: Uint8Array,
    payloadAt: number,
    payloadLength: number,
    logTime: LogTime,
    from: RecordingSource | undefined,
  ): boolean {
    const source = from ?? this.#options.source
    let channelId = -1
    for (const recent of this.#recent) {
      if (recent.source === source && sameBytes(recent.topic, frames, topicAt, topicLength)) {
        channelId = recent.id
        break
      }
    }
    if (channelId < 0)
      channelId = this.#channelFor(frames.slice(topicAt, topicAt + topicLength), source)
    return this.writer.addMessage(
      channelId,
      this.#sequence++,
      logTime,
      payload,
      payloadAt,
      payloadLength,
    )
  }

  /**
   * A channel per socket and topic, each saying which socket and endpoints its messages came
   * from: registered at its first message, and remembered among the recent ones.
   */
  #channelFor(topicFrame: Uint8Array, source: RecordingSource): number {
    const topic = topicFromFrame(topicFrame)
    const key = `${source.socket}\n${topic}`
    let id = this.#channels.get(key)
    if (id === undefined) {
      id = this.writer.registerChannel({
        topic,
        messageEncoding: ENCODINGS[this.#options.encoding ?? 'bytes'],
        metadata: new Map([
          [CHANNEL_KEYS.endpoint, source.endpoint],
          [CHANNEL_KEYS.socket, source.socket],
          [CHANNEL_KEYS.topicEncoding, 'latin1'],
        ]),
      })
      this.#channels.set(key, id)
    }
    this.#recent[this.#recentNext] = { source, topic: topicFrame, id }
    this.#recentNext = (this.#recentNext + 1) % RECENT_CHANNELS
    return id
  }

  async close(): Promise<void> {
    try {
      await this.writer.end()
    } finally {
      await this.#handle.close()
    }
  }
}

/** Topics whose channels a file remembers by their bytes (see OpenFile.#recent). */
const RECENT_CHANNELS = 8

interface RecentChannel {
  readonly source: RecordingSource
  readonly topic: Uint8Array
  readonly id: number
}

/** Writes every byte of `parts`: a write may take fewer than it was given (a pipe, a signal). */
export async function writeAll(
  handle: Pick<FileHandle, 'writev'>,
  parts: readonly Uint8Array[],
): Promise<void> {
  let left = parts.filter((part) => part.length > 0)
  while (left.length > 0) {
    let { bytesWritten } = await handle.writev(left)
    if (bytesWritten === 0) throw new Error('a write took no bytes')
    const rest: Uint8Array[] = []
    for (const part of left) {
      if (bytesWritten >= part.length) bytesWritten -= part.length
      else {
        rest.push(part.subarray(bytesWritten))
        bytesWritten = 0
      }
    }
    left = rest
  }
}

function compressZstd(chunk: Uint8Array): { compression: string; compressedData: Uint8Array } {
  return { compression: 'zstd', compressedData: loadedZstd().compress(chunk) }
}

/** `a` equals `bytes[at..at + length]`: a topic is a few bytes, so a loop beats a view and a call. */
function sameBytes(a: Uint8Array, bytes: Uint8Array, at: number, length: number): boolean {
  if (a.length !== length) return false
  for (let i = 0; i < length; i++) if (a[i] !== bytes[at + i]) return false
  return true
}
