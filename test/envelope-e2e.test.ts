// Issue 16 end to end: `node dist/main.js` child processes, pyzmq peers (python3-zmq), loopback
// TCP with ephemeral ports. Latest value for a late subscriber, the README's pyzmq envelope
// reader, a seed-style pyzmq SUB on a plain socket, and a deadline with a stopped publisher.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { fixtureService, MAIN, ROOT } from './helpers/container'
import { get, parsePrometheus, probe } from './helpers/http'
import { LogProcess } from './helpers/log-process'
import type { LogLine } from './helpers/logs'

const PYTHON = '/usr/bin/python3'
const READER = path.join(ROOT, 'test', 'fixtures', 'pyzmq', 'envelope_reader.py')
const SEED_PEER = path.join(ROOT, 'test', 'fixtures', 'pyzmq', 'container.py')

function pyzmqMissing(): string | false {
  const probeRun = spawnSync(PYTHON, ['-c', 'import zmq'], { encoding: 'utf8' })
  if (probeRun.error) return `${PYTHON} is not installed`
  if (probeRun.status !== 0)
    return `pyzmq is missing for ${PYTHON} (apt-get install -y python3-zmq)`
  return false
}

const running: LogProcess[] = []
const cleanups: Array<() => void> = []

function start(label: string, command: string, args: string[], env: Record<string, string>) {
  const p = new LogProcess(label, command, args, {
    PATH: process.env.PATH ?? '',
    PYTHONUNBUFFERED: '1',
    ...env,
  })
  running.push(p)
  return p
}

const container = (label: string, env: Record<string, string>) =>
  start(label, process.execPath, [MAIN], { LOG_LEVEL: 'debug', ...env })

/** The address a PUB socket bound, from its `publisher ready` line. */
async function boundBy(p: LogProcess, socket: string): Promise<string> {
  const line = await p.waitForLog((l) => l.msg === 'publisher ready' && l.socket === socket)
  return ((line.endpoints as string[])[0] as string).replace(/^bind /, '')
}

describe('issue 16 end to end', () => {
  after(async () => {
    await Promise.all(running.map((p) => p.stop()))
    for (const cleanup of cleanups) cleanup()
  })

  it('the README shows the pyzmq envelope reader that this test runs', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    assert.ok(readme.includes(readFileSync(READER, 'utf8')), 'README and reader differ')
  })

  it('latest value: a late pyzmq reader gets the config published before it came, enveloped; a seed-style SUB on a plain socket is unchanged', {
    skip: pyzmqMissing(),
  }, async () => {
    const camera = container('camera', {
      ZC_SERVICE: fixtureService('latest-config'),
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'camera.config',
      ZMQ_PUB_LATEST_TOPICS: 'camera.config',
      ZMQ_PUB_ENVELOPE: 'true',
      ZMQ_PUB_TELEMETRY_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TELEMETRY_TOPICS: 'x.tick',
    })
    const enveloped = await boundBy(camera, 'pub')
    const plain = await boundBy(camera, 'telemetry')
    await camera.waitForLog((l) => l.msg === 'publishing' && l.topic === 'camera.config')

    const readConfig = async (label: string) => {
      const startedAt = performance.now()
      const reader = start(label, PYTHON, [READER], {
        ENDPOINT: enveloped,
        TOPIC: 'camera.config',
      })
      const line = await reader.waitForLog((l: LogLine) => l.topic === 'camera.config')
      // A figure, not an assertion (no wall-clock bounds in tests): python start-up included.
      console.log(
        `# ${label}: config ${Math.round(performance.now() - startedAt)} ms after the reader's spawn`,
      )
      return line
    }
    const first = await readConfig('reader-1')
    assert.equal(first.version, 1)
    assert.equal(first.seq, 1, 'the one config the service published')
    assert.match(first.publisher as string, /^[0-9a-f]{8}-[0-9a-f]{8}$/)
    assert.ok(Math.abs(Date.now() - (first.sentAt as number)) < 60_000, 'a wall-clock send time')
    // A second late joiner gets the same message again: the service never published it twice.
    const second = await readConfig('reader-2')
    assert.equal(second.seq, 1)
    assert.equal(second.publisher, first.publisher)
    assert.equal(
      camera.lines.filter((l) => l.msg === 'publishing' && l.topic === 'camera.config').length,
      1,
    )

    // The seed's own SUB (two frames, recv_multipart unpacking) on the plain socket.
    const seed = start('pyzmq-seed', PYTHON, [SEED_PEER], {
      ZMQ_SUB_ENDPOINT: plain,
      ZMQ_SUB_TOPICS: 'x.tick',
    })
    const tick = await seed.waitForLog((l) => l.msg === 'received' && l.topic === 'x.tick')
    assert.match(String(tick.payload), /^\d+$/)
    seed.signal('SIGTERM')
    assert.equal((await seed.exited).code, 0, seed.dump())
    camera.signal('SIGTERM')
    assert.equal((await camera.exited).code, 0, camera.dump())
  })

  it('a restarted publisher container is seen as a restart, with no false loss', async () => {
    const cameraEnv = (endpoint: string) => ({
      ZC_SERVICE: fixtureService('ticker'),
      ZMQ_PUB_ENDPOINT: endpoint,
      ZMQ_PUB_TOPICS: 'x.tick',
      ZMQ_PUB_ENVELOPE: 'true',
    })
    // A fixed address, configured the same both times (the publisher's identity includes it).
    const dir = mkdtempSync(path.join(tmpdir(), 'zc-envelope-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const endpoint = `ipc://${dir}/camera`
    const first = container('camera-1', cameraEnv(endpoint))
    await boundBy(first, 'pub')
    // The logging service: its `received` line says a message of the first camera arrived.
    const watcher = container('watcher', {
      ZMQ_SUB_ENDPOINT: endpoint,
      ZMQ_SUB_TOPICS: 'x.tick',
      ZMQ_SUB_ENVELOPE: 'true',
      HTTP_PORT: '0',
    })
    const port = (await watcher.waitForLog('http listening')).port as number
    const metric = async (name: string) =>
      parsePrometheus((await get(port, '/metrics')).body).get(name)?.samples[0]?.value
    await watcher.waitForLog((l) => l.msg === 'received' && l.topic === 'x.tick')
    first.signal('SIGTERM')
    assert.equal((await first.exited).code, 0, first.dump())
    // The same socket on the same port: a new epoch, its sequence back at 1.
    const second = container('camera-2', cameraEnv(endpoint))
    const restarted = await watcher.waitForLog('publisher restarted')
    assert.equal(restarted.topic, 'x.tick')
    assert.equal(await metric('zc_publisher_restarts_total'), 1)
    assert.equal(await metric('zc_messages_lost_total'), 0)
    assert.equal(
      parsePrometheus((await get(port, '/metrics')).body)
        .get('zc_messages_dropped_total')
        ?.samples.find((s) => s.labels.reason === 'duplicate')?.value,
      0,
    )
    watcher.signal('SIGTERM')
    second.signal('SIGTERM')
    assert.equal((await watcher.exited).code, 0, watcher.dump())
    assert.equal((await second.exited).code, 0, second.dump())
  })

  it('deadline: a SIGSTOPped heartbeat publisher gives one log and one count, its return one log', async () => {
    const heart = container('heartbeat', {
      ZC_SERVICE: fixtureService('ticker'),
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'x.tick',
    })
    const endpoint = await boundBy(heart, 'pub')
    // The logging service: its `received` line says the first heartbeat arrived (the deadline
    // counts from there).
    const watcher = container('watcher', {
      ZMQ_SUB_ENDPOINT: endpoint,
      ZMQ_SUB_TOPICS: 'x.tick',
      ZMQ_SUB_DEADLINE_MS: '300',
      ZC_READY_ON_DEADLINE: 'true',
      HTTP_PORT: '0',
    })
    const port = (await watcher.waitForLog('http listening')).port as number
    await watcher.waitForLog((l) => l.msg === 'received' && l.topic === 'x.tick')
    const missedLines = () => watcher.lines.filter((l) => l.msg === 'deadline missed')
    const missedCount = async () =>
      parsePrometheus((await get(port, '/metrics')).body)
        .get('zc_deadline_missed_total')
        ?.samples.find((s) => s.labels.topic === 'x.tick')?.value
    assert.equal(await missedCount(), 0)

    heart.signal('SIGSTOP')
    try {
      const missed = await watcher.waitForLog('deadline missed')
      assert.equal(missed.topic, 'x.tick')
      assert.ok((missed.silentMs as number) > 300)
      assert.deepEqual((await probe(port, '/readyz')).degraded, [
        'socket sub has a topic silent past its deadline',
      ])
      // The silence goes on for several checks (every 75 ms): still one line, one count.
      await delay(1000)
      assert.equal(missedLines().length, 1)
      assert.equal(await missedCount(), 1)
    } finally {
      heart.signal('SIGCONT')
    }
    const recovered = await watcher.waitForLog('deadline recovered')
    assert.ok((recovered.silentMs as number) >= 1000)
    assert.equal(missedLines().length, 1)
    assert.equal(watcher.lines.filter((l) => l.msg === 'deadline recovered').length, 1)
    assert.deepEqual((await probe(port, '/readyz')).degraded, [])
    watcher.signal('SIGTERM')
    heart.signal('SIGTERM')
    assert.equal((await watcher.exited).code, 0, watcher.dump())
    assert.equal((await heart.exited).code, 0, heart.dump())
  })
})
