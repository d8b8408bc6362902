// The receive path in process: real sockets (inproc and tcp on loopback), real worker threads.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { threadId } from 'node:worker_threads'
import { Supervisor } from '../src/main/supervisor'
import { loadConfig } from '../src/shared/config'
import { startContainer } from '../src/testing'
import { fixtureService } from './helpers/container'
import { memoryLogger } from './helpers/logs'
import { TestPublisher, TestSubscriber } from './helpers/peers'

interface Seen {
  topic: string
  payload: string
  socket: string
  threadId: number
}

let unique = 0
const inproc = (name: string) => `inproc://${name}-${process.pid}-${unique++}`

/** Starts a supervisor running the echo service; `seen` resolves on the handler's reports. */
async function startEcho(env: Record<string, string>) {
  const memory = memoryLogger()
  // Worker threads log to fd 1 on their own; keep them quiet here (lifecycle tests read them).
  const config = loadConfig({
    ZC_SERVICE: fixtureService('echo'),
    ZMQ_SETTLE_MS: '0',
    LOG_LEVEL: 'fatal',
    ...env,
  })
  const supervisor = new Supervisor(config, { log: memory.log })
  const seen: Seen[] = []
  supervisor.on('workerMessage', (data) => seen.push(data as Seen))
  const until = async (payload: string): Promise<Seen> => {
    for (;;) {
      const found = seen.find((s) => s.payload === payload)
      if (found) return found
      await once(supervisor, 'workerMessage')
    }
  }
  assert.equal(await supervisor.start(), true)
  return { supervisor, seen, until, ...memory }
}

describe('receive path', () => {
  // These run on zmq-container/testing, as a service author's tests would.
  it('matches topics exactly, keeps "."-suffixed prefixes, and counts prefix-only matches', async () => {
    const container = await startContainer({
      service: fixtureService('echo'),
      env: { ZMQ_SUB_TOPICS: 'camera.cmd,nav.', LOG_LEVEL: 'fatal' },
    })
    for (const topic of ['camera.cmd', 'camera.cmdx', 'camera.cm', 'nav.pose', 'nav.pose.raw'])
      await container.publish(topic, 'no-reply')
    await container.publish('camera.cmd', 'end')
    await container.nextMessage((d) => (d as Seen).payload === 'end')
    assert.deepEqual(
      container.messages.map((m) => (m.data as Seen).topic),
      ['camera.cmd', 'nav.pose', 'nav.pose.raw', 'camera.cmd'],
    )
    // Counters are final once the worker has joined.
    await container.close()
    const counts = container.counters().sub
    assert.equal(counts?.received, 5, 'camera.cm is filtered by libzmq and never received')
    assert.equal(counts?.handled, 4)
    assert.equal(counts?.dropped.unsubscribed, 1)
  })

  it('counts bad frame counts and invalid topics, and keeps receiving', async () => {
    const container = await startContainer({
      service: fixtureService('echo'),
      env: { ZMQ_SUB_TOPICS: 'camera.', LOG_LEVEL: 'fatal' },
    })
    await container.sendFrames(['camera.cmd'])
    await container.sendFrames(['camera.cmd', 'a', 'b'])
    await container.sendFrames([
      Buffer.from([0x63, 0x61, 0x6d, 0x65, 0x72, 0x61, 0x2e, 0xff]),
      'non-utf8',
    ])
    await container.publish('camera.a\u0000b', 'nul')
    await container.publish(`camera.${'x'.repeat(60)}`, 'too long')
    await container.publish('camera.ok', 'no-reply')
    await container.nextMessage((d) => (d as Seen).payload === 'no-reply')
    await container.close()
    const counts = container.counters().sub
    assert.equal(counts?.received, 6)
    assert.equal(counts?.handled, 1)
    assert.deepEqual(counts?.dropped, {
      bad_frames: 2,
      invalid_topic: 3,
      unsubscribed: 0,
      handler_error: 0,
      decode_error: 0,
      pool_full: 0,
      shutdown: 0,
      worker_failed: 0,
      duplicate: 0,
    })
    assert.equal(counts?.received, (counts?.handled ?? 0) + (counts?.droppedTotal ?? 0))
  })

  it('delivers when the SUB starts before the PUB binds (inproc)', async () => {
    const address = inproc('sub-first')
    const { supervisor, until } = await startEcho({
      ZMQ_SUB_ENDPOINT: address,
      ZMQ_SUB_TOPICS: 'camera.cmd',
    })
    const pub = await new TestPublisher().bind(address)
    await pub.subscribed('camera.cmd')
    await pub.send(['camera.cmd', 'no-reply'])
    assert.equal((await until('no-reply')).topic, 'camera.cmd')
    await supervisor.close('manual')
    pub.close()
  })

  it('delivers when the PUB binds first (tcp on loopback)', async () => {
    const pub = await new TestPublisher().bind('tcp://127.0.0.1:*')
    const { supervisor, until } = await startEcho({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'camera.cmd',
    })
    await pub.subscribed('camera.cmd')
    await pub.send(['camera.cmd', 'no-reply'])
    assert.equal((await until('no-reply')).topic, 'camera.cmd')
    await supervisor.close('manual')
    pub.close()
  })

  it('runs each inbound socket in its own worker thread', async () => {
    const container = await startContainer({
      service: fixtureService('echo'),
      env: {
        ZMQ_SUB_CONTROL_TOPICS: 'robot.cmd',
        ZMQ_SUB_TELEMETRY_TOPICS: 'robot.pose',
        LOG_LEVEL: 'fatal',
      },
    })
    await container.publish('robot.cmd', 'c', { socket: 'control' })
    await container.publish('robot.pose', 't', { socket: 'telemetry' })
    const seen = (payload: string) =>
      container.nextMessage((d) => (d as Seen).payload === payload) as Promise<Seen>
    const [c, t] = [await seen('c'), await seen('t')]
    assert.equal(c.socket, 'control')
    assert.equal(t.socket, 'telemetry')
    assert.notEqual(c.threadId, t.threadId)
    assert.notEqual(c.threadId, threadId)
    assert.notEqual(t.threadId, threadId)
    await container.close()
  })
})

describe('latency classes', () => {
  it("a slow telemetry handler does not hold up the control socket's handler", async () => {
    const control = await new TestPublisher().bind(inproc('iso-control'))
    const telemetry = await new TestPublisher().bind(inproc('iso-telemetry'))
    const memory = memoryLogger()
    const config = loadConfig({
      ZC_SERVICE: fixtureService('isolation'),
      LOG_LEVEL: 'fatal',
      ZMQ_SUB_CONTROL_ENDPOINT: control.endpoint,
      ZMQ_SUB_CONTROL_TOPICS: 'robot.cmd',
      ZMQ_SUB_TELEMETRY_ENDPOINT: telemetry.endpoint,
      ZMQ_SUB_TELEMETRY_TOPICS: 'robot.slow',
    })
    const supervisor = new Supervisor(config, { log: memory.log })
    const events: Array<{ event: string; at: number }> = []
    const next = (event: string) =>
      new Promise<{ event: string; at: number }>((resolve) => {
        const check = (data: unknown) => {
          const e = data as { event: string; at: number }
          if (e.event !== event) return
          supervisor.off('workerMessage', check)
          resolve(e)
        }
        supervisor.on('workerMessage', check)
      })
    supervisor.on('workerMessage', (data) => events.push(data as { event: string; at: number }))
    assert.equal(await supervisor.start(), true)
    await Promise.all([control.subscribed('robot.cmd'), telemetry.subscribed('robot.slow')])
    const slowStarted = next('slow-start')
    const slowEnded = next('slow-end')
    await telemetry.send(['robot.slow', ''])
    await slowStarted
    const handled = next('handled')
    await control.send(['robot.cmd', ''])
    const [c, end] = await Promise.all([handled, slowEnded])
    assert.ok(c.at < end.at, `control handled at ${c.at}, telemetry handler ended at ${end.at}`)
    await supervisor.close('manual')
    control.close()
    telemetry.close()
  })
})

describe('publishing', () => {
  it('queues what zeromq.js cannot take in one turn, and drops past ZC_PUBLISH_QUEUE_LIMIT', async () => {
    const { supervisor } = await startEcho({
      ZMQ_PUB_ENDPOINT: inproc('queue'),
      ZMQ_PUB_TOPICS: 'camera.frame',
      ZC_PUBLISH_QUEUE_LIMIT: '10',
      ZMQ_SNDHWM: '0',
    })
    // zeromq.js takes 512 sends in one turn of the event loop, then refuses (EBUSY): the next 10
    // wait in the backlog, the rest is dropped and counted.
    const burst = 1000
    const accepted = Array.from({ length: burst }, () => supervisor.publish('camera.frame', 'x'))
    const dropped = accepted.filter((ok) => !ok).length
    assert.ok(dropped >= 1, 'a synchronous burst past the backlog drops')
    assert.ok(dropped <= burst - 512 - 10, `${dropped} dropped: zeromq.js takes 512 in a turn`)
    assert.equal(supervisor.publishers?.stats()[0]?.dropped.queue_full, dropped)
    // Let the backlog go out on the next turns before closing.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    await supervisor.close('manual')
    const stats = supervisor.publishers?.stats()[0]
    assert.equal((stats?.published ?? 0) + (stats?.dropped.closed ?? 0), burst - dropped)
    assert.equal(stats?.failed, 0)
  })

  it('a handler publishes through the PUB socket owned by the main thread', async () => {
    const container = await startContainer({
      service: fixtureService('echo'),
      env: { ZMQ_SUB_TOPICS: 'camera.cmd', ZMQ_PUB_TOPICS: 'camera.reply', LOG_LEVEL: 'fatal' },
    })
    await container.publish('camera.cmd', 'ping')
    assert.deepEqual(await container.receive(), {
      topic: 'camera.reply',
      payload: Buffer.from('ping'),
    })
    await container.close()
    assert.equal(container.supervisor.publishers?.stats()[0]?.published, 1)
  })

  it('a handler hands a large payload over with { transfer: true } instead of copying it', async () => {
    const pub = await new TestPublisher().bind(inproc('frames-in'))
    const out = inproc('frames-out')
    const config = loadConfig({
      ZC_SERVICE: fixtureService('frame-out'),
      LOG_LEVEL: 'fatal',
      ZMQ_SETTLE_MS: '0',
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'camera.cmd',
      ZMQ_PUB_ENDPOINT: out,
      ZMQ_PUB_TOPICS: 'camera.frame',
    })
    const memory = memoryLogger()
    const supervisor = new Supervisor(config, { log: memory.log })
    const reports: Array<{ payload: string; leftBytes: number }> = []
    supervisor.on('workerMessage', (d) => reports.push(d as { payload: string; leftBytes: number }))
    assert.equal(await supervisor.start(), true)
    const sub = new TestSubscriber(out, ['camera.frame'])
    await memory.waitFor((l) => l.msg === 'subscriber attached')
    await pub.subscribed('camera.cmd')
    for (const mode of ['copy', 'transfer']) {
      await pub.send(['camera.cmd', mode])
      const [topic, frame] = await sub.receive()
      assert.equal(topic, 'camera.frame')
      assert.equal(frame.length, 1 << 20)
    }
    while (reports.length < 2) await once(supervisor, 'workerMessage')
    assert.deepEqual(reports, [
      { payload: 'copy', leftBytes: 1 << 20 },
      { payload: 'transfer', leftBytes: 0 },
    ])
    await supervisor.close('manual')
    sub.close()
    pub.close()
  })

  it('an invalid topic from a handler throws in the handler and is counted', async () => {
    const container = await startContainer({
      service: fixtureService('echo'),
      env: { ZMQ_SUB_TOPICS: 'camera.cmd', ZMQ_PUB_ENDPOINT: 'auto', LOG_LEVEL: 'fatal' },
    })
    await container.publish('camera.cmd', 'bad-publish')
    await container.publish('camera.cmd', 'no-reply')
    await container.nextMessage((d) => (d as Seen).payload === 'no-reply')
    await container.close()
    const counts = container.counters().sub
    assert.equal(counts?.publishRejected, 1)
    assert.equal(counts?.dropped.handler_error, 1)
  })

  it('main-thread publish: invalid topics throw and count, undeclared topics warn once each', async () => {
    const { supervisor, lines } = await startEcho({
      ZMQ_PUB_ENDPOINT: inproc('main-pub'),
      ZMQ_PUB_TOPICS: 'camera.frame',
    })
    assert.throws(() => supervisor.publish('camera frame', 'x'), { code: 'ZC_ERR_TOPIC_INVALID' })
    assert.throws(() => supervisor.publish('a'.repeat(65), 'x'), { code: 'ZC_ERR_TOPIC_INVALID' })
    assert.equal(supervisor.publishers?.rejected, 2)
    assert.equal(supervisor.publish('camera.frame', 'x'), true)
    assert.equal(supervisor.publish('camera.other', 'x'), true)
    assert.equal(supervisor.publish('camera.other', 'y'), true)
    const warnings = lines.filter(
      (l) => l.level === 40 && String(l.msg).startsWith('topic not declared'),
    )
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]?.topic, 'camera.other')
    await supervisor.close('manual')
    assert.equal(supervisor.publish('camera.frame', 'late'), false, 'dropped once closed')
    assert.equal(supervisor.publishers?.stats()[0]?.dropped.closed, 1)
  })
})

describe('shutdown in process', () => {
  it('under a flood: joins cleanly and every received message is handled or counted', async () => {
    const pub = await new TestPublisher().bind('tcp://127.0.0.1:*')
    const { supervisor, until } = await startEcho({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'camera.cmd',
    })
    await pub.subscribed('camera.cmd')
    let flooding = true
    const flood = (async () => {
      let sent = 0
      while (flooding) {
        await pub.send(['camera.cmd', sent === 0 ? 'first' : 'no-reply'])
        sent++
      }
      return sent
    })()
    await until('first')
    const result = await supervisor.close('manual')
    flooding = false
    const sent = await flood
    assert.equal(result.clean, true)
    assert.deepEqual(result.terminated, [])
    const counts = supervisor.counters().sub
    assert.ok((counts?.received ?? 0) >= 1)
    assert.ok((counts?.received ?? 0) <= sent)
    assert.equal(counts?.received, (counts?.handled ?? 0) + (counts?.droppedTotal ?? 0))
    pub.close()
  })

  it('close() is idempotent and returns the first result', async () => {
    const pub = await new TestPublisher().bind(inproc('idem'))
    const { supervisor } = await startEcho({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'camera.cmd',
    })
    const [a, b] = await Promise.all([supervisor.close('manual'), supervisor.close('signal')])
    assert.equal(a, b)
    assert.equal(a.clean, true)
    pub.close()
  })
})
