import { crc32Combine } from './crc32-combine'
import { MCAP_MAGIC, McapRecordBuilder, type McapTypes, Opcode } from './mcap'
import { crc32 } from './native-crc32'

/**
 * Writes an MCAP file as @mcap/core's McapWriter does with its default options (chunked, indexed,
 * with statistics and summary offsets, no schemas, no attachments): for the same calls the bytes
 * are the same, which a test checks against McapWriter itself. It exists because McapWriter's
 * cost per message was most of a container recorder's CPU, taken from the receive threads on a
 * small machine:
 * - McapWriter goes over each message's bytes seven times on the way to the file (into the
 *   chunk, a copy of the chunk and its CRC, into the chunk record, a copy of that and its CRC,
 *   another copy for the write). Here they are copied once, into the chunk, and the chunk is
 *   written from there: one pass for its CRC (the data section's is combined from it) and the
 *   write.
 * - Per message it allocates BigInts, a two-element index array and a promise. Here times are
 *   two 32-bit halves and the message index is typed arrays; a message is a synchronous call,
 *   and only a full chunk has something to await.
 * The records written once per file or per chunk (header, channels, summary, indexes) still come
 * from @mcap/core's McapRecordBuilder, so their layout is the library's.
 */

/** Writes all of `parts`, in order, at the file's current end. */
type Sink = (parts: readonly Uint8Array[]) => Promise<void>

export interface NewChannel {
  readonly topic: string
  readonly messageEncoding: string
  readonly metadata: ReadonlyMap<string, string>
}

interface ChunkedWriterOptions {
  /** A chunk is written once its records pass this size (so it ends one message past it). */
  readonly chunkBytes: number
  readonly compressChunk?: (records: Uint8Array) => {
    compression: string
    compressedData: Uint8Array
  }
}

type ChunkIndex = McapTypes.ChunkIndex
type MetadataIndex = McapTypes.MetadataIndex

/** Opcode, length, channel id, sequence, log time, publish time: the message record before its data. */
const MESSAGE_HEADER_BYTES = 1 + 8 + 2 + 4 + 8 + 8
/** Room for more messages than a chunk's records usually hold before the first growth. */
const INDEX_START_ENTRIES = 4096
const TWO_32 = 2 ** 32
const CHANNEL_IDS = 65536

/**
 * An MCAP time, u64 nanoseconds since the epoch, as two 32-bit halves: set, compared and written
 * with no BigInt. One can be reused for every message.
 */
export class LogTime {
  low = 0
  high = 0

  set(low: number, high: number): this {
    this.low = low
    this.high = high
    return this
  }

  /**
   * From a whole number of µs below 2^53: µs = h·2^32 + l, so ns = 1000h·2^32 + 1000l, and
   * 1000l < 2^42 is exact in a double.
   */
  setMicros(us: number): this {
    const l = us % TWO_32
    return this.set(
      (l * 1000) % TWO_32,
      Math.floor(us / TWO_32) * 1000 + Math.floor((l * 1000) / TWO_32),
    )
  }

  setNanos(ns: bigint): this {
    return this.set(Number(ns & 0xffffffffn), Number(ns >> 32n))
  }

  copyTo(other: LogTime): void {
    other.set(this.low, this.high)
  }

  /** Takes the time if it is earlier; true if it did. */
  lower(low: number, high: number): boolean {
    if (high > this.high || (high === this.high && low >= this.low)) return false
    this.set(low, high)
    return true
  }

  /** Takes the time if it is later; true if it did. */
  raise(low: number, high: number): boolean {
    if (high < this.high || (high === this.high && low <= this.low)) return false
    this.set(low, high)
    return true
  }

  writeTo(view: DataView, at: number): void {
    view.setUint32(at, this.low, true)
    view.setUint32(at + 4, this.high, true)
  }

  bigint(): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low)
  }
}

export class ChunkedMcapWriter {
  readonly #sink: Sink
  readonly #options: ChunkedWriterOptions
  /** Records of the chunk being filled, from offset 0; reused once a chunk is written. */
  #chunk: Buffer
  #chunkView: DataView
  #chunkUsed = 0
  #chunkMessages = 0
  readonly #chunkStart = new LogTime()
  readonly #chunkEnd = new LogTime()
  /** The chunk's message index: per message its channel, log time halves and record offset. */
  #indexChannel = new Uint16Array(INDEX_START_ENTRIES)
  #indexTime = new Uint32Array(INDEX_START_ENTRIES * 2)
  #indexOffset = new Float64Array(INDEX_START_ENTRIES)
  /** Channels in the chunk in the order they first appear, and each one's message count. */
  readonly #chunkChannels: number[] = []
  readonly #chunkChannelMessages = new Uint32Array(CHANNEL_IDS)
  readonly #channels: McapTypes.Channel[] = []
  readonly #channelWritten = new Uint8Array(CHANNEL_IDS)
  readonly #chunkIndexes: ChunkIndex[] = []
  readonly #metadataIndexes: MetadataIndex[] = []
  /** Statistics: per channel in the order of its first message, and the file's time span. */
  readonly #channelMessages = new Float64Array(CHANNEL_IDS)
  readonly #channelsWithMessages: number[] = []
  #messages = 0
  #chunks = 0
  readonly #start = new LogTime()
  readonly #end = new LogTime()
  /** The finished CRC-32 of the data section so far (crc32 continues from a finished one). */
  #dataCrc = 0
  #position = 0
  #flushing = false
  #failed: Error | undefined

  constructor(sink: Sink, options: ChunkedWriterOptions) {
    this.#sink = sink
    this.#options = options
    this.#chunk = Buffer.allocUnsafe(options.chunkBytes + 64 * 1024)
    this.#chunkView = viewOf(this.#chunk)
  }

  /** Bytes handed to the sink: a chunk counts once it is written. */
  get position(): number {
    return this.#position
  }

  /** The leading magic and the header record. */
  start(header: McapTypes.Header): Promise<void> {
    const builder = new McapRecordBuilder()
    builder.writeMagic()
    builder.writeHeader(header)
    return this.#writeData([builder.buffer])
  }

  /** A metadata record in the data section, indexed in the summary. */
  addMetadata(metadata: McapTypes.Metadata): Promise<void> {
    const builder = new McapRecordBuilder()
    const length = builder.writeMetadata(metadata)
    this.#metadataIndexes.push({ name: metadata.name, offset: BigInt(this.#position), length })
    return this.#writeData([builder.buffer])
  }

  /** A channel without a schema; its record goes into the chunk of its first message. */
  registerChannel(info: NewChannel): number {
    const id = this.#channels.length
    if (id >= CHANNEL_IDS) throw new Error(`MCAP has room for ${CHANNEL_IDS} channels per file`)
    this.#channels.push({ id, schemaId: 0, ...info, metadata: new Map(info.metadata) })
    return id
  }

  /**
   * One message record, its data `bytes[at..at + length]`, at `logTime` (the publish time is
   * the same; the writer keeps the value, not the object). True when the chunk is full: await
   * `flushChunk()` before the next call.
   */
  addMessage(
    channelId: number,
    sequence: number,
    logTime: LogTime,
    bytes: Uint8Array,
    at: number,
    length: number,
  ): boolean {
    if (this.#flushing) throw new Error('addMessage while a chunk is being written')
    if (!this.#channelWritten[channelId]) this.#writeChannel(channelId)
    const recordBytes = MESSAGE_HEADER_BYTES + length
    if (this.#chunkUsed + recordBytes > this.#chunk.length) this.#grow(recordBytes)
    const timeLow = logTime.low
    const timeHigh = logTime.high
    const offset = this.#chunkUsed
    this.#index(channelId, timeLow, timeHigh, offset)
    const view = this.#chunkView
    view.setUint8(offset, Opcode.MESSAGE)
    setUint64(view, offset + 1, recordBytes - 9)
    view.setUint16(offset + 9, channelId, true)
    view.setUint32(offset + 11, sequence, true)
    view.setUint32(offset + 15, timeLow, true)
    view.setUint32(offset + 19, timeHigh, true)
    view.setUint32(offset + 23, timeLow, true)
    view.setUint32(offset + 27, timeHigh, true)
    Buffer.prototype.copy.call(bytes, this.#chunk, offset + MESSAGE_HEADER_BYTES, at, at + length)
    this.#chunkUsed = offset + recordBytes
    return this.#chunkUsed > this.#options.chunkBytes
  }

  /** Writes the chunk being filled, with its message indexes; nothing if it has no message. */
  async flushChunk(): Promise<void> {
    if (this.#chunkMessages === 0) return
    this.#flushing = true
    try {
      await this.#writeChunk()
    } finally {
      this.#flushing = false
    }
  }

  /** The last chunk, the data end, the summary and the footer. */
  async end(): Promise<void> {
    await this.flushChunk()
    const dataEnd = new McapRecordBuilder()
    dataEnd.writeDataEnd({ dataSectionCrc: this.#dataCrc })
    await this.#write([dataEnd.buffer])
    await this.#write([this.#summary()])
  }

  #writeChannel(channelId: number): void {
    const channel = this.#channels[channelId]
    if (!channel) throw new Error(`no channel ${channelId}`)
    const builder = new McapRecordBuilder()
    builder.writeChannel(channel)
    const record = builder.buffer
    if (this.#chunkUsed + record.length > this.#chunk.length) this.#grow(record.length)
    this.#chunk.set(record, this.#chunkUsed)
    this.#chunkUsed += record.length
    this.#channelWritten[channelId] = 1
  }

  #index(channelId: number, timeLow: number, timeHigh: number, offset: number): void {
    const i = this.#chunkMessages
    if (i === this.#indexChannel.length) this.#growIndex()
    this.#indexChannel[i] = channelId
    this.#indexTime[2 * i] = timeLow
    this.#indexTime[2 * i + 1] = timeHigh
    this.#indexOffset[i] = offset
    this.#chunkMessages = i + 1
    const inChunk = this.#chunkChannelMessages[channelId] as number
    this.#chunkChannelMessages[channelId] = inChunk + 1
    // Its record, if any, came just before this message: listed from here, as McapWriter does.
    if (inChunk === 0) this.#chunkChannels.push(channelId)
    const inFile = this.#channelMessages[channelId] as number
    this.#channelMessages[channelId] = inFile + 1
    if (inFile === 0) this.#channelsWithMessages.push(channelId)
    if (i === 0) this.#chunkStart.set(timeLow, timeHigh).copyTo(this.#chunkEnd)
    else this.#chunkStart.lower(timeLow, timeHigh) || this.#chunkEnd.raise(timeLow, timeHigh)
    if (this.#messages++ === 0) this.#start.set(timeLow, timeHigh).copyTo(this.#end)
    else this.#start.lower(timeLow, timeHigh) || this.#end.raise(timeLow, timeHigh)
  }

  async #writeChunk(): Promise<void> {
    const records = this.#chunk.subarray(0, this.#chunkUsed)
    const uncompressedCrc = crc32(records)
    const { compression, compressedData } = this.#options.compressChunk?.(records) ?? {
      compression: '',
      compressedData: records,
    }
    const compressionBytes = Buffer.from(compression)
    const header = Buffer.alloc(1 + 8 + 8 + 8 + 8 + 4 + 4 + compressionBytes.length + 8)
    const view = viewOf(header)
    view.setUint8(0, Opcode.CHUNK)
    setUint64(view, 1, header.length - 9 + compressedData.length)
    this.#chunkStart.writeTo(view, 9)
    this.#chunkEnd.writeTo(view, 17)
    setUint64(view, 25, records.length)
    view.setUint32(33, uncompressedCrc, true)
    view.setUint32(37, compressionBytes.length, true)
    header.set(compressionBytes, 41)
    setUint64(view, 41 + compressionBytes.length, compressedData.length)

    const chunkStartOffset = this.#position
    const chunkLength = header.length + compressedData.length
    const { indexes, offsets } = this.#messageIndexes(chunkStartOffset + chunkLength)
    this.#chunkIndexes.push({
      messageStartTime: this.#chunkStart.bigint(),
      messageEndTime: this.#chunkEnd.bigint(),
      chunkStartOffset: BigInt(chunkStartOffset),
      chunkLength: BigInt(chunkLength),
      messageIndexOffsets: offsets,
      messageIndexLength: BigInt(indexes.length),
      compression,
      compressedSize: BigInt(compressedData.length),
      uncompressedSize: BigInt(records.length),
    })
    this.#chunks++
    // The data section's CRC goes over the chunk again; uncompressed records have theirs.
    this.#dataCrc = crc32(header, this.#dataCrc)
    this.#dataCrc =
      compressedData === records
        ? crc32Combine(this.#dataCrc, uncompressedCrc, records.length)
        : crc32(compressedData, this.#dataCrc)
    this.#dataCrc = crc32(indexes, this.#dataCrc)
    await this.#write([header, compressedData, indexes])
    for (const channelId of this.#chunkChannels) this.#chunkChannelMessages[channelId] = 0
    this.#chunkChannels.length = 0
    this.#chunkUsed = 0
    this.#chunkMessages = 0
  }

  /** The chunk's message index records, a channel each in order of appearance, from `at`. */
  #messageIndexes(at: number): { indexes: Buffer; offsets: Map<number, bigint> } {
    const channels = this.#chunkChannels
    const count = this.#chunkChannelMessages
    let total = 0
    for (const id of channels) total += 9 + 2 + 4 + 16 * (count[id] as number)
    const indexes = Buffer.alloc(total)
    const view = viewOf(indexes)
    const offsets = new Map<number, bigint>()
    // Where each channel's next entry goes.
    const next = new Map<number, number>()
    let recordAt = 0
    for (const id of channels) {
      const entries = count[id] as number
      offsets.set(id, BigInt(at + recordAt))
      view.setUint8(recordAt, Opcode.MESSAGE_INDEX)
      setUint64(view, recordAt + 1, 2 + 4 + 16 * entries)
      view.setUint16(recordAt + 9, id, true)
      view.setUint32(recordAt + 11, 16 * entries, true)
      next.set(id, recordAt + 15)
      recordAt += 15 + 16 * entries
    }
    for (let i = 0; i < this.#chunkMessages; i++) {
      const id = this.#indexChannel[i] as number
      const entryAt = next.get(id) as number
      view.setUint32(entryAt, this.#indexTime[2 * i] as number, true)
      view.setUint32(entryAt + 4, this.#indexTime[2 * i + 1] as number, true)
      setUint64(view, entryAt + 8, this.#indexOffset[i] as number)
      next.set(id, entryAt + 16)
    }
    return { indexes, offsets }
  }

  /** Channels, statistics, metadata and chunk indexes, summary offsets, footer, magic. */
  #summary(): Uint8Array {
    const summaryStart = this.#position
    const builder = new McapRecordBuilder()
    const groups: McapTypes.SummaryOffset[] = []
    const group = (groupOpcode: number, write: () => void): void => {
      const groupStart = builder.length
      write()
      const groupLength = builder.length - groupStart
      if (groupLength > 0)
        groups.push({
          groupOpcode,
          groupStart: BigInt(summaryStart + groupStart),
          groupLength: BigInt(groupLength),
        })
    }
    group(Opcode.CHANNEL, () => {
      for (const channel of this.#channels) builder.writeChannel(channel)
    })
    group(Opcode.STATISTICS, () => {
      builder.writeStatistics({
        messageCount: BigInt(this.#messages),
        schemaCount: 0,
        channelCount: this.#channels.length,
        attachmentCount: 0,
        metadataCount: this.#metadataIndexes.length,
        chunkCount: this.#chunks,
        messageStartTime: this.#start.bigint(),
        messageEndTime: this.#end.bigint(),
        channelMessageCounts: new Map(
          this.#channelsWithMessages.map((id) => [id, BigInt(this.#channelMessages[id] as number)]),
        ),
      })
    })
    group(Opcode.METADATA_INDEX, () => {
      for (const index of this.#metadataIndexes) builder.writeMetadataIndex(index)
    })
    group(Opcode.CHUNK_INDEX, () => {
      for (const index of this.#chunkIndexes) builder.writeChunkIndex(index)
    })
    const summaryOffsetStart = summaryStart + builder.length
    for (const offset of groups) builder.writeSummaryOffset(offset)
    // The footer's CRC covers the summary up to and including its own two offsets.
    const footerStart = builder.length
    builder.writeFooter({
      summaryStart: BigInt(summaryStart),
      summaryOffsetStart: BigInt(summaryOffsetStart),
      summaryCrc: 0,
    })
    const bytes = builder.buffer
    const summaryCrc = crc32(bytes.subarray(0, footerStart + 1 + 8 + 8 + 8))
    viewOf(bytes).setUint32(footerStart + 1 + 8 + 8 + 8, summaryCrc, true)
    const file = new Uint8Array(bytes.length + MCAP_MAGIC.length)
    file.set(bytes)
    file.set(MCAP_MAGIC, bytes.length)
    return file
  }

  /** Data section bytes: counted in its CRC, then written. */
  #writeData(parts: readonly Uint8Array[]): Promise<void> {
    for (const part of parts) this.#dataCrc = crc32(part, this.#dataCrc)
    return this.#write(parts)
  }

  async #write(parts: readonly Uint8Array[]): Promise<void> {
    // After a failed write the file's end would not match what it holds: nothing more is written.
    if (this.#failed) throw new Error(`an earlier write failed: ${this.#failed.message}`)
    let bytes = 0
    for (const part of parts) bytes += part.length
    try {
      await this.#sink(parts)
    } catch (error) {
      this.#failed = error as Error
      throw error
    }
    this.#position += bytes
  }

  #grow(recordBytes: number): void {
    const grown = Buffer.allocUnsafe(
      Math.max(2 * this.#chunk.length, this.#chunkUsed + recordBytes),
    )
    this.#chunk.copy(grown, 0, 0, this.#chunkUsed)
    this.#chunk = grown
    this.#chunkView = viewOf(grown)
  }

  #growIndex(): void {
    const entries = this.#indexChannel.length * 2
    const channel = new Uint16Array(entries)
    channel.set(this.#indexChannel)
    const time = new Uint32Array(entries * 2)
    time.set(this.#indexTime)
    const offset = new Float64Array(entries)
    offset.set(this.#indexOffset)
    this.#indexChannel = channel
    this.#indexTime = time
    this.#indexOffset = offset
  }
}

/** A whole number below 2^53 as a little-endian u64. */
function setUint64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % TWO_32, true)
  view.setUint32(at + 4, Math.floor(value / TWO_32), true)
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
