// ZMQ_RECORD_FILE: a running container records what its SUB sockets receive. Real container
// processes, real sockets on 127.0.0.1; waits are on log lines and subscription frames.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { Recording } from '../src/recording/reader'
import { ContainerProcess } from './helpers/container'
import { metricSum, scrape } from './helpers/http'
import type { LogLine } from './helpers/logs'
import { TestPublisher } from './helpers/peers'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-record-container-'))
const containers: ContainerProcess[] = []
const sockets: TestPublisher[] = []
after(async () => {
  for (const c of containers) await c.stop()
  for (const s of sockets) s.close()
  rmSync(dir, { recursive: true, force: true })
})

async function start(
  env: Record<string, string>,
): Promise<{ container: ContainerProcess; pub: TestPublisher }> {
  const pub = await new TestPublisher().bind()
  sockets.push(pub)
  const container = new ContainerProcess({
    ZMQ_SUB_ENDPOINT: pub.endpoint,
    ZMQ_SUB_TOPICS: 'demo.a,demo.b',
    ...env,
  })
  containers.push(container)
  await container.waitForLog('ready')
  await pub.subscribed('demo.a', 'demo.b')
  return { container, pub }
}

type Counts = { recorded: number; overflow: number; skipped: number }

async function stopAndCount(
  container: ContainerProcess,
): Promise<{ counts: Counts; received: number }> {
  container.signal('SIGTERM')
  const exit = await container.exited
  assert.equal(exit.code, 0, container.dump())
  const closed = container.lines.find((l) => l.msg === 'recording closed') as LogLine & {
    sockets: Record<string, Counts>
  }
  const stopped = container.lines.find((l) => l.msg === 'receive worker stopped') as LogLine & {
    received: number
  }
  assert.ok(closed && stopped, container.dump())
  return { counts: closed.sockets.sub as Counts, received: stopped.received }
}

describe('ZMQ_RECORD_FILE', () => {
  it('records every message the SUB socket receives, bytes and order as received; a stop ends the file', async () => {
    const file = path.join(dir, 'all.mcap')
    const { container, pub } = await start({ ZMQ_RECORD_FILE: file })
    const sent: Array<[string, Buffer]> = []
    for (let i = 0; i < 40; i++) {
      const message: [string, Buffer] = [
        i % 2 ? 'demo.a' : 'demo.b',
        Buffer.from(Array.from({ length: i * 11 }, (_, j) => (i + j * 13) % 256)),
      ]
      sent.push(message)
      await pub.send(message)
    }
    // A prefix-only match: the container drops it, but its socket received it, so it is recorded.
    await pub.send(['demo.ab', 'prefix'])
    sent.push(['demo.ab', Buffer.from('prefix')])
    // Three frames: nothing to record faithfully as [topic, payload]; counted as skipped.
    await pub.send(['demo.a', 'x', 'y'])
    await container.waitForLog((l) => l.msg === 'message dropped' && l.reason === 'bad_frames')
    const { counts, received } = await stopAndCount(container)
    assert.deepEqual(counts, { recorded: 41, overflow: 0, skipped: 1 })
    assert.equal(received, counts.recorded + counts.overflow + counts.skipped)

    const recording = await Recording.open(file)
    try {
      const got: Array<[string, string]> = []
      for await (const m of recording.messages())
        got.push([m.topicFrame.toString('latin1'), Buffer.from(m.payload).toString('hex')])
      assert.deepEqual(
        got,
        sent.map(([t, p]) => [t, p.toString('hex')]),
      )
      const metadata = await recording.metadata()
      assert.equal(metadata.get('zmq.endpoint'), `connect ${pub.endpoint}`)
      assert.equal(metadata.get('zmq.socket'), 'sub')
      assert.equal(metadata.get('zmq.subscriptions.sub'), 'demo.a,demo.b')
      for (const c of recording.channels) {
        assert.equal(c.metadata.get('zmq.socket'), 'sub')
        assert.equal(c.metadata.get('zmq.endpoint'), `connect ${pub.endpoint}`)
      }
    } finally {
      await recording.close()
    }
  })

  it('a full buffer never blocks receiving: the overflow is counted and every message is still handled', async () => {
    const file = path.join(dir, 'overflow.mcap')
    const { container, pub } = await start({
      ZMQ_RECORD_FILE: file,
      ZMQ_RECORD_BUFFER_BYTES: '1024',
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
    })
    // 1000 B each: one fits the 1 KiB budget at a time, until the main thread has written it.
    for (let i = 0; i < 100; i++) await pub.send(['demo.a', Buffer.alloc(1000, i)])
    const handled = () => container.lines.filter((l) => l.msg === 'received').length
    await container.waitForLog(() => handled() >= 100)
    // /metrics shows the same counts once the last batch is written (a scrape per round).
    const port = Number((await container.waitForLog('http listening')).port)
    const outcome = async () => {
      const families = await scrape(port)
      const read = (o: string) =>
        metricSum(families, 'zc_record_messages_total', { socket: 'sub', outcome: o })
      return { recorded: read('recorded'), overflow: read('overflow'), skipped: read('skipped') }
    }
    let scraped = await outcome()
    while (scraped.recorded + scraped.overflow < 100) scraped = await outcome()
    const { counts, received } = await stopAndCount(container)
    assert.deepEqual(scraped, counts)
    assert.equal(received, 100)
    assert.ok(counts.overflow > 0, JSON.stringify(counts))
    assert.equal(counts.recorded + counts.overflow + counts.skipped, received)
    const recording = await Recording.open(file)
    try {
      assert.equal(recording.statistics?.messageCount, BigInt(counts.recorded))
    } finally {
      await recording.close()
    }
  })

  it('a file that cannot be created: one line naming ZMQ_RECORD_FILE, exit 78', async () => {
    const pub = await new TestPublisher().bind()
    sockets.push(pub)
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'demo.a',
      ZMQ_RECORD_FILE: path.join(dir, 'missing', 'folder', 'x.mcap'),
    })
    containers.push(container)
    const exit = await container.exited
    assert.equal(exit.code, 78, container.dump())
    assert.match(
      container.stderrLines.join('\n'),
      /ZMQ_RECORD_FILE: names a file that cannot be created \(ENOENT\)/,
    )
  })
})
