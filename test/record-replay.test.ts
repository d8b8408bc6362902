// `record`, `replay` and `info` as a user runs them (node dist/main.js), against real sockets on
// 127.0.0.1, and the files they write read back with @mcap/core. Every wait is on a
// subscription frame, an output line or a process exit.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { curveKeyPair, Subscriber, XPublisher } from 'zeromq'
import { loadZstd } from '../src/recording/codecs'
import { McapWriter } from '../src/recording/mcap'
import { type RecordedMessage, Recording } from '../src/recording/reader'
import { replayInto } from '../src/recording/replay'
import { RecordingWriter } from '../src/recording/writer'
import { CliProcess } from './helpers/cli'
import { ContainerProcess, ROOT } from './helpers/container'
import { TestPublisher } from './helpers/peers'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-record-'))
const processes: CliProcess[] = []
const sockets: Array<{ close(): void }> = []
const containers: ContainerProcess[] = []
after(async () => {
  for (const c of containers) await c.stop()
  for (const p of processes) p.kill()
  for (const s of sockets) s.close()
  rmSync(dir, { recursive: true, force: true })
})

const file = (name: string) => path.join(dir, name)

function cli(args: string[], env: Record<string, string> = {}): CliProcess {
  const p = new CliProcess(args, env)
  processes.push(p)
  return p
}

async function testPublisher(): Promise<TestPublisher> {
  const pub = await new TestPublisher().bind()
  sockets.push(pub)
  return pub
}

async function readAll(filePath: string): Promise<RecordedMessage[]> {
  const recording = await Recording.open(filePath)
  try {
    const messages: RecordedMessage[] = []
    for await (const m of recording.messages()) messages.push(m)
    return messages
  } finally {
    await recording.close()
  }
}

/** Payloads with every byte value somewhere, and sizes from 0 up: nothing may be re-encoded. */
function payloadFor(i: number): Buffer {
  return Buffer.from(Array.from({ length: i * 13 }, (_, j) => (i * 31 + j * 7) % 256))
}

const TOPICS = ['demo.frame', 'demo.heartbeat', 'other.cmd']

describe('zmq-container record', () => {
  it('writes each message with its exact bytes, per topic and in order; --count ends a complete file', async () => {
    const pub = await testPublisher()
    const out = file('count.mcap')
    const rec = cli(['record', '--out', out, pub.endpoint, '--count', '30', '--quiet'])
    await pub.subscribed('')
    // Not two frames: the container drops it, so the recording leaves it out and says so.
    await pub.send(['demo.frame', 'a', 'b'])
    const sent: Array<[string, Buffer]> = []
    for (let i = 0; i < 30; i++) {
      const message: [string, Buffer] = [TOPICS[i % 3] as string, payloadFor(i)]
      sent.push(message)
      await pub.send(message)
    }
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /recorded 30 of 31 message\(s\)/)
    assert.match(stderr, /left out 1 not two frames/)
    const got = await readAll(out)
    assert.deepEqual(
      got.map((m) => [m.topic, Buffer.from(m.payload).toString('hex')]),
      sent.map(([t, p]) => [t, p.toString('hex')]),
    )
    assert.deepEqual(
      got.map((m) => m.topicFrame.toString()),
      sent.map(([t]) => t),
    )
    for (let i = 1; i < got.length; i++)
      assert.ok((got[i]?.logTimeNs ?? 0n) >= (got[i - 1]?.logTimeNs ?? 0n), 'log times in order')
    const recording = await Recording.open(out)
    try {
      assert.equal(recording.statistics?.messageCount, 30n)
      const metadata = await recording.metadata()
      assert.equal(metadata.get('zmq.endpoint'), `connect ${pub.endpoint}`)
      assert.equal(metadata.get('zmq.socket'), 'SUB')
      for (const c of recording.channels) {
        assert.equal(c.messageEncoding, 'application/octet-stream')
        assert.equal(c.metadata.get('zmq.endpoint'), `connect ${pub.endpoint}`)
      }
    } finally {
      await recording.close()
    }
  })

  it('exact and prefix topics as in the container: prefix-only matches are left out and counted', async () => {
    const pub = await testPublisher()
    const out = file('topics.mcap')
    const rec = cli(['record', '--out', out, pub.endpoint, 'demo.frame', 'other.', '--count', '2'])
    await pub.subscribed('demo.frame', 'other.')
    await pub.send(['demo.framex', 'prefix only'])
    await pub.send(['demo.frame', 'one'])
    await pub.send(['other.cmd', 'two'])
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /left out 1 prefix-only match/)
    assert.deepEqual(
      (await readAll(out)).map((m) => [m.topic, Buffer.from(m.payload).toString()]),
      [
        ['demo.frame', 'one'],
        ['other.cmd', 'two'],
      ],
    )
  })

  it('several endpoints: both publishers recorded, both endpoints in the metadata', async () => {
    const one = await testPublisher()
    const two = await testPublisher()
    const out = file('two.mcap')
    const rec = cli(['record', '--out', out, one.endpoint, two.endpoint, '--count', '2'])
    await Promise.all([one.subscribed(''), two.subscribed('')])
    await one.send(['demo.one', '1'])
    await two.send(['demo.two', '2'])
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    assert.deepEqual((await readAll(out)).map((m) => m.topic).sort(), ['demo.one', 'demo.two'])
    const recording = await Recording.open(out)
    try {
      assert.equal(
        (await recording.metadata()).get('zmq.endpoint'),
        `connect ${one.endpoint}, connect ${two.endpoint}`,
      )
    } finally {
      await recording.close()
    }
  })

  it('SIGTERM mid-recording leaves a complete file with everything received so far', async () => {
    const pub = await testPublisher()
    const out = file('sigterm.mcap')
    const rec = cli(['record', '--out', out, pub.endpoint])
    await pub.subscribed('')
    for (let i = 0; i < 10; i++) await pub.send([TOPICS[i % 3] as string, payloadFor(i)])
    // The status line (once a second) says when all ten are in.
    await rec.waitForStderr(/, 10 msg, /)
    rec.signal('SIGTERM')
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /demo\.frame [\d.]+\/s/, 'status shows a rate per topic')
    const got = await readAll(out)
    assert.equal(got.length, 10)
    assert.equal(Buffer.from(got[9]?.payload ?? []).toString('hex'), payloadFor(9).toString('hex'))
  })

  it('--max-bytes splits into numbered files, each complete; --compression zstd', async () => {
    const pub = await testPublisher()
    const out = file('split.mcap')
    const rec = cli([
      'record',
      '--out',
      out,
      pub.endpoint,
      '--count',
      '60',
      '--max-bytes',
      '4096',
      '--compression',
      'zstd',
      '--quiet',
    ])
    await pub.subscribed('')
    const sent: string[] = []
    for (let i = 0; i < 60; i++) {
      // Random bytes do not compress, so the files really fill up.
      const payload = Buffer.from(
        Array.from({ length: 300 }, () => Math.floor(Math.random() * 256)),
      )
      sent.push(payload.toString('hex'))
      await pub.send(['demo.frame', payload])
    }
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    const parts = readdirSync(dir)
      .filter((f) => /^split_\d+\.mcap$/.test(f))
      .sort((a, b) => Number(a.match(/\d+/)?.[0]) - Number(b.match(/\d+/)?.[0]))
    assert.ok(parts.length >= 3, `expected several files, got ${parts.join(', ')}`)
    const got: string[] = []
    for (const part of parts) {
      const recording = await Recording.open(file(part))
      assert.deepEqual([...recording.compressions.keys()], ['zstd'])
      await recording.close()
      for (const m of await readAll(file(part))) got.push(Buffer.from(m.payload).toString('hex'))
    }
    assert.deepEqual(got, sent)
  })

  it('CURVE: a client with the keys from ZMQ_SUB_CURVE_*, as the container; a bad key: one line and 78', async () => {
    const server = curveKeyPair()
    const client = curveKeyPair()
    const pub = new XPublisher({
      linger: 0,
      curveServer: true,
      curvePublicKey: server.publicKey,
      curveSecretKey: server.secretKey,
    })
    sockets.push(pub)
    await pub.bind('tcp://127.0.0.1:*')
    const out = file('curve.mcap')
    const env = {
      ZMQ_SUB_CURVE_PUBLIC_KEY: client.publicKey,
      ZMQ_SUB_CURVE_SECRET_KEY: client.secretKey,
      ZMQ_SUB_CURVE_SERVER_KEY: server.publicKey,
    }
    const rec = cli(['record', '--out', out, pub.lastEndpoint as string, '--count', '1'], env)
    // The subscription arrives only through a completed CURVE handshake.
    const [subscription] = await pub.receive()
    assert.equal(subscription?.[0], 1)
    await pub.send(['demo.secret', 'sealed'])
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /subscribed to every topic \(CURVE\)/)
    assert.deepEqual(
      (await readAll(out)).map((m) => Buffer.from(m.payload).toString()),
      ['sealed'],
    )

    const bad = await cli(['record', '--out', file('bad.mcap'), 'tcp://127.0.0.1:1'], {
      ...env,
      ZMQ_SUB_CURVE_SERVER_KEY: 'short',
    }).exited
    assert.equal(bad.code, 78)
    assert.equal(
      bad.stderr,
      'zmq-container record: ZMQ_SUB_CURVE_SERVER_KEY is 5 characters; a Z85 CURVE key is 40\n',
    )
  })

  it('bad arguments: one line and 64; an unwritable --out: 73', async () => {
    const missing = await cli(['record', 'tcp://127.0.0.1:1']).exited
    assert.equal(missing.code, 64)
    assert.match(missing.stderr, /^zmq-container record: missing --out FILE\.mcap \(see/)
    const typo = await cli(['record', '--outt', 'x.mcap', 'tcp://127.0.0.1:1']).exited
    assert.equal(typo.code, 64)
    assert.match(typo.stderr, /unknown option --outt; did you mean --out\?/)
    const lz4 = await cli([
      'record',
      '--out',
      file('x.mcap'),
      'tcp://127.0.0.1:1',
      '--compression',
      'lz4',
    ]).exited
    assert.equal(lz4.code, 64)
    assert.match(lz4.stderr, /--compression lz4 cannot be written/)
    const unwritable = await cli([
      'record',
      '--out',
      path.join(dir, 'no', 'such', 'dir.mcap'),
      'tcp://127.0.0.1:1',
    ]).exited
    assert.equal(unwritable.code, 73)
    assert.match(unwritable.stderr, /^zmq-container record: cannot create .*ENOENT/)
  })
})

/** Six messages 150 ms apart on two topics, with known log times. */
async function timedFixture(
  name: string,
): Promise<{ path: string; sent: Array<[string, Buffer]> }> {
  const filePath = file(name)
  const writer = await RecordingWriter.open(filePath, {
    source: { endpoint: 'connect tcp://test:1', socket: 'SUB' },
  })
  const sent: Array<[string, Buffer]> = []
  const t0 = 1_700_000_000_000_000_000n
  for (let i = 0; i < 6; i++) {
    const message: [string, Buffer] = [i % 2 ? 'demo.b' : 'demo.a', payloadFor(i + 1)]
    sent.push(message)
    await writer.add(Buffer.from(message[0]), message[1], t0 + BigInt(i) * 150_000_000n)
  }
  await writer.close()
  return { path: filePath, sent }
}

/** A subscriber that keeps every message with its arrival time. */
function collect(
  endpoint: string,
  count: number,
): Promise<Array<{ frames: Buffer[]; at: number }>> {
  const socket = new Subscriber({ linger: 0, receiveTimeout: 10_000 })
  sockets.push(socket)
  socket.subscribe('')
  socket.connect(endpoint)
  return (async () => {
    const got: Array<{ frames: Buffer[]; at: number }> = []
    while (got.length < count) got.push({ frames: await socket.receive(), at: performance.now() })
    socket.close()
    return got
  })()
}

describe('zmq-container replay', () => {
  it('publishes the frames exactly and in order, with the recorded timing at --rate 1', async () => {
    const { path: fixture, sent } = await timedFixture('timed.mcap')
    const replay = cli(['replay', fixture, 'tcp://127.0.0.1:*', '--wait-subscribers', '1'])
    const [, endpoint = ''] = await replay.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)\n/)
    const got = await collect(endpoint, sent.length)
    const { code, stderr } = await replay.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /sent 6 message\(s\).*recorded span 0\.750 s.*demo\.a: 3, demo\.b: 3/)
    assert.deepEqual(
      got.map(({ frames }) => frames.map((f) => f.toString('hex'))),
      sent.map(([t, p]) => [Buffer.from(t).toString('hex'), p.toString('hex')]),
    )
    // Lower bounds only: each message no earlier than its recorded offset. Measured where the
    // messages arrive, so the first one's own delivery delay (a new TCP connection on a loaded
    // machine: 20 ms and more, seen in CI) is taken off every later gap; 50 ms of slack keeps
    // that from failing the test, while a replay that ignored timing (all six within a few ms)
    // would still miss by hundreds of milliseconds.
    const first = got[0]?.at ?? 0
    for (const [i, { at }] of got.entries())
      assert.ok(
        at - first >= i * 150 - 50,
        `message ${i} after ${at - first} ms, recorded at ${i * 150} ms`,
      )
  })

  it('--rate 0 sends without the pauses: faster than --rate 1; --topics and --start/--end select', async () => {
    const { path: fixture, sent } = await timedFixture('fast.mcap')
    const run = async (options: Parameters<typeof replayInto>[2], count: number) => {
      let address = ''
      let resolveAddress: (a: string) => void = () => {}
      const attached = new Promise<string>((resolve) => {
        resolveAddress = resolve
      })
      const summary = replayInto(fixture, 'tcp://127.0.0.1:*', {
        ...options,
        waitSubscribers: 1,
        onAttached: (a) => resolveAddress(a),
      })
      address = await attached
      const got = await collect(address, count)
      return { summary: await summary, got }
    }
    const slow = await run({ rate: 1 }, 6)
    const fast = await run({ rate: 0 }, 6)
    assert.equal(fast.summary.sent, 6)
    assert.ok(slow.summary.elapsedMs >= 750 - 20, `rate 1 took ${slow.summary.elapsedMs} ms`)
    assert.ok(
      fast.summary.elapsedMs < slow.summary.elapsedMs,
      `rate 0 took ${fast.summary.elapsedMs} ms, rate 1 ${slow.summary.elapsedMs} ms`,
    )
    const picked = await run({ rate: 0, topics: ['demo.b'], startS: 0.2, endS: 0.8 }, 2)
    assert.deepEqual(
      picked.got.map(({ frames }) => frames[1]?.toString('hex')),
      [sent[3], sent[5]].map((m) => m?.[1].toString('hex')),
    )
  })

  it('CURVE: a server with the keys from ZMQ_PUB_CURVE_*; a client with the server key receives', async () => {
    const { path: fixture, sent } = await timedFixture('curve-replay.mcap')
    const server = curveKeyPair()
    const client = curveKeyPair()
    const replay = cli(
      ['replay', fixture, 'tcp://127.0.0.1:*', '--rate', '0', '--wait-subscribers', '1'],
      { ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey, ZMQ_PUB_CURVE_SECRET_KEY: server.secretKey },
    )
    const [, endpoint = ''] = await replay.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)\n/)
    const socket = new Subscriber({
      linger: 0,
      receiveTimeout: 10_000,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
      curveServerKey: server.publicKey,
    })
    sockets.push(socket)
    socket.subscribe('')
    socket.connect(endpoint)
    const got: string[] = []
    while (got.length < sent.length)
      got.push(((await socket.receive())[1] as Buffer).toString('hex'))
    const { code, stderr } = await replay.exited
    assert.equal(code, 0, stderr)
    assert.deepEqual(
      got,
      sent.map(([, p]) => p.toString('hex')),
    )
  })

  it('--loop plays again until Ctrl-C', async () => {
    const { path: fixture } = await timedFixture('loop.mcap')
    const replay = cli([
      'replay',
      fixture,
      'tcp://127.0.0.1:*',
      '--rate',
      '0',
      '--loop',
      '--wait-subscribers',
      '1',
    ])
    const [, endpoint = ''] = await replay.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)\n/)
    await collect(endpoint, 20)
    replay.signal('SIGINT')
    const { code, stderr } = await replay.exited
    assert.equal(code, 0, stderr)
    const loops = Number(stderr.match(/(\d+) loop\(s\)/)?.[1])
    assert.ok(loops >= 3, stderr)
  })

  it('no subscriber within --wait-timeout: 69, nothing sent', async () => {
    const { path: fixture } = await timedFixture('alone.mcap')
    const { code, stderr } = await cli([
      'replay',
      fixture,
      'tcp://127.0.0.1:*',
      '--wait-subscribers',
      '1',
      '--wait-timeout',
      '100',
    ]).exited
    assert.equal(code, 69)
    assert.match(stderr, /0 of 1 subscriber\(s\) joined within 100 ms; nothing was replayed/)
  })
})

describe('zmq-container info', () => {
  it('shows duration, start, end and per-topic count, bytes and rate', async () => {
    const { path: fixture } = await timedFixture('info.mcap')
    const { code, stdout, stderr } = await cli(['info', fixture]).exited
    assert.equal(code, 0, stderr)
    assert.match(stdout, /^library: +zmq-container$/m)
    assert.match(stdout, /^start: +2023-11-14T22:13:20\.000000Z$/m)
    assert.match(stdout, /^duration: +0\.750 s$/m)
    assert.match(stdout, /^messages: +6$/m)
    // demo.a: payloads 1, 3, 5 (13, 39, 65 bytes) at 0, 300, 600 ms.
    assert.match(stdout, /^ {2}demo\.a +3 msg +117 B +3\.33\/s +application\/octet-stream$/m)
    assert.match(stdout, /^ {2}demo\.b +3 msg +156 B +3\.33\/s/m)
  })

  it('a truncated file: one clear line and 65, for info and replay; a missing file: 66', async () => {
    const { path: fixture } = await timedFixture('cut.mcap')
    truncateSync(fixture, 200)
    for (const args of [
      ['info', fixture],
      ['replay', fixture, 'tcp://127.0.0.1:*'],
    ]) {
      const { code, stderr } = await cli(args).exited
      assert.equal(code, 65, stderr)
      assert.match(
        stderr,
        /^zmq-container \w+: .*cut\.mcap is not a complete MCAP file \(.*\); a recording that was cut off/,
      )
      assert.equal(stderr.trim().split('\n').length, 1, stderr)
    }
    const missing = await cli(['info', file('nothing-here.mcap')]).exited
    assert.equal(missing.code, 66)
    assert.match(missing.stderr, /cannot read .*ENOENT/)
  })

  it('reads a file from another MCAP writer (schema, JSON, zstd chunks, a ROS-style topic), and replays it', async () => {
    const zstd = await loadZstd()
    const fixture = file('foreign.mcap')
    const { open } = await import('node:fs/promises')
    const { FileHandleWritable } = await import('@mcap/nodejs')
    const handle = await open(fixture, 'w')
    const writer = new McapWriter({
      writable: new FileHandleWritable(handle),
      compressChunk: (data) => ({ compression: 'zstd', compressedData: zstd.compress(data) }),
    })
    await writer.start({ profile: '', library: 'another-writer 1.0' })
    const schemaId = await writer.registerSchema({
      name: 'Pose',
      encoding: 'jsonschema',
      data: Buffer.from('{"type":"object"}'),
    })
    const channelId = await writer.registerChannel({
      topic: '/robot/pose',
      schemaId,
      messageEncoding: 'json',
      metadata: new Map(),
    })
    const payloads = ['{"x":1}', '{"x":2}', '{"x":3}']
    for (const [i, p] of payloads.entries())
      await writer.addMessage({
        channelId,
        sequence: i,
        logTime: BigInt(i) * 10_000_000n,
        publishTime: 0n,
        data: Buffer.from(p),
      })
    await writer.end()
    await handle.close()

    const info = await cli(['info', fixture]).exited
    assert.equal(info.code, 0, info.stderr)
    assert.match(info.stdout, /^library: +another-writer 1\.0$/m)
    assert.match(info.stdout, /^compression: +zstd \(1 chunk\)$/m)
    assert.match(info.stdout, /^ {2}\/robot\/pose +3 msg +21 B +100\.00\/s +json$/m)

    let resolveAddress: (a: string) => void = () => {}
    const attached = new Promise<string>((resolve) => {
      resolveAddress = resolve
    })
    const summary = replayInto(fixture, 'tcp://127.0.0.1:*', {
      rate: 0,
      waitSubscribers: 1,
      onAttached: resolveAddress,
    })
    const got = await collect(await attached, 3)
    assert.equal((await summary).sent, 3)
    assert.deepEqual(
      got.map(({ frames }) => frames.map(String)),
      payloads.map((p) => ['/robot/pose', p]),
    )
  })
})

describe('recording the demo topology', () => {
  it("the camera's frames and heartbeats: nothing lost, nothing invented, in publish order", async () => {
    // The demo's camera, on ipc in this test's folder.
    const env = parseEnv(
      readFileSync(path.join(ROOT, 'examples', 'camera', 'loopback.env'), 'utf8'),
    ) as Record<string, string>
    const frames = `ipc://${dir}/camera-frames`
    const camera = new ContainerProcess({
      ...env,
      ZMQ_SUB_ENDPOINT: `ipc://${dir}/camera-cmd`,
      ZMQ_PUB_ENDPOINT: frames,
      ZMQ_REP_ENDPOINT: `ipc://${dir}/camera-control`,
      CAMERA_FPS: '20',
    })
    containers.push(camera)
    await camera.waitForLog('ready')
    const out = file('demo.mcap')
    const rec = cli(['record', '--out', out, frames, 'camera.'])
    // About 3 s of traffic (20 frames and one heartbeat a second), from the status line.
    await rec.waitForStderr(/, (?:[6-9]\d|\d{3,}) msg, /)
    rec.signal('SIGINT')
    const { code, stderr } = await rec.exited
    assert.equal(code, 0, stderr)
    await camera.stop()

    const got = await readAll(out)
    const heartbeatsLogged = camera.lines
      .filter((l) => l.msg === 'heartbeat')
      .map((l) => JSON.stringify({ uptimeS: l.uptimeS, fps: l.fps, frames: l.frames }))
    const seqs: number[] = []
    let heartbeats = 0
    for (const m of got) {
      const payload = Buffer.from(m.payload)
      if (m.topic === 'camera.frame') {
        assert.equal(payload.length, 1024)
        seqs.push(payload.readUInt32BE(0))
      } else {
        assert.equal(m.topic, 'camera.heartbeat')
        // Nothing invented: every heartbeat recorded is one the camera logged it sent...
        assert.ok(heartbeatsLogged.includes(payload.toString()), payload.toString())
        // ...and it counts the frames sent before it: exactly those recorded before it.
        const { frames: sentBefore } = JSON.parse(payload.toString()) as { frames: number }
        if (seqs.length > 0) assert.equal(seqs.at(-1), sentBefore - 1)
        heartbeats++
      }
    }
    assert.ok(heartbeats >= 2, `heartbeats: ${heartbeats}`)
    // Nothing lost: the frame numbers run without a gap from the first recorded to the last.
    assert.ok(seqs.length >= 20, `frames: ${seqs.length}`)
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => (seqs[0] as number) + i),
    )
    assert.match(stderr, new RegExp(`recorded ${got.length} of ${got.length} message\\(s\\)`))
  })
})
