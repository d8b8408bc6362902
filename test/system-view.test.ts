// The live system view: /info on HTTP_PORT, `graph --live` and `top` against two running
// containers: `echo` takes a.in from the test's publisher and republishes it as a.reply, which
// `sink` subscribes to.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { InfoDocument } from '../src/shared/info-document'
import { runCli } from './helpers/cli'
import { ContainerProcess, fixtureService, MAIN, ROOT } from './helpers/container'
import { get } from './helpers/http'
import { TestPublisher } from './helpers/peers'
import { count, waitForPane } from './helpers/tmux'

const VERSION = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version

async function info(port: number): Promise<InfoDocument> {
  const { status, body } = await get(port, '/info')
  assert.equal(status, 200, body)
  return JSON.parse(body) as InfoDocument
}

/** Reads /info until `done` holds, with a deadline: a wait on state, not a sleep. */
async function infoUntil(
  port: number,
  done: (doc: InfoDocument) => boolean,
  deadlineMs = 10_000,
): Promise<InfoDocument> {
  const until = performance.now() + deadlineMs
  for (;;) {
    const doc = await info(port)
    if (done(doc)) return doc
    if (performance.now() > until) throw new Error(`/info never matched: ${JSON.stringify(doc)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const published = (doc: InfoDocument, topic: string) =>
  doc.sockets.find((s) => s.kind === 'pub')?.publishedByTopic?.[topic] ?? 0

async function httpPort(container: ContainerProcess): Promise<number> {
  const line = await container.waitForLog('http listening')
  return line.port as number
}

/** A loopback port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('system view: /info, graph --live, top', () => {
  let feeder: TestPublisher
  let echo: ContainerProcess
  let sink: ContainerProcess
  let echoPort = 0
  let sinkPort = 0
  let echoPub = ''

  before(async () => {
    feeder = await new TestPublisher().bind()
    echo = new ContainerProcess(
      {
        LOG_LEVEL: 'info',
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        ZC_SERVICE: fixtureService('echo'),
        ZMQ_SUB_ENDPOINT: feeder.endpoint,
        ZMQ_SUB_TOPICS: 'a.in',
        ZMQ_SUB_CLASS: 'telemetry',
        ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
        ZMQ_PUB_TOPICS: 'a.reply',
      },
      [],
      'echo',
    )
    echoPort = await httpPort(echo)
    await echo.waitForLog('ready')
    await feeder.subscribed('a.in')
    echoPub = (await info(echoPort)).sockets.find((s) => s.kind === 'pub')?.bound?.[0] ?? ''
    sink = new ContainerProcess(
      {
        LOG_LEVEL: 'info',
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        ZC_SERVICE: fixtureService('counting'),
        ZMQ_SUB_ENDPOINT: echoPub,
        ZMQ_SUB_TOPICS: 'a.reply',
        ZMQ_SUB_CLASS: 'telemetry',
      },
      [],
      'sink',
    )
    sinkPort = await httpPort(sink)
    await sink.waitForLog('ready')
    // The sink's subscription has reached the echo's PUB.
    await infoUntil(
      echoPort,
      (d) => d.sockets.find((s) => s.kind === 'pub')?.subscribersByTopic?.['a.reply'] === 1,
    )
  })

  after(async () => {
    for (const c of [echo, sink]) {
      c?.child.kill('SIGTERM')
      await c?.exited
    }
    feeder?.close()
  })

  it('/info matches the configuration: service, version, sockets, endpoints, topics, classes', async () => {
    const doc = await info(echoPort)
    assert.equal(doc.name, 'zmq-container')
    assert.equal(doc.version, VERSION)
    assert.equal(doc.service, fixtureService('echo'))
    assert.equal(doc.readiness.status, 'ok')
    const sub = doc.sockets.find((s) => s.kind === 'sub')
    const pub = doc.sockets.find((s) => s.kind === 'pub')
    assert.deepEqual(
      {
        endpoints: sub?.endpoints,
        topics: sub?.topics,
        class: sub?.class,
        envPrefix: sub?.envPrefix,
      },
      {
        endpoints: [{ address: feeder.endpoint, action: 'connect' }],
        topics: ['a.in'],
        class: 'telemetry',
        envPrefix: 'ZMQ_SUB',
      },
    )
    assert.equal(sub?.peers, 1)
    assert.equal(sub?.state, 'up')
    assert.deepEqual(pub?.endpoints, [{ address: 'tcp://127.0.0.1:*', action: 'bind' }])
    assert.match(pub?.bound?.[0] ?? '', /^tcp:\/\/127\.0\.0\.1:\d+$/)
    assert.deepEqual(pub?.topics, ['a.reply'])
    assert.equal(pub?.class, 'telemetry')
    assert.equal(pub?.curve, null)
    assert.equal(pub?.subscribersByTopic?.['a.reply'], 1)
  })

  it('/info counts what arrives: received = handled + dropped, published per topic', async () => {
    const before = await info(echoPort)
    const sent = 25
    for (let i = 0; i < sent; i++) await feeder.send(['a.in', `m${i}`])
    const after = await infoUntil(
      echoPort,
      (d) => published(d, 'a.reply') >= published(before, 'a.reply') + sent,
    )
    const sub0 = before.sockets.find((s) => s.kind === 'sub')
    const sub1 = after.sockets.find((s) => s.kind === 'sub')
    assert.equal((sub1?.received ?? 0) - (sub0?.received ?? 0), sent)
    assert.equal(
      (sub1?.receivedByTopic?.['a.in'] ?? 0) - (sub0?.receivedByTopic?.['a.in'] ?? 0),
      sent,
    )
    const dropped = Object.values(sub1?.dropped ?? {}).reduce((a, b) => a + b, 0)
    assert.equal(sub1?.received, (sub1?.handled ?? 0) + dropped)
    assert.ok(after.timeMs >= before.timeMs)
  })

  it('graph --live draws the running system: echo publishes a.reply to sink', async () => {
    const dead = await closedPort()
    const { code, stdout, stderr } = await runCli([
      'graph',
      '--live',
      `http://127.0.0.1:${echoPort}`,
      `http://127.0.0.1:${sinkPort}`,
      `http://127.0.0.1:${dead}`,
    ])
    assert.equal(code, 0, stderr)
    assert.match(stderr, new RegExp(`http://127\\.0\\.0\\.1:${dead}: connection refused`))
    assert.match(stdout, /^ {2}c0_\w+_pub_pub --> t_a_reply$/m)
    assert.match(stdout, /^ {2}t_a_reply --> c1_\w+_sub_sub$/m)
    assert.match(stdout, /^ {2}t_a_in -\.->\|"no publisher"\| c0_\w+_sub_sub$/m)
  })

  const tmuxCheck = spawnSync('tmux', ['-V'])
  const skip =
    tmuxCheck.error || tmuxCheck.status !== 0
      ? 'tmux is not installed (apt-get install tmux); top needs a terminal'
      : false

  it('top renders under tmux: both containers, a rate within 10% of what the publisher sent, a dead URL named', {
    skip,
  }, async () => {
    const dead = await closedPort()
    const server = `zc-top-${process.pid}`
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-L', server, '-f', '/dev/null', ...args], { encoding: 'utf8' })
    // Steady sends with their wall-clock times: the rate top shows is checked against the sends
    // inside the very window top names (its sample time and length), not against a speed.
    const sentAt: number[] = []
    let feeding = true
    // One send at a time (a zeromq socket refuses a send while one is in flight), paced by a
    // timer: the pace need not be exact, since the check counts the actual sends.
    const feed = (async () => {
      while (feeding) {
        for (let i = 0; i < 4; i++) {
          sentAt.push(Date.now())
          await feeder.send(['a.in', 'x'])
        }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    tmux(
      'new-session',
      '-d',
      '-x',
      '200',
      '-y',
      '50',
      '-c',
      ROOT,
      `TZ=UTC '${process.execPath}' '${MAIN}' top http://127.0.0.1:${echoPort} http://127.0.0.1:${sinkPort} http://127.0.0.1:${dead}; echo EXIT=$?; cat`,
    )
    try {
      const pane = () => tmux('capture-pane', '-p')
      // Three samples after the first (the first has no rate yet), each checked.
      for (let checked = 0, lastSample = ''; checked < 3; ) {
        const screen = await waitForPane(
          pane,
          (s) => {
            const m = /sample (\S+) over/.exec(s)
            return (
              m !== null && m[1] !== lastSample && /^ {2}sub +SUB +telemetry +1 +[\d.]+ /m.test(s)
            )
          },
          15_000,
        )
        const echoBlock = screen.slice(screen.indexOf(`http://127.0.0.1:${echoPort}`))
        const m = /sample (\d\d):(\d\d):(\d\d)\.(\d{3}) over ([\d.]+) s/.exec(echoBlock)
        const rateShown = Number(/^ {2}sub +SUB +telemetry +1 +([\d.]+) /m.exec(echoBlock)?.[1])
        assert.ok(m, screen)
        lastSample = `${m[1]}:${m[2]}:${m[3]}.${m[4]}`
        const now = new Date()
        let endMs =
          Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) +
          ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 +
          Number(m[4])
        if (endMs > Date.now() + 3_600_000) endMs -= 86_400_000 // sampled before midnight
        const windowMs = Number(m[5]) * 1000
        const sent = sentAt.filter((t) => t > endMs - windowMs && t <= endMs).length
        const rateSent = sent / (windowMs / 1000)
        assert.ok(rateSent > 0, screen)
        assert.ok(
          Math.abs(rateShown - rateSent) <= 0.1 * rateSent,
          `top shows ${rateShown}/s, the publisher sent ${rateSent.toFixed(1)}/s in that window\n${screen}`,
        )
        // Both containers, the echo's PUB topic row, and the dead URL's one line.
        assert.match(screen, new RegExp(`counting\\.js {2}http://127\\.0\\.0\\.1:${sinkPort} `))
        assert.match(screen, /^ {4}a\.reply +topic +1 +[\d.]+$/m)
        const topicRate = Number(/^ {4}a\.in +topic +([\d.]+)$/m.exec(echoBlock)?.[1])
        assert.ok(Math.abs(topicRate - rateShown) <= 0.01 * rateShown + 0.1, screen)
        assert.match(
          screen,
          new RegExp(`^http://127\\.0\\.0\\.1:${dead} {2}NOT ANSWERING: connection refused`, 'm'),
        )
        assert.equal(count(screen, /^zmq-container top: 3 containers/gm), 1, screen)
        checked++
      }
      tmux('send-keys', 'C-c')
      // The terminal echoes the Ctrl-C as ^C before the shell's line.
      const end = await waitForPane(pane, (s) => /EXIT=\d+$/m.test(s), 15_000)
      assert.match(end, /EXIT=0$/m)
    } finally {
      feeding = false
      await feed
      tmux('kill-server')
    }
  })
})
