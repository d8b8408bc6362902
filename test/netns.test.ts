// Multi-host on one machine: camera and dashboard in two network namespaces joined by a veth
// pair, each with its own address, wired by the examples' Docker .env files with the service
// names rewritten to those addresses. The link goes down for a few seconds and comes back;
// delivery resumes over the same processes, without a restart.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { parseEnv } from 'node:util'
import { MAIN, ROOT } from './helpers/container'
import { LogProcess } from './helpers/log-process'
import type { LogLine } from './helpers/logs'

const OUTAGE_MS = 3000
// RFC 5737 TEST-NET-1: documentation addresses, here only inside the test's own namespaces.
const ADDRESS = { camera: '192.0.2.1', dashboard: '192.0.2.2' } as const
const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`
const NS = { camera: `zc-${id}-cam`, dashboard: `zc-${id}-dash` } as const

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`)
}

/** Root and a working `ip netns`, proven by making (and removing) a namespace. */
function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (CI runs as root)'
  const probe = `zc-${id}-probe`
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (added.error)
    return `ip netns is unavailable: ${added.error.message} (apt-get install iproute2)`
  if (added.status !== 0) return `ip netns add failed: ${added.stderr.trim()}`
  const exec = spawnSync('ip', ['netns', 'exec', probe, process.execPath, '-e', ''], {
    encoding: 'utf8',
  })
  spawnSync('ip', ['netns', 'del', probe])
  if (exec.status !== 0) return `ip netns exec failed: ${exec.stderr.trim()}`
  return false
}

/** The example's Docker .env, with the peer's service name replaced by its namespace address. */
function envFor(service: keyof typeof NS): Record<string, string> {
  const file = path.join(ROOT, 'examples', service, '.env')
  const env = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>
  for (const [key, value] of Object.entries(env)) {
    env[key] = value.replace(
      /tcp:\/\/(camera|dashboard):/g,
      (_, host: keyof typeof ADDRESS) => `tcp://${ADDRESS[host]}:`,
    )
  }
  return env
}

const isFrameRate = (l: LogLine) => l.msg === 'frame rate' && typeof l.seq === 'number'

describe('camera and dashboard on two hosts (network namespaces + veth)', {
  skip: skipReason(),
}, () => {
  const procs: Partial<Record<keyof typeof NS, LogProcess>> = {}
  let nsCreated = false

  before(() => {
    nsCreated = true
    ip('netns', 'add', NS.camera)
    ip('netns', 'add', NS.dashboard)
    ip(
      '-n',
      NS.camera,
      'link',
      'add',
      'veth0',
      'type',
      'veth',
      'peer',
      'name',
      'veth0',
      'netns',
      NS.dashboard,
    )
    for (const service of ['camera', 'dashboard'] as const) {
      ip('-n', NS[service], 'link', 'set', 'lo', 'up')
      ip('-n', NS[service], 'addr', 'add', `${ADDRESS[service]}/24`, 'dev', 'veth0')
      ip('-n', NS[service], 'link', 'set', 'veth0', 'up')
    }
  })

  after(async () => {
    // Processes first: a namespace with a process inside outlives `ip netns del`.
    await Promise.all(Object.values(procs).map((p) => p?.stop()))
    if (!nsCreated) return
    for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns])
  })

  it('frames flow across the link; heartbeats detect a 3 s outage; delivery resumes without restarts', async () => {
    for (const service of ['camera', 'dashboard'] as const) {
      procs[service] = new LogProcess(
        service,
        'ip',
        ['netns', 'exec', NS[service], process.execPath, MAIN],
        {
          PATH: process.env.PATH ?? '',
          LOG_LEVEL: 'debug',
          ...envFor(service),
          // Heartbeats shorter than the outage, so the dead link is noticed while it lasts.
          ZMQ_HEARTBEAT_IVL_MS: '250',
          ZMQ_HEARTBEAT_TIMEOUT_MS: '1000',
          ZMQ_HEARTBEAT_TTL_MS: '1000',
        },
      )
    }
    const camera = procs.camera as LogProcess
    const dashboard = procs.dashboard as LogProcess
    const pids = {
      camera: (await camera.waitForLog('ready')).pid,
      dashboard: (await dashboard.waitForLog('ready')).pid,
    }
    // `ip netns exec` execs node, so the child is the container itself.
    assert.equal(pids.camera, camera.child.pid)
    assert.equal(pids.dashboard, dashboard.child.pid)

    // Both directions cross the veth: frames to the dashboard, its set_fps command back.
    await dashboard.waitForLog(isFrameRate)
    await dashboard.waitForLog('command round trip confirmed')
    await camera.waitForLog('frame rate changed')

    const isDisconnect = (l: { msg: string; event?: unknown }) =>
      l.msg === 'socket event' && l.event === 'disconnect'
    const lost = Promise.all([
      dashboard.waitForNextLog(isDisconnect),
      camera.waitForNextLog(isDisconnect),
    ])
    ip('-n', NS.camera, 'link', 'set', 'veth0', 'down')
    const downAt = performance.now()
    // The outage itself, not a synchronisation: the link stays down this long.
    const [, lostAt] = await Promise.all([delay(OUTAGE_MS), lost.then(() => performance.now())])
    const reconnected = dashboard.waitForNextLog(
      (l) => l.msg === 'socket event' && l.event === 'handshake',
    )
    ip('-n', NS.camera, 'link', 'set', 'veth0', 'up')
    assert.ok(performance.now() - downAt >= OUTAGE_MS)
    assert.ok(
      lostAt - downAt < OUTAGE_MS,
      `the outage was detected after ${Math.round(lostAt - downAt)} ms`,
    )
    await reconnected

    // Frames produced after the link came back (seq above the camera's count at that moment)
    // reach the dashboard: the same TCP connection, retransmitted, or a reconnect.
    const beat = await camera.waitForNextLog((l) => l.msg === 'heartbeat')
    const resumed = await dashboard.waitForNextLog(
      (l) => isFrameRate(l) && (l.seq as number) > (beat.frames as number),
    )
    assert.ok((resumed.seq as number) > (beat.frames as number))

    // No restart: the same processes, each started once, still running.
    assert.ok(camera.running && dashboard.running)
    for (const [service, p] of [
      ['camera', camera],
      ['dashboard', dashboard],
    ] as const) {
      assert.equal(p.lines.filter((l) => l.msg === 'starting').length, 1, `${service} started once`)
      assert.ok(
        p.lines.every((l) => l.raw || l.pid === pids[service]),
        `${service} kept its pid`,
      )
    }

    camera.signal('SIGTERM')
    dashboard.signal('SIGTERM')
    const [ce, de] = await Promise.all([camera.exited, dashboard.exited])
    assert.equal(ce.code, 0, camera.dump())
    assert.equal(de.code, 0, dashboard.dump())
  })
})
