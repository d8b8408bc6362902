// The health listener against clients that hold connections: idle ones are closed, connections
// beyond the cap are refused, and /livez answers normally afterwards.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { HealthServer } from '../src/main/health'
import { withDeadline } from '../src/shared/deadline'
import { get } from './helpers/http'
import { memoryLogger } from './helpers/logs'

const LIMITS = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 400,
  idleTimeoutMs: 300,
  maxConnections: 4,
}
const source = {
  readiness: () => ({ ready: true, reasons: [], degraded: [] }),
  liveness: () => ({ live: true, reasons: [] }),
}

describe('HTTP listener limits', () => {
  const sockets: Socket[] = []
  after(() => {
    for (const s of sockets) s.destroy()
  })

  it('closes idle connections, refuses those past the cap, and /livez still answers', async () => {
    const { log } = memoryLogger()
    const server = await HealthServer.listen(
      { port: 0, host: '127.0.0.1' },
      source,
      () => new Registry(),
      log,
      undefined,
      LIMITS,
    )
    try {
      const open = async () => {
        const socket = connect(server.port, '127.0.0.1')
        sockets.push(socket)
        const closed = once(socket, 'close')
        await once(socket, 'connect')
        // Wrapped: an async function returning the promise itself would wait for it.
        return { closed }
      }
      const idle = []
      for (let i = 0; i < LIMITS.maxConnections; i++) idle.push((await open()).closed)
      const openedAt = performance.now()
      // The one past the cap is closed by the server straight away, long before any timeout.
      const { closed: extra } = await open()
      assert.equal(
        await withDeadline(
          extra.then(() => 'closed'),
          5000,
          'open',
        ),
        'closed',
      )
      // The idle ones are closed by the server; without limits they would stay open for good.
      const all = Promise.all(idle).then(() => 'closed')
      assert.equal(await withDeadline(all, 5000, 'still open'), 'closed')
      assert.ok(performance.now() - openedAt >= LIMITS.idleTimeoutMs - 50)
      const { status } = await get(server.port, '/livez')
      assert.equal(status, 200)
    } finally {
      await server.close()
    }
  })
})
