// RecordingWriter.addPacked: the container recorder's path (messages packed back to back, as the
// receive threads batch them). Each message must land on its own socket's channel for its topic,
// with its bytes and receive time, in order, including when the topic changes from one message to
// the next (the writer reuses the channel of the message before when the bytes match).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { FileHandleReadable } from '@mcap/nodejs'
import { CHANNEL_KEYS, msToNs } from '../src/recording/format'
import { McapIndexedReader } from '../src/recording/mcap'
import { type RecordingSource, RecordingWriter } from '../src/recording/writer'
import { LAYOUT_WORDS } from '../src/shared/record-batch'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-packed-'))
after(() => rmSync(dir, { recursive: true, force: true }))

interface Sent {
  readonly socket: string
  readonly topic: Buffer
  readonly payload: Buffer
  readonly atMs: number
}

/** Packs messages as RecordCapture does: frames back to back, three numbers each. */
function pack(messages: readonly Sent[], source: RecordingSource) {
  const data = Buffer.concat(messages.flatMap((m) => [m.topic, m.payload]))
  const layout = new Float64Array(messages.length * LAYOUT_WORDS)
  messages.forEach((m, i) => {
    layout.set([m.topic.length, m.payload.length, m.atMs], i * LAYOUT_WORDS)
  })
  return { source, data: new Uint8Array(data), layout }
}

interface Read {
  readonly socket: string | undefined
  readonly topic: string
  readonly payload: string
  readonly logTime: bigint
  readonly sequence: number
}

async function readRaw(file: string): Promise<{ messages: Read[]; channels: number }> {
  const handle = await open(file, 'r')
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) })
    const messages: Read[] = []
    for await (const m of reader.readMessages()) {
      const channel = reader.channelsById.get(m.channelId)
      assert.ok(channel, `message on unknown channel ${m.channelId}`)
      messages.push({
        socket: channel.metadata.get(CHANNEL_KEYS.socket),
        topic: channel.topic,
        payload: Buffer.from(m.data).toString('hex'),
        logTime: m.logTime,
        sequence: m.sequence,
      })
    }
    return { messages, channels: reader.channelsById.size }
  } finally {
    await handle.close()
  }
}

describe('RecordingWriter.addPacked', () => {
  it('puts each message on its socket and topic channel, bytes and times exact, in order', async () => {
    const camera: RecordingSource = { endpoint: 'connect tcp://camera:1', socket: 'frames' }
    const control: RecordingSource = { endpoint: 'connect tcp://ctl:2', socket: 'control' }
    const file = path.join(dir, 'packed.mcap')
    const writer = await RecordingWriter.open(file, {
      source: { endpoint: 'container', socket: 'container' },
    })
    const t0 = 1_700_000_000_000.25
    const message = (socket: string, topic: string | Buffer, i: number): Sent => ({
      socket,
      topic: typeof topic === 'string' ? Buffer.from(topic) : topic,
      payload: Buffer.from(Array.from({ length: i * 7 }, (_, j) => (i * 13 + j) % 256)),
      atMs: t0 + i * 1.5,
    })
    // Topic changes of every kind: same length different bytes (a.x / b.x), a prefix either way
    // (a.x / a.xy / a.x), a byte above 127 (latin1), back to an earlier topic, and the same topic
    // again on another socket, which must get a channel of its own.
    const first = ['a.x', 'a.x', 'b.x', 'a.xy', 'a.x', Buffer.from([0x63, 0x2e, 0xe9]), 'a.x'].map(
      (t, i) => message('frames', t, i),
    )
    const second = ['a.x', 'a.x', 'ctl.set'].map((t, i) => message('control', t, i + 10))
    const third = ['b.x', 'a.x'].map((t, i) => message('frames', t, i + 20))
    await writer.addPacked(pack(first, camera))
    await writer.addPacked(pack(second, control))
    await writer.addPacked(pack(third, camera))
    await writer.close()

    const { messages, channels } = await readRaw(file)
    const sent = [...first, ...second, ...third]
    assert.deepEqual(
      messages.map((m) => [m.socket, m.topic, m.payload, m.logTime]),
      sent.map((m) => [
        m.socket,
        m.topic.toString('latin1'),
        m.payload.toString('hex'),
        msToNs(m.atMs),
      ]),
    )
    assert.deepEqual(
      messages.map((m) => m.sequence),
      sent.map((_, i) => i),
    )
    // frames: a.x, b.x, a.xy, c.é; control: a.x, ctl.set.
    assert.equal(channels, 6)
    assert.equal(writer.messages, sent.length)
  })

  it('splits into numbered files at --max-bytes between the messages of one batch', async () => {
    const source: RecordingSource = { endpoint: 'connect tcp://camera:1', socket: 'frames' }
    const file = path.join(dir, 'split.mcap')
    const writer = await RecordingWriter.open(file, { source, maxBytes: 8 * 1024 })
    const sent: Sent[] = Array.from({ length: 40 }, (_, i) => ({
      socket: 'frames',
      topic: Buffer.from(i % 3 ? 'cam.frame' : 'cam.meta'),
      payload: Buffer.alloc(1000, i),
      atMs: 1_700_000_000_000 + i,
    }))
    await writer.addPacked(pack(sent, source))
    await writer.close()
    assert.ok(writer.files.length >= 3, `files: ${writer.files.join(', ')}`)
    const read: Read[] = []
    for (const f of writer.files) read.push(...(await readRaw(f)).messages)
    assert.deepEqual(
      read.map((m) => [m.topic, m.payload]),
      sent.map((m) => [m.topic.toString(), m.payload.toString('hex')]),
    )
  })
})
