// ChunkedMcapWriter must write what @mcap/core's McapWriter writes for the same calls, byte for
// byte: the library is the reference, so every record, index, offset and CRC is checked at once.
// The calls cover what the recorder does: channels first used in later chunks, channels coming
// back in later chunks, messages larger than a chunk, log times out of order and beyond 32 bits,
// zstd chunks, and a file with no message.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import type * as Mcap from '@mcap/core' with { 'resolution-mode': 'import' }
import { ChunkedMcapWriter, LogTime } from '../src/recording/chunked-writer'
import { loadedZstd, loadZstd } from '../src/recording/codecs'
import { McapWriter } from '../src/recording/mcap'
import { Recording } from '../src/recording/reader'
import { RecordingWriter, writeAll } from '../src/recording/writer'

const core = require('@mcap/core') as typeof Mcap

interface Call {
  readonly channel: number
  readonly logTimeNs: bigint
  readonly data: Uint8Array
}

interface Calls {
  readonly topics: readonly string[]
  readonly calls: readonly Call[]
  readonly chunkBytes: number
  readonly zstd?: boolean
}

/** A seeded generator, so a failure is the same failure on the next run. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

function recording(seed: number, messages: number, chunkBytes: number): Calls {
  const next = random(seed)
  const topics = ['camera.frame', 'control.cmd', 'log.line', 'topic.\u00e9', 'late.channel']
  const t0 = 1_700_000_000_123_456_789n
  const calls: Call[] = []
  for (let i = 0; i < messages; i++) {
    // The last channel only after the first third: its record lands in a later chunk.
    const channel = Math.floor(next() * (i < messages / 3 ? topics.length - 1 : topics.length))
    // Mostly a few bytes, now and then larger than a chunk.
    const size = next() < 0.05 ? chunkBytes * 2 + 17 : Math.floor(next() * 200)
    const data = new Uint8Array(size).map((_, j) => (i * 31 + j) & 0xff)
    // Mostly rising, sometimes earlier than the one before, and not always whole µs.
    const jitter = BigInt(Math.floor(next() * 5_000_000)) - 1_000_000n
    calls.push({ channel, logTimeNs: t0 + BigInt(i) * 1_000_000n + jitter, data })
  }
  return { topics, calls, chunkBytes }
}

const metadata = { name: 'zmq-container.recording', metadata: new Map([['zmq.socket', 'SUB']]) }
const header = { profile: '', library: 'zmq-container' }
const channelInfo = (topic: string) => ({
  topic,
  messageEncoding: 'application/octet-stream',
  metadata: new Map([['zmq.topic_encoding', 'latin1']]),
})

function compressZstd(records: Uint8Array) {
  return { compression: 'zstd', compressedData: loadedZstd().compress(records) }
}

async function withLibrary(r: Calls): Promise<Buffer> {
  const out = new core.TempBuffer()
  const writer = new McapWriter({
    writable: out,
    chunkSize: r.chunkBytes,
    compressChunk: r.zstd ? compressZstd : undefined,
  })
  await writer.start(header)
  await writer.addMetadata(metadata)
  const ids = new Map<number, number>()
  for (const [i, call] of r.calls.entries()) {
    let id = ids.get(call.channel)
    if (id === undefined) {
      id = await writer.registerChannel({
        schemaId: 0,
        ...channelInfo(r.topics[call.channel] ?? ''),
      })
      ids.set(call.channel, id)
    }
    await writer.addMessage({
      channelId: id,
      sequence: i,
      logTime: call.logTimeNs,
      publishTime: call.logTimeNs,
      data: call.data,
    })
  }
  await writer.end()
  return Buffer.from(out.get())
}

async function withOurs(r: Calls): Promise<Buffer> {
  const parts: Buffer[] = []
  const writer = new ChunkedMcapWriter(
    async (written) => {
      // Copied: the writer reuses its chunk buffer once a write has settled.
      for (const part of written) parts.push(Buffer.from(part))
    },
    { chunkBytes: r.chunkBytes, compressChunk: r.zstd ? compressZstd : undefined },
  )
  await writer.start(header)
  await writer.addMetadata(metadata)
  const ids = new Map<number, number>()
  const logTime = new LogTime()
  for (const [i, call] of r.calls.entries()) {
    let id = ids.get(call.channel)
    if (id === undefined) {
      id = writer.registerChannel(channelInfo(r.topics[call.channel] ?? ''))
      ids.set(call.channel, id)
    }
    // The data sits inside a larger buffer, as a packed batch's payloads do.
    const framed = Buffer.concat([Buffer.from('before'), call.data, Buffer.from('after')])
    logTime.setNanos(call.logTimeNs)
    if (writer.addMessage(id, i, logTime, framed, 6, call.data.length)) await writer.flushChunk()
  }
  await writer.end()
  const file = Buffer.concat(parts)
  assert.equal(writer.position, file.length, 'position counts every byte written')
  return file
}

async function assertSameBytes(r: Calls): Promise<Buffer> {
  const expected = await withLibrary(r)
  const actual = await withOurs(r)
  if (!actual.equals(expected)) {
    let at = 0
    while (at < actual.length && actual[at] === expected[at]) at++
    assert.fail(
      `${actual.length} bytes against McapWriter's ${expected.length}, first difference at byte ${at}`,
    )
  }
  return actual
}

/** Every record of a file, CRCs checked, as a streaming reader sees it. */
function streamRecords(file: Uint8Array, decompress = {}): Mcap.McapTypes.TypedMcapRecord[] {
  const reader = new core.McapStreamReader({ validateCrcs: true, decompressHandlers: decompress })
  reader.append(file)
  const records: Mcap.McapTypes.TypedMcapRecord[] = []
  for (let record = reader.nextRecord(); record; record = reader.nextRecord()) records.push(record)
  assert.ok(reader.done(), 'the reader reached the end magic')
  return records
}

describe('ChunkedMcapWriter', () => {
  it('writes the bytes McapWriter writes: many chunks, channels late and back, large messages', async () => {
    const r = recording(1, 600, 1024)
    const file = await assertSameBytes(r)
    const records = streamRecords(file)
    const messages = records.filter((record) => record.type === 'Message')
    assert.equal(messages.length, r.calls.length)
    const chunks = records.filter((record) => record.type === 'ChunkIndex').length
    assert.ok(chunks > 20, `${chunks} chunks: the calls must span many`)
  })

  it('ends a chunk one message past its size, not at it, as McapWriter does', async () => {
    // 31 bytes of record header + 33 of data: a chunk after the first holds exactly 640 bytes
    // after 10 messages, and must take an 11th.
    const calls = Array.from({ length: 100 }, (_, i) => ({
      channel: 0,
      logTimeNs: BigInt(i) * 1000n,
      data: new Uint8Array(33).fill(i),
    }))
    await assertSameBytes({ topics: ['t.a'], calls, chunkBytes: 640 })
  })

  it('writes the bytes McapWriter writes with 1 MiB chunks, as recordings do', async () => {
    await assertSameBytes(recording(2, 3000, 1024 * 1024))
  })

  it('writes the bytes McapWriter writes with zstd chunks', async () => {
    await loadZstd()
    await assertSameBytes({ ...recording(3, 400, 2048), zstd: true })
  })

  it('writes the bytes McapWriter writes for a file with no message', async () => {
    const file = await assertSameBytes({ topics: [], calls: [], chunkBytes: 1024 })
    assert.deepEqual(
      streamRecords(file).map((record) => record.type),
      ['Header', 'Metadata', 'DataEnd', 'Statistics', 'MetadataIndex', 'SummaryOffset'].concat(
        'SummaryOffset',
        'Footer',
      ),
    )
  })

  it('a message is copied when added: its buffer may be reused at once', async () => {
    const parts: Buffer[] = []
    const writer = new ChunkedMcapWriter(
      async (written) => {
        for (const part of written) parts.push(Buffer.from(part))
      },
      { chunkBytes: 1024 },
    )
    await writer.start(header)
    const id = writer.registerChannel(channelInfo('t.a'))
    const bytes = Buffer.from('first')
    writer.addMessage(id, 0, new LogTime().setMicros(1), bytes, 0, bytes.length)
    bytes.write('xxxxx')
    await writer.end()
    const [message] = streamRecords(Buffer.concat(parts)).filter((m) => m.type === 'Message')
    assert.equal(message?.type === 'Message' && Buffer.from(message.data).toString(), 'first')
  })
})

describe('ChunkedMcapWriter after a failed write', () => {
  it('writes nothing more: the next flush and the end reject, and the sink is not called again', async () => {
    let calls = 0
    const writer = new ChunkedMcapWriter(
      async () => {
        calls++
        // The header goes through; the first chunk finds the disk full.
        if (calls > 1) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' })
      },
      { chunkBytes: 64 },
    )
    await writer.start(header)
    const id = writer.registerChannel(channelInfo('t.a'))
    const bytes = new Uint8Array(100)
    const time = new LogTime().setMicros(1)
    assert.equal(writer.addMessage(id, 0, time, bytes, 0, bytes.length), true)
    await assert.rejects(writer.flushChunk(), /no space left/)
    const writesSoFar = calls
    assert.equal(writer.addMessage(id, 1, time, bytes, 0, bytes.length), true)
    await assert.rejects(writer.flushChunk(), /an earlier write failed: no space left/)
    await assert.rejects(writer.end(), /an earlier write failed/)
    assert.equal(calls, writesSoFar, 'no write after the failure')
  })
})

describe('RecordingWriter', () => {
  it('refuses a 65,537th topic in a file, and still ends the file with the 65,536 it has', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zc-channels-'))
    try {
      const file = path.join(dir, 'many.mcap')
      const writer = await RecordingWriter.open(file, { source: { endpoint: 'e', socket: 's' } })
      const payload = new Uint8Array(1)
      const messages = Array.from({ length: 65_537 }, (_, i) => ({
        topicFrame: Buffer.from(`t.${i}`),
        payload,
        logTimeNs: BigInt(i) * 1000n,
      }))
      // The 65,536 before the refused one are in: a caller counts them as recorded.
      await assert.rejects(writer.addBatch(messages), { message: /65536 channels/, added: 65_536 })
      // The failure is the add's and close's to report; the file still ends properly.
      await assert.rejects(writer.close(), /65536 channels/)
      const recording = await Recording.open(file)
      try {
        assert.equal(recording.statistics?.messageCount, 65_536n)
        assert.equal(recording.statistics?.channelCount, 65_536)
      } finally {
        await recording.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('writeAll', () => {
  it('writes the rest after a short write, in order, and fails on a write that takes nothing', async () => {
    const written: number[] = []
    // A pipe or a signal can cut a write short: here every write takes at most 5 bytes.
    const short = {
      writev: async (parts: readonly Uint8Array[]) => {
        const bytes = Buffer.concat(parts).subarray(0, 5)
        written.push(...bytes)
        return { bytesWritten: bytes.length, buffers: [] }
      },
    }
    const parts = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from([4, 5, 6, 7, 8, 9, 10, 11])]
    await writeAll(short as never, parts)
    assert.deepEqual(written, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    const stuck = { writev: async () => ({ bytesWritten: 0, buffers: [] }) }
    await assert.rejects(writeAll(stuck as never, parts), /took no bytes/)
  })
})

describe('LogTime', () => {
  it('splits µs counts into the halves of their nanoseconds, exactly, up to 2^53', () => {
    const next = random(7)
    const samples = [0, 1, 4_294_967, 4_294_968, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(next() * 2 ** 53))
    samples.push(Math.round((performance.timeOrigin + performance.now()) * 1000))
    const time = new LogTime()
    for (const us of samples) {
      const ns = BigInt(us) * 1000n
      time.setMicros(us)
      assert.equal((BigInt(time.high) << 32n) | BigInt(time.low), ns, `${us} µs`)
      assert.deepEqual({ ...new LogTime().setNanos(ns) }, { ...time }, `${us} µs from BigInt`)
    }
  })
})
