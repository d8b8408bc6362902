// Kubernetes Service semantics on loopback: the camera and the dashboard (the examples, each a
// real `node dist/main.js`) reach each other only through gates that route a new connection
// while the target's /readyz is 200, as a Service routes only to ready pods. With readiness that
// waited for peers, each would wait for the other forever (the deadlock of deploy/k8s).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { EXIT } from '../src/shared/exit-codes'
import { ContainerProcess, ROOT } from './helpers/container'
import { type GateTarget, ReadinessGate } from './helpers/gate'
import { probe } from './helpers/http'
import type { LogLine } from './helpers/logs'
import { within } from './helpers/within'

type Name = 'camera' | 'dashboard'

/**
 * The fixed loopback ports of examples/*\/loopback.env, who binds each, and the log line that
 * gives the address it really bound (each container binds `127.0.0.1:*` here).
 */
const PORTS = {
  5555: { owner: 'camera', boundBy: 'publisher ready' },
  5556: { owner: 'camera', boundBy: 'answering requests' },
  6000: { owner: 'dashboard', boundBy: 'publisher ready' },
} as const satisfies Record<number, { owner: Name; boundBy: string }>
type Port = keyof typeof PORTS

const loopbackEnv = (name: Name) =>
  parseEnv(readFileSync(path.join(ROOT, 'examples', name, 'loopback.env'), 'utf8')) as Record<
    string,
    string
  >

/** The running container of each side; replaced when a side restarts. */
const current: Partial<Record<Name, ContainerProcess>> = {}
const started: ContainerProcess[] = []
const gates = new Map<Port, ReadinessGate>()

function boundPort(container: ContainerProcess, msg: string): number | undefined {
  const line = container.lines.find((l) => l.msg === msg)
  const endpoint = (line?.endpoints as string[] | undefined)?.[0]
  const port = endpoint && /:(\d+)$/.exec(endpoint)?.[1]
  return port ? Number(port) : undefined
}

/** Where the gate for loopback port `port` routes now, read from the owner's own log lines. */
function targetOf(port: Port): GateTarget | undefined {
  const { owner, boundBy } = PORTS[port]
  const container = current[owner]
  if (!container?.running) return undefined
  const healthPort = container.lines.find((l) => l.msg === 'http listening')?.port
  const bound = boundPort(container, boundBy)
  return healthPort === undefined || bound === undefined
    ? undefined
    : { port: bound, healthPort: Number(healthPort) }
}

/**
 * Starts one side from its loopback env: what it binds moves to `127.0.0.1:*`, what it connects
 * to goes through the gate of the owner's port, as a Service name would.
 */
function start(name: Name, extra: Record<string, string> = {}): ContainerProcess {
  const env = loopbackEnv(name)
  for (const [key, value] of Object.entries(env)) {
    env[key] = value.replace(/tcp:\/\/127\.0\.0\.1:(\d+)/g, (whole, port: string) => {
      const known = PORTS[Number(port) as Port]
      if (!known) return whole
      if (known.owner === name) return 'tcp://127.0.0.1:*'
      return (gates.get(Number(port) as Port) as ReadinessGate).endpoint
    })
  }
  const container = new ContainerProcess(
    { ...env, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', ...extra },
    [],
    name,
  )
  current[name] = container
  started.push(container)
  return container
}

/** The container's 'ready' line, which carries the status /readyz answers; checked by a probe. */
async function servingReady(container: ContainerProcess): Promise<LogLine> {
  const ready = await container.waitForLog('ready')
  const port = Number((await container.waitForLog('http listening')).port)
  const answer = await probe(port, '/readyz')
  assert.equal(
    answer.status,
    200,
    `${container.label} /readyz: ${answer.body}\n${container.dump()}`,
  )
  assert.notEqual(ready.readyz, 'not ready', JSON.stringify(ready))
  return ready
}

async function stopCleanly(container: ContainerProcess): Promise<void> {
  container.signal('SIGTERM')
  const exit = await container.exited
  assert.equal(exit.code, EXIT.OK, container.dump())
}

const dumpAll = () => started.map((c) => c.dump()).join('\n')

describe('behind readiness-gated Services (Kubernetes semantics on loopback)', () => {
  after(async () => {
    await Promise.all(started.map((c) => c.stop()))
    for (const gate of gates.values()) gate.close()
  })

  it('camera and dashboard become ready, talk both ways, and each recovers from a restart of the other', {
    timeout: 60_000,
  }, async (t) => {
    for (const port of Object.keys(PORTS).map(Number) as Port[])
      gates.set(port, await ReadinessGate.open(() => targetOf(port)))

    // Both ready within 5 s: each SUB's publisher sits behind a gate that is closed until that
    // publisher's container is ready, so readiness must not wait for peers.
    const spawnedAt = performance.now()
    const camera = start('camera')
    const dashboard = start('dashboard')
    await within(
      Promise.all([servingReady(camera), servingReady(dashboard)]),
      5000,
      `both /readyz 200\n${dumpAll()}`,
    )
    t.diagnostic(`both ready ${Math.round(performance.now() - spawnedAt)} ms after spawn`)

    // Frames camera -> dashboard, the fps command back, and its confirmation in the frames.
    const flow = 20_000
    await within(dashboard.waitForLog('frame rate'), flow, `frames\n${dumpAll()}`)
    await within(camera.waitForLog('frame rate changed'), flow, `command\n${dumpAll()}`)
    await within(
      dashboard.waitForLog('command round trip confirmed'),
      flow,
      `round trip\n${dumpAll()}`,
    )

    // The camera restarts. The dashboard, not restarted, hears the new camera: frames, and its
    // command (the new camera starts at 10 fps) is received and confirmed again.
    const lost = dashboard.waitForNextLog((l) => l.msg === 'peer lost')
    await stopCleanly(camera)
    await within(lost, flow, `dashboard noticing the camera left\n${dumpAll()}`)
    // Every wait starts before the new camera does: the dashboard can reconnect and log
    // `peer back` before the new camera's own ready check returns (a missed line, seen on Node 24).
    const back = dashboard.waitForNextLog((l) => l.msg === 'peer back')
    const resumed = dashboard.waitForNextLog((l) => l.msg === 'frame rate')
    const reconfirmed = dashboard.waitForNextLog((l) => l.msg === 'command round trip confirmed')
    const camera2 = start('camera')
    await within(servingReady(camera2), 5000, `the new camera ready\n${dumpAll()}`)
    await within(back, flow, `peer back\n${dumpAll()}`)
    await within(resumed, flow, `frames after the camera restart\n${dumpAll()}`)
    await within(camera2.waitForLog('frame rate changed'), flow, `command\n${dumpAll()}`)
    await within(reconfirmed, flow, `round trip after the restart\n${dumpAll()}`)

    // The dashboard restarts, with another target: the camera, not restarted, receives it.
    const cameraLost = camera2.waitForNextLog((l) => l.msg === 'peer lost')
    await stopCleanly(dashboard)
    await within(cameraLost, flow, `camera noticing the dashboard left\n${dumpAll()}`)
    const dashboard2 = start('dashboard', { DASHBOARD_TARGET_FPS: '15' })
    await within(servingReady(dashboard2), 5000, `the new dashboard ready\n${dumpAll()}`)
    const changed = await within(
      camera2.waitForLog((l) => l.msg === 'frame rate changed' && l.to === 15),
      flow,
      `the new dashboard's command at the camera\n${dumpAll()}`,
    )
    assert.equal(changed.from, 25)
    await within(dashboard2.waitForLog('frame rate'), flow, `frames\n${dumpAll()}`)

    for (const gate of gates.values()) assert.ok(gate.routed > 0, 'every gate routed')
    await Promise.all([stopCleanly(camera2), stopCleanly(dashboard2)])
  })
})
