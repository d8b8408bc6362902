import { open } from 'node:fs/promises'
import { FileHandleReadable } from '@mcap/nodejs'
import { decompressHandlers } from './codecs'
import { CHANNEL_KEYS, frameFromTopic, METADATA_NAME } from './format'
import { McapIndexedReader, type MessageRecord, type Statistics } from './mcap'

/** A file that is not a readable MCAP recording; the message is one line for the user. */
export class RecordingError extends Error {
  override readonly name = 'RecordingError'
  /** True when the file could not be opened at all; false when its content is not usable. */
  readonly unreadable: boolean

  constructor(message: string, unreadable = false) {
    super(message)
    this.unreadable = unreadable
  }
}

/** One recorded message: the two frames as they were received, and when. */
export interface RecordedMessage {
  readonly topic: string
  /** The topic frame's bytes (see format.ts: latin1 for our files, UTF-8 for others). */
  readonly topicFrame: Buffer
  readonly payload: Uint8Array
  /** Receive time, nanoseconds since the epoch. */
  readonly logTimeNs: bigint
}

export interface ChannelInfo {
  readonly topic: string
  readonly messageEncoding: string
  readonly metadata: ReadonlyMap<string, string>
}

export interface ReadOptions {
  /** Only these exact topics; all when undefined. */
  readonly topics?: readonly string[]
  /** Log times from (inclusive) and to (inclusive), ns since the epoch. */
  readonly startNs?: bigint
  readonly endNs?: bigint
}

/**
 * An MCAP file opened for reading through its index (summary and footer). A file without one,
 * such as a recording cut off by a crash or a full disk, is refused with one clear line.
 */
export class Recording {
  readonly path: string
  readonly #handle: Awaited<ReturnType<typeof open>>
  readonly #reader: McapIndexedReader

  private constructor(
    filePath: string,
    handle: Awaited<ReturnType<typeof open>>,
    reader: McapIndexedReader,
  ) {
    this.path = filePath
    this.#handle = handle
    this.#reader = reader
  }

  static async open(filePath: string): Promise<Recording> {
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(filePath, 'r')
    } catch (error) {
      throw new RecordingError(`cannot read ${filePath}: ${(error as Error).message}`, true)
    }
    try {
      const reader = await McapIndexedReader.Initialize({
        readable: new FileHandleReadable(handle),
        decompressHandlers: await decompressHandlers(),
      })
      return new Recording(filePath, handle, reader)
    } catch (error) {
      await handle.close()
      throw new RecordingError(
        `${filePath} is not a complete MCAP file (${(error as Error).message}); a recording that was cut off before its end (crash, SIGKILL, full disk) has no summary or footer`,
      )
    }
  }

  /** Chunk compressions in use, with their chunk counts. */
  get compressions(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const c of this.#reader.chunkIndexes)
      counts.set(c.compression || 'none', (counts.get(c.compression || 'none') ?? 0) + 1)
    return counts
  }

  get library(): string {
    return this.#reader.header.library
  }

  get channels(): ChannelInfo[] {
    return [...this.#reader.channelsById.values()].map((c) => ({
      topic: c.topic,
      messageEncoding: c.messageEncoding,
      metadata: c.metadata,
    }))
  }

  get statistics(): Statistics | undefined {
    return this.#reader.statistics
  }

  /** The file-level metadata zmq-container writes (empty for other writers' files). */
  async metadata(): Promise<Map<string, string>> {
    const merged = new Map<string, string>()
    for await (const m of this.#reader.readMetadata({ name: METADATA_NAME }))
      for (const [k, v] of m.metadata) merged.set(k, v)
    return merged
  }

  /** Messages in log-time order. A damaged chunk rejects with a {@link RecordingError}. */
  async *messages(options: ReadOptions = {}): AsyncGenerator<RecordedMessage> {
    const byId = this.#reader.channelsById
    const frames = new Map<number, Buffer>()
    for (const [id, c] of byId)
      frames.set(
        id,
        c.metadata.get(CHANNEL_KEYS.topicEncoding) === 'latin1'
          ? frameFromTopic(c.topic)
          : Buffer.from(c.topic, 'utf8'),
      )
    const iterator = this.#reader.readMessages({
      topics: options.topics,
      startTime: options.startNs,
      endTime: options.endNs,
    })
    for (;;) {
      let next: IteratorResult<MessageRecord>
      try {
        next = await iterator.next()
      } catch (error) {
        throw new RecordingError(`${this.path}: ${(error as Error).message}`)
      }
      if (next.done) return
      const m = next.value
      yield {
        topic: byId.get(m.channelId)?.topic ?? '',
        topicFrame: frames.get(m.channelId) ?? Buffer.alloc(0),
        payload: m.data,
        logTimeNs: m.logTime,
      }
    }
  }

  async close(): Promise<void> {
    await this.#handle.close()
  }
}
