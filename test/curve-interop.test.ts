// CURVE interop with pyzmq (Debian python3-zmq), both ways: our PUB as the CURVE server with a
// pyzmq SUB client, admitted by our ZAP handler; and a pyzmq XPUB as the CURVE server, with its
// own ZAP handler (zmq.auth), and our SUB as the client. Keys come from zeromq.curveKeyPair here.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { curveKeyPair } from 'zeromq'
import { LOG_MESSAGES } from '../src/shared/log-messages'
import { MAIN, ROOT } from './helpers/container'
import { LogProcess } from './helpers/log-process'
import type { LogLine } from './helpers/logs'

const PYTHON = '/usr/bin/python3'
const PEER = path.join(ROOT, 'test', 'fixtures', 'pyzmq', 'curve_peer.py')

function skipReason(): string | false {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import zmq, sys; sys.exit(0 if zmq.has("curve") else 3)'],
    {
      encoding: 'utf8',
    },
  )
  if (probe.error) return `${PYTHON} is not installed`
  if (probe.status === 3) return `pyzmq for ${PYTHON} has a libzmq without CURVE`
  if (probe.status !== 0)
    return `pyzmq is missing for ${PYTHON} (apt-get install -y python3-zmq; .ci/run does it)`
  return false
}

const running: LogProcess[] = []

function container(env: Record<string, string>): LogProcess {
  const p = new LogProcess('container', process.execPath, [MAIN], {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'debug',
    ...env,
  })
  running.push(p)
  return p
}

function peer(label: string, env: Record<string, string>): LogProcess {
  const p = new LogProcess(label, PYTHON, [PEER], {
    PATH: process.env.PATH ?? '',
    PYTHONUNBUFFERED: '1',
    ...env,
  })
  running.push(p)
  return p
}

function boundEndpoint(line: LogLine): string {
  const [first] = line.endpoints as string[]
  assert.ok(first, JSON.stringify(line))
  return first.replace(/^bind /, '')
}

async function stopCleanly(...processes: LogProcess[]): Promise<void> {
  for (const p of processes) p.signal('SIGTERM')
  for (const p of processes) {
    const exit = await p.exited
    assert.equal(exit.code, 0, `${p.label} exit ${exit.code ?? exit.signal}\n${p.dump()}`)
  }
}

function assertNoSecret(p: LogProcess, secrets: string[]): void {
  const output = p.dump()
  for (const secret of secrets)
    assert.ok(!output.includes(secret), `a secret key in ${p.label}'s output`)
}

describe('CURVE interop with pyzmq (python3-zmq)', { skip: skipReason() }, () => {
  after(async () => {
    await Promise.all(running.map((p) => p.stop()))
  })

  it('our PUB is the CURVE server: an allowed pyzmq client receives, an unlisted one is rejected by our ZAP handler', async () => {
    const server = curveKeyPair()
    const python = curveKeyPair()
    const stranger = curveKeyPair()
    const camera = container({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'x.tick',
      ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
      ZMQ_PUB_CURVE_SECRET_KEY: server.secretKey,
      ZMQ_CURVE_ALLOW: python.publicKey,
      ZC_SERVICE: path.join(ROOT, 'test', 'fixtures', 'services', 'ticker.js'),
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
    })
    const endpoint = boundEndpoint(await camera.waitForLog(LOG_MESSAGES.publisherReady.msg))
    const port = Number((await camera.waitForLog(LOG_MESSAGES.httpListening.msg)).port)
    await camera.waitForLog(LOG_MESSAGES.ready.msg)

    const client = (label: string, keys: { publicKey: string; secretKey: string }) =>
      peer(label, {
        PEER_ROLE: 'sub',
        PEER_ENDPOINT: endpoint,
        PEER_TOPIC: 'x.tick',
        CURVE_SERVER_KEY: server.publicKey,
        CURVE_PUBLIC_KEY: keys.publicKey,
        CURVE_SECRET_KEY: keys.secretKey,
      })
    const allowed = client('pyzmq-allowed', python)
    const unlisted = client('pyzmq-unlisted', stranger)

    // The XPUB sees a subscription only after a completed handshake.
    await camera.waitForLog(
      (l) => l.msg === LOG_MESSAGES.subscriberAttached.msg && l.subscription === 'x.tick',
    )
    const first = await allowed.waitForLog('received')
    assert.equal(first.topic, 'x.tick')
    assert.equal(first.frames, 2)
    const second = await allowed.waitForNextLog((l) => l.msg === 'received')
    assert.ok(Number(second.payload) > Number(first.payload), 'ticks arrive in order')

    const rejected = await camera.waitForLog('CURVE handshake rejected')
    assert.equal(rejected.clientKey, stranger.publicKey)
    assert.equal(rejected.reason, 'client key not in ZMQ_CURVE_ALLOW')

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const accepted = Number(
      /^zc_curve_handshakes_total\{result="accepted"\} (\d+)$/m.exec(metrics)?.[1],
    )
    assert.ok(accepted >= 1, `no accepted handshake in\n${metrics}`)

    await stopCleanly(allowed, unlisted, camera)
    assert.ok(!unlisted.lines.some((l) => l.msg === 'received'), 'the unlisted client got nothing')
    assert.equal(
      camera.lines.filter((l) => l.msg === 'subscriber attached').length,
      1,
      'only the allowed client ever subscribed',
    )
    assertNoSecret(camera, [server.secretKey, python.secretKey, stranger.secretKey])
  })

  it('a pyzmq XPUB is the CURVE server with its own ZAP allowlist: our SUB, its CURVE client, receives', async () => {
    const server = curveKeyPair()
    const ours = curveKeyPair()
    const python = peer('pyzmq-server', {
      PEER_ROLE: 'pub',
      PEER_ENDPOINT: 'tcp://127.0.0.1:*',
      PEER_TOPIC: 'x.msg',
      PEER_PAYLOAD: 'curve',
      PEER_COUNT: '3',
      CURVE_PUBLIC_KEY: server.publicKey,
      CURVE_SECRET_KEY: server.secretKey,
      CURVE_ALLOW: ours.publicKey,
    })
    const endpoint = boundEndpoint(await python.waitForLog('publisher ready'))
    const dashboard = container({
      ZMQ_SUB_ENDPOINT: endpoint,
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_SUB_CURVE_PUBLIC_KEY: ours.publicKey,
      ZMQ_SUB_CURVE_SECRET_KEY: ours.secretKey,
      ZMQ_SUB_CURVE_SERVER_KEY: server.publicKey,
    })

    const zap = await python.waitForLog('zap')
    assert.equal(zap.clientKey, ours.publicKey, 'pyzmq saw our public key')
    assert.equal(zap.allowed, true)
    for (const payload of ['curve-0', 'curve-1', 'curve-2']) {
      const line = await dashboard.waitForLog((l) => l.msg === 'received' && l.payload === payload)
      assert.equal(line.topic, 'x.msg')
    }
    await stopCleanly(dashboard, python)
    assertNoSecret(dashboard, [ours.secretKey])
  })
})
