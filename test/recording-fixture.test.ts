// A recording as a test fixture, the way a service author uses one: replay the demo camera's
// traffic (examples/recordings/demo.mcap, recorded from `npm run demo`'s camera) into a fresh
// dashboard container and check what it made of it. Only the package's public API is used.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { Recording, replayInto } from '../src'
import { ContainerProcess, ROOT } from './helpers/container'
import { metricSum, scrape } from './helpers/http'

const DEMO = path.join(ROOT, 'examples', 'recordings', 'demo.mcap')
const dir = mkdtempSync(path.join(tmpdir(), 'zc-fixture-'))
const containers: ContainerProcess[] = []
after(async () => {
  for (const c of containers) await c.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('examples/recordings/demo.mcap as a test fixture', () => {
  it('holds the camera topology: frames and heartbeats with their recorded payloads', async () => {
    const recording = await Recording.open(DEMO)
    try {
      const counts = new Map<string, number>()
      for await (const m of recording.messages())
        counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1)
      assert.deepEqual([...counts.keys()].sort(), ['camera.frame', 'camera.heartbeat'])
      assert.ok((counts.get('camera.frame') ?? 0) >= 20, JSON.stringify([...counts]))
      assert.ok((counts.get('camera.heartbeat') ?? 0) >= 2, JSON.stringify([...counts]))
    } finally {
      await recording.close()
    }
  })

  it('replayed into a dashboard container, every heartbeat is handled as recorded', async () => {
    const heartbeats: Array<{ fps: number; frames: number }> = []
    const recording = await Recording.open(DEMO)
    for await (const m of recording.messages({ topics: ['camera.heartbeat'] }))
      heartbeats.push(JSON.parse(Buffer.from(m.payload).toString('utf8')))
    await recording.close()

    // The dashboard of the demo, watching only: no target rate to command, no REQ polling.
    const {
      DASHBOARD_TARGET_FPS: _target,
      DASHBOARD_CAMERA_CONTROL: _control,
      ...env
    } = parseEnv(
      readFileSync(path.join(ROOT, 'examples', 'dashboard', 'loopback.env'), 'utf8'),
    ) as Record<string, string>
    const frames = `ipc://${dir}/frames`
    const dashboard = new ContainerProcess({
      ...env,
      ZMQ_SUB_ENDPOINT: frames,
      ZMQ_PUB_ENDPOINT: `ipc://${dir}/cmd`,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
    })
    containers.push(dashboard)
    await dashboard.waitForLog('ready')

    // The replay binds where the camera would; the dashboard connects and subscribes to both
    // topics, and the replay waits for both subscriptions so that nothing is lost.
    const summary = await replayInto(DEMO, frames, { rate: 0, waitSubscribers: 2 })
    assert.equal(summary.byTopic.get('camera.heartbeat'), heartbeats.length)
    // Every message handled, by the dashboard's own count (a scrape per round).
    const port = Number((await dashboard.waitForLog('http listening')).port)
    const handled = async () =>
      metricSum(await scrape(port), 'zc_messages_handled_total', { socket: 'sub' })
    while ((await handled()) < summary.sent) {}
    const seen = dashboard.lines.filter((l) => l.msg === 'camera heartbeat')
    assert.deepEqual(
      seen.map((l) => ({ fps: l.cameraFps, frames: l.frames })),
      heartbeats.map((h) => ({ fps: h.fps, frames: h.frames })),
    )
    dashboard.signal('SIGTERM')
    const exit = await dashboard.exited
    assert.equal(exit.code, 0, dashboard.dump())
    const stopped = dashboard.lines.find((l) => l.msg === 'receive worker stopped')
    assert.equal(stopped?.received, summary.sent, dashboard.dump())
    assert.equal(stopped?.handled, summary.sent, dashboard.dump())
  })
})
