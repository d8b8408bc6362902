// Interoperability with a pyzmq container built the way the seed builds one (a thread with a
// blocking recv_multipart and RCVTIMEO, env-only wiring on the seed's variable names), in both
// directions, on loopback TCP with ephemeral ports and on ipc in a private folder.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { MAIN, ROOT } from './helpers/container'
import { LogProcess } from './helpers/log-process'
import type { LogLine } from './helpers/logs'

const PYTHON = '/usr/bin/python3'
const PEER = path.join(ROOT, 'test', 'fixtures', 'pyzmq', 'container.py')

function skipReason(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import zmq; print(zmq.zmq_version())'], {
    encoding: 'utf8',
  })
  if (probe.error) return `${PYTHON} is not installed`
  if (probe.status !== 0)
    return `pyzmq is missing for ${PYTHON} (apt-get install -y python3-zmq; .ci/run does it)`
  return false
}

const running: LogProcess[] = []

/** `node dist/main.js`, wired by `env` alone, as in the other end-to-end tests. */
function container(label: string, env: Record<string, string>): LogProcess {
  const p = new LogProcess(label, process.execPath, [MAIN], {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'debug',
    ...env,
  })
  running.push(p)
  return p
}

function peer(env: Record<string, string>): LogProcess {
  const p = new LogProcess('pyzmq', PYTHON, [PEER], {
    PATH: process.env.PATH ?? '',
    PYTHONUNBUFFERED: '1',
    ...env,
  })
  running.push(p)
  return p
}

/** The address a `tcp://127.0.0.1:*` bind resolved to, from a `publisher ready` line. */
function boundEndpoint(line: LogLine): string {
  const [first] = line.endpoints as string[]
  assert.ok(first, JSON.stringify(line))
  return first.replace(/^bind /, '')
}

async function stopBoth(a: LogProcess, b: LogProcess): Promise<void> {
  a.signal('SIGTERM')
  b.signal('SIGTERM')
  const [ea, eb] = await Promise.all([a.exited, b.exited])
  assert.equal(ea.code, 0, `${a.label} exit\n${a.dump()}`)
  assert.equal(eb.code, 0, `${b.label} exit\n${b.dump()}`)
}

describe('interop with a pyzmq container (python3-zmq)', { skip: skipReason() }, () => {
  after(async () => {
    await Promise.all(running.map((p) => p.stop()))
  })

  it('our camera -> pyzmq subscriber: frames and heartbeats arrive intact', async () => {
    const camera = container('camera', {
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'camera.frame,camera.heartbeat',
      ZC_SERVICE: 'camera',
      CAMERA_FPS: '20',
      CAMERA_FRAME_BYTES: '4096',
    })
    const endpoint = boundEndpoint(await camera.waitForLog('publisher ready'))
    await camera.waitForLog('ready')

    const python = peer({
      ZMQ_SUB_ENDPOINT: endpoint,
      ZMQ_SUB_TOPICS: 'camera.frame,camera.heartbeat',
    })
    // The camera's XPUB sees the peer's subscriptions: the peer is attached.
    for (const topic of ['camera.frame', 'camera.heartbeat'])
      await camera.waitForLog((l) => l.msg === 'subscriber attached' && l.subscription === topic)

    const frame = await python.waitForLog((l) => l.msg === 'received' && l.topic === 'camera.frame')
    assert.equal(frame.bytes, 4096)
    assert.equal(frame.fps, 20, 'the frame header decodes the same in Python')
    assert.ok(Math.abs(Date.now() - (frame.capturedAt as number)) < 60_000, 'capture time')
    const beat = await python.waitForLog(
      (l) => l.msg === 'received' && l.topic === 'camera.heartbeat',
    )
    assert.equal((JSON.parse(beat.payload as string) as { fps: number }).fps, 20)
    // Frames arrive in order.
    const later = await python.waitForLog(
      (l) => l.msg === 'received' && l.topic === 'camera.frame' && l !== frame,
    )
    assert.ok((later.seq as number) > (frame.seq as number))

    await stopBoth(python, camera)
    assert.equal(python.lines.find((l) => l.msg === 'stopped')?.clean, true, 'joined its thread')
  })

  it('pyzmq publisher of camera.cmd -> our camera obeys the command', async () => {
    const python = peer({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'camera.cmd',
      // Best effort, like the dashboard: repeated until the camera's log says it arrived.
      PEER_PUBLISH_TOPIC: 'camera.cmd',
      PEER_PUBLISH_PAYLOAD: JSON.stringify({ cmd: 'set_fps', fps: 25 }),
      PEER_PUBLISH_INTERVAL_MS: '50',
    })
    const endpoint = (await python.waitForLog('publisher ready')).endpoints as string[]

    const camera = container('camera', {
      ZMQ_SUB_ENDPOINT: endpoint.join(','),
      ZMQ_SUB_TOPICS: 'camera.cmd',
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'camera.frame,camera.heartbeat',
      ZC_SERVICE: 'camera',
      CAMERA_FPS: '10',
    })
    const received = await camera.waitForLog('command received')
    assert.equal(received.topic, 'camera.cmd')
    assert.equal(received.socket, 'sub')
    assert.equal(received.class, 'control')
    const changed = await camera.waitForLog('frame rate changed')
    assert.equal(changed.from, 10)
    assert.equal(changed.to, 25)

    await stopBoth(camera, python)
  })

  it('pyzmq camera <-> our dashboard over ipc: heartbeats in, a set_fps command back out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zc-interop-'))
    try {
      const heartbeats = `ipc://${dir}/frames`
      const commands = `ipc://${dir}/cmd`
      // The Python side plays the seed's camera: PUB binds heartbeats, SUB connects for commands.
      const python = peer({
        ZMQ_PUB_ENDPOINT: heartbeats,
        ZMQ_PUB_TOPICS: 'camera.heartbeat',
        ZMQ_SUB_ENDPOINT: commands,
        ZMQ_SUB_TOPICS: 'camera.cmd',
        PEER_PUBLISH_TOPIC: 'camera.heartbeat',
        PEER_PUBLISH_PAYLOAD: JSON.stringify({ uptimeS: 1, fps: 10, frames: 0 }),
        PEER_PUBLISH_INTERVAL_MS: '100',
      })
      await python.waitForLog('ready')
      const dashboard = container('dashboard', {
        ZMQ_SUB_ENDPOINT: heartbeats,
        ZMQ_SUB_TOPICS: 'camera.frame,camera.heartbeat',
        ZMQ_SUB_CLASS: 'telemetry',
        ZMQ_PUB_ENDPOINT: commands,
        ZMQ_PUB_TOPICS: 'camera.cmd',
        ZMQ_PUB_CLASS: 'control',
        ZC_SERVICE: 'dashboard',
        DASHBOARD_TARGET_FPS: '25',
      })
      const beat = await dashboard.waitForLog('camera heartbeat')
      assert.equal(beat.cameraFps, 10)
      const command = await python.waitForLog(
        (l) => l.msg === 'received' && l.topic === 'camera.cmd',
      )
      assert.deepEqual(JSON.parse(command.payload as string), { cmd: 'set_fps', fps: 25 })

      await stopBoth(dashboard, python)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
