// Peers that misbehave, against a container child process: wrong frame counts, garbage topics,
// oversized messages, things that are not ZMTP at all, a CURVE client with the wrong server key,
// and a subscriber that stops reading. The container must never crash, and every message it
// received must end handled or counted; its final `receive worker stopped` line says which.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { curveKeyPair, Subscriber } from 'zeromq'
import { EXIT } from '../src/shared/exit-codes'
import { LOG_MESSAGES } from '../src/shared/log-messages'
import { DROP_REASONS } from '../src/shared/shared-state'
import { ContainerProcess, fixtureService } from './helpers/container'
import type { LogLine } from './helpers/logs'
import { TestPublisher } from './helpers/peers'
import { RawZmtpPublisher, ZmtpConnection } from './helpers/zmtp'

const running: ContainerProcess[] = []
const cleanups: Array<() => void> = []
after(() => {
  for (const c of running) if (c.child.exitCode === null) c.child.kill('SIGKILL')
  for (const fn of cleanups.splice(0)) fn()
})

function start(env: Record<string, string>): ContainerProcess {
  const container = new ContainerProcess(env)
  running.push(container)
  return container
}

interface Counts {
  received: number
  handled: number
  dropped: Record<string, number>
  droppedTotal: number
}

/** SIGTERM, exit 0, and the counts of the container's final `receive worker stopped` line. */
async function stopAndCount(container: ContainerProcess, socket = 'sub'): Promise<Counts> {
  container.signal('SIGTERM')
  const exit = await container.exited
  assert.equal(exit.code, EXIT.OK, `exit ${exit.code ?? exit.signal}\n${container.dump()}`)
  const stopped = container.lines.find(
    (l) => l.msg === LOG_MESSAGES.workerStopped.msg && l.socket === socket,
  )
  assert.ok(stopped, `no 'receive worker stopped' line\n${container.dump()}`)
  // At the level the registry (and so the README's readers) expect; lines carry the label.
  assert.ok((LOG_MESSAGES.workerStopped.levels as readonly unknown[]).includes(stopped.level))
  const counts = stopped as unknown as Counts
  assert.equal(
    counts.received,
    counts.handled + counts.droppedTotal,
    'received = handled + dropped',
  )
  return counts
}

/** Every drop reason at 0 but those given. */
const drops = (counts: Record<string, number>) => ({
  ...Object.fromEntries(DROP_REASONS.map((r) => [r, 0])),
  ...counts,
})

const received = (payload: string) => (l: LogLine) =>
  l.msg === LOG_MESSAGES.received.msg && l.payload === payload

function boundEndpoint(line: LogLine): string {
  return String((line.endpoints as string[])[0]).replace(/^bind /, '')
}

/** One scrape of /metrics as `name{labels}` -> value (the format itself is checked elsewhere). */
async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(2000),
  })
  const samples = new Map<string, number>()
  for (const line of (await response.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m) samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]))
  }
  return samples
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}) {
  let total = 0
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`) && key !== name) continue
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value
  }
  return total
}

describe('bad peers: frames and topics (a raw XPUB)', () => {
  it('1 and 3 frames, garbage topics and an oversized message are counted; valid messages flow after each', async () => {
    const pub = await new TestPublisher().bind('tcp://127.0.0.1:*')
    cleanups.push(() => pub.close())
    const container = start({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'x.msg,x.pre.',
      ZMQ_MAX_MESSAGE_BYTES: '1024',
      ZMQ_RECONNECT_IVL_MS: '20',
    })
    await pub.subscribed('x.msg', 'x.pre.')
    await container.waitForLog('ready')

    // zeromq.js sends nothing for zero frames: ZMTP has no empty message, so neither is counted.
    await pub.send([])
    await pub.send(['x.msg'])
    await pub.send(['x.msg', 'a', 'b'])
    await pub.send([Buffer.from('x.msg\0'), 'nul'])
    await pub.send([Buffer.from([...Buffer.from('x.pre.'), 0xc3, 0x28]), 'invalid utf-8'])
    await pub.send([`x.pre.${'a'.repeat(70)}`, 'over 64 characters'])
    await pub.send(['x.pre..a', 'empty segment'])
    await pub.send(['x.pre.', 'prefix only'])
    await pub.send(['x.msgx', 'prefix match, not subscribed'])
    await pub.send(['y.other', 'filtered by libzmq, never received'])
    await pub.send(['x.msg', ''])
    await pub.send(['x.pre.ok', 'valid-1'])
    // ZMQ_MAX_MESSAGE_BYTES is libzmq's ZMQ_MAXMSGSIZE: it bounds each frame, so a frame of
    // exactly the limit passes (the message as a whole is 5 bytes larger).
    await pub.send(['x.msg', Buffer.alloc(1024, 0x61)])
    await container.waitForLog(received('valid-1'))
    await container.waitForLog((l) => l.msg === 'received' && l.bytes === 1024)

    // One byte over: the SUB drops the connection, libzmq gives up on it, the container re-arms
    // it. The XPUB sees the subscriptions again only over a new connection.
    const again = pub.subscribed('x.msg', 'x.pre.')
    await pub.send(['x.msg', Buffer.alloc(1025, 0x61)])
    await again
    await container.waitForLog(
      (l) => l.msg === LOG_MESSAGES.socketEvent.msg && l.event === 'disconnect',
    )
    await pub.send(['x.pre.after', 'valid-2'])
    await container.waitForLog(received('valid-2'))

    const counts = await stopAndCount(container)
    assert.ok(!container.lines.some((l) => l.msg === 'received' && l.bytes === 1025))
    assert.ok(
      container.lines.some(
        (l) =>
          l.msg === LOG_MESSAGES.reconnecting.msg ||
          (l.msg === LOG_MESSAGES.socketEvent.msg && l.event === 'connect:retry'),
      ),
      `the connection came back by neither a re-arm nor a libzmq retry\n${container.dump()}`,
    )
    assert.deepEqual(
      { received: counts.received, handled: counts.handled, dropped: counts.dropped },
      {
        received: 12,
        handled: 4,
        dropped: drops({ bad_frames: 2, invalid_topic: 5, unsubscribed: 1 }),
      },
    )
  })
})

describe('bad peers: not quite ZMTP (a hand-written peer)', () => {
  it('an HTTP request, a wrong mechanism, a 1 TiB frame header and half a message: no crash, nothing counted, then delivery', async () => {
    const raw = await new RawZmtpPublisher([
      // Something that is not ZMTP at all, then hang up.
      async (peer) => {
        peer.write(Buffer.from('GET /metrics HTTP/1.1\r\nHost: camera\r\n\r\n'))
        peer.destroy()
      },
      // A valid signature, then a mechanism the SUB does not speak.
      async (peer) => {
        const greeting = ZmtpConnection.greeting()
        greeting.fill(0, 12, 32).write('CURVE', 12, 'ascii')
        peer.write(greeting)
        await peer.closed()
      },
      // A frame that claims 2^40 bytes, and no body: rejected from the header alone.
      async (peer) => {
        await peer.handshakeAsPub('x.msg')
        peer.write(ZmtpConnection.longHeader(2n ** 40n))
        await peer.closed()
      },
      // Two frames of a message, each with MORE set, then the connection ends.
      async (peer) => {
        await peer.handshakeAsPub('x.msg')
        peer.write(ZmtpConnection.frame(Buffer.from('x.msg'), 0x01))
        peer.write(ZmtpConnection.frame(Buffer.from('half'), 0x01))
        peer.destroy()
      },
      // A well-behaved peer at last, with one bad frame count of each kind in between.
      async (peer) => {
        await peer.handshakeAsPub('x.msg')
        peer.sendMessage(['x.msg', 'raw-1'])
        peer.sendMessage(['x.msg'])
        peer.sendMessage(['x.msg', 'a', 'b'])
        peer.sendMessage(['x.msg', 'raw-2'])
      },
    ]).listen()
    cleanups.push(() => raw.close())
    const container = start({
      ZMQ_SUB_ENDPOINT: raw.endpoint,
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_MAX_MESSAGE_BYTES: '1024',
      ZMQ_RECONNECT_IVL_MS: '20',
    })
    await container.waitForLog(received('raw-2'))
    await raw.done
    assert.deepEqual(raw.errors, [])

    const counts = await stopAndCount(container)
    assert.deepEqual(
      container.lines.filter((l) => l.msg === 'received').map((l) => l.payload),
      ['raw-1', 'raw-2'],
    )
    assert.deepEqual(
      { received: counts.received, handled: counts.handled, dropped: counts.dropped },
      {
        received: 4,
        handled: 2,
        dropped: drops({ bad_frames: 2 }),
      },
    )
    assert.ok(
      container.lines.some(
        (l) => l.msg === 'socket event' && String(l.event).startsWith('handshake:error'),
      ),
      `the wrong mechanism shows as a handshake error\n${container.dump()}`,
    )
    // After a protocol error libzmq does not reconnect by itself: the container re-armed.
    assert.ok(
      container.lines.some((l) => l.msg === 'reconnecting: libzmq gave up on this connection'),
      container.dump(),
    )
  })
})

describe('bad peers: CURVE', () => {
  it('a client with the wrong server key never receives; the server logs a handshake error', async () => {
    const server = curveKeyPair()
    const client = curveKeyPair()
    const impostor = curveKeyPair()
    const container = start({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'x.tick',
      ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
      ZMQ_PUB_CURVE_SECRET_KEY: server.secretKey,
      // The client's own key is allowed: only the server key it was given is wrong.
      ZMQ_CURVE_ALLOW: client.publicKey,
      ZC_SERVICE: fixtureService('ticker'),
    })
    const endpoint = boundEndpoint(await container.waitForLog('publisher ready'))
    await container.waitForLog('ready')
    const subscriber = (serverKey: string, receiveTimeout: number) => {
      const sub = new Subscriber({
        linger: 0,
        receiveTimeout,
        curveServerKey: serverKey,
        curvePublicKey: client.publicKey,
        curveSecretKey: client.secretKey,
      })
      cleanups.push(() => sub.close())
      sub.connect(endpoint)
      sub.subscribe('x.tick')
      return sub
    }

    const wrong = subscriber(impostor.publicKey, 200)
    const failed = await container.waitForLog(
      (l) => l.msg === 'socket event' && String(l.event).startsWith('handshake:error'),
    )
    assert.match(String(failed.address), /127\.0\.0\.1/)
    // The same client with the right server key gets in and receives ticks, so the container
    // is publishing; the one with the wrong key has nothing queued.
    const right = subscriber(server.publicKey, 5000)
    const [topic] = await right.receive()
    assert.equal(String(topic), 'x.tick')
    await assert.rejects(wrong.receive(), { code: 'EAGAIN' })

    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    // Its HELLO could not be decrypted, so the ZAP handler never saw it: no rejection line.
    assert.ok(!container.lines.some((l) => l.msg === 'CURVE handshake rejected'))
    const output = container.dump()
    for (const secret of [server.secretKey, client.secretKey])
      assert.ok(!output.includes(secret), 'a secret key appears in the output')
  })
})

describe('bad peers: readers', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zc-bad-peers-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** A container publishing a burst once one subscriber is attached; its metrics port. */
  async function burst(env: Record<string, string>, endpoint: string) {
    const container = start({
      ZMQ_PUB_ENDPOINT: endpoint,
      ZMQ_PUB_TOPICS: 'x.burst',
      ZMQ_PUB_MIN_SUBSCRIBERS: '1',
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      ZC_SERVICE: fixtureService('burst'),
      ...env,
    })
    const bound = boundEndpoint(await container.waitForLog('publisher ready'))
    const port = Number((await container.waitForLog('http listening')).port)
    return { container, bound, port }
  }

  it('a subscriber that stops reading: drops at the high-water mark are counted, and published + dropped = attempted', async () => {
    const { container, bound, port } = await burst(
      {
        ZMQ_SNDHWM: '4',
        ZMQ_XPUB_NODROP: 'true',
        BURST_COUNT: '1000',
        BURST_BYTES: '4096',
      },
      `ipc://${dir}/slow`,
    )
    // Subscribes, then never reads: its own queue of one fills, then the socket buffer, then the
    // container's queue for it.
    const sub = new Subscriber({ linger: 0, receiveHighWaterMark: 1 })
    cleanups.push(() => sub.close())
    sub.connect(bound)
    sub.subscribe('x.burst')
    const done = await container.waitForLog('burst done')
    const metrics = await scrape(port)

    const attempted = Number(done.attempted)
    assert.equal(attempted, 1000)
    const published = sum(metrics, 'zc_messages_published_total', { socket: 'pub' })
    const failures = sum(metrics, 'zc_publish_failures_total', { socket: 'pub' })
    const hwm = sum(metrics, 'zc_publish_failures_total', { socket: 'pub', reason: 'hwm' })
    assert.ok(hwm > 0, `no hwm drops: ${[...metrics].filter(([k]) => k.startsWith('zc_pub'))}`)
    assert.equal(
      published + failures,
      attempted,
      `every attempt is published or failed, once: ${published} published + ${failures} failed (${hwm} at the high-water mark) for ${attempted} attempts`,
    )

    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK, 'a stuck reader does not hold shutdown')
  })

  it('a subscriber that keeps up: two publishes per event-loop turn are all sent', async () => {
    // No high-water marks anywhere: on a loaded machine the reader may fall behind for a while,
    // and what is tested is the publishing side (zeromq.js EBUSY), not the reader's speed.
    const { container, bound, port } = await burst(
      { BURST_COUNT: '2000', BURST_PER_TURN: '2', BURST_BYTES: '16', ZMQ_SNDHWM: '0' },
      'tcp://127.0.0.1:*',
    )
    const sub = new Subscriber({ linger: 0, receiveTimeout: 5000, receiveHighWaterMark: 0 })
    cleanups.push(() => sub.close())
    sub.connect(bound)
    sub.subscribe('x.burst')
    let got = 0
    let target = Number.POSITIVE_INFINITY
    let gotAll: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      gotAll = resolve
    })
    // Reads until it has them all, or until nothing came for its receive timeout.
    const reading = (async () => {
      for (;;) {
        try {
          await sub.receive()
        } catch {
          return
        }
        if (++got >= target) gotAll()
      }
    })()
    const done = await container.waitForLog('burst done')
    target = Number(done.attempted)
    if (got >= target) gotAll()
    // Published counts a send once libzmq took it: scrape after the reader has everything.
    await Promise.race([all, reading])
    const metrics = await scrape(port)
    const failures = [...metrics].filter(
      ([k, v]) => k.startsWith('zc_publish_failures_total') && v > 0,
    )
    assert.deepEqual(failures, [], 'nothing failed with a reader that keeps up')
    assert.equal(sum(metrics, 'zc_messages_published_total', { socket: 'pub' }), target)
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    assert.equal(got, target, 'the reader got every message')
  })
})
