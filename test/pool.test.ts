// Pool mode (piscina): the receive thread keeps draining while handlers run elsewhere.
// The queue and drop policy are tested deterministically in pool-dispatch.test.ts.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { Piscina } from 'piscina'
import { Supervisor } from '../src/main/supervisor'
import { loadConfig } from '../src/shared/config'
import { poolTask } from '../src/worker/pool-dispatch'
import { fixtureService } from './helpers/container'
import { memoryLogger } from './helpers/logs'
import { TestPublisher } from './helpers/peers'

let unique = 0
const inproc = () => `inproc://pool-${process.pid}-${unique++}`

interface Report {
  topic: string
  payload: string
}

async function start(env: Record<string, string>) {
  const pub = new TestPublisher()
  // A small high-water mark on both ends (60 messages in all): a receiver that stops reading
  // loses messages fast, and one that keeps reading has 60 ms of slack at 1 message per ms.
  pub.socket.sendHighWaterMark = 30
  await pub.bind(inproc())
  const config = loadConfig({
    ZC_SERVICE: fixtureService('pool-work'),
    LOG_LEVEL: 'fatal',
    ZMQ_SETTLE_MS: '0',
    ZMQ_RCVHWM: '30',
    ZMQ_SUB_ENDPOINT: pub.endpoint,
    ZMQ_SUB_TOPICS: 'x.',
    ...env,
  })
  const supervisor = new Supervisor(config, { log: memoryLogger().log })
  const reports: Report[] = []
  supervisor.on('workerMessage', (data) => reports.push(data as Report))
  const until = async (payload: string) => {
    while (!reports.some((r) => r.payload === payload)) await once(supervisor, 'workerMessage')
  }
  assert.equal(await supervisor.start(), true)
  await pub.subscribed('x.')
  return { pub, supervisor, reports, until }
}

describe('pool mode', () => {
  it('keeps receiving while slow handlers run, where inline mode loses messages at the high-water mark', async () => {
    const burst: Record<string, number> = {}
    for (const [mode, env] of [
      ['inline', {}],
      ['pool', { ZMQ_SUB_POOL_THREADS: '2', ZMQ_SUB_POOL_QUEUE: '1000' }],
    ] as const) {
      const { pub, supervisor, reports, until } = await start(env)
      // A steady 1 message per ms: far above the handlers' 100 per s, far below what a receive
      // thread drains. (The pacing is the load profile, not a wait for an event.)
      for (let i = 0; i < 120; i++) {
        await pub.send(['x.slow', String(i)])
        await delay(1)
      }
      // A lossy link by design: the end marker itself may meet a full queue, so it is repeated
      // until the handler reports it. What differs between modes is the burst before it.
      const resend = setInterval(() => void pub.send(['x.end', 'end']), 50)
      await until('end')
      clearInterval(resend)
      await supervisor.close('manual')
      burst[mode] = reports.filter((r) => r.topic === 'x.slow').length
      const counts = supervisor.counters().sub
      assert.equal(counts?.received, (counts?.handled ?? 0) + (counts?.droppedTotal ?? 0))
      pub.close()
    }
    assert.equal(burst.pool, 120, 'pool mode handled the whole burst')
    assert.ok((burst.inline ?? 0) < 120, `inline mode handled ${burst.inline} of 120`)
  })

  it('hands the payload to a pool thread by transfer: the sender side is detached after', async () => {
    const pool = new Piscina({ filename: require.resolve('./fixtures/echo-task.js') })
    const task = poolTask({
      topic: 'x.msg',
      payload: Buffer.from('frame bytes'),
      receivedAt: performance.now(),
    })
    assert.equal(task.payload.byteLength, 11)
    const result = pool.run(task, { transferList: [task.payload.buffer as ArrayBuffer] })
    assert.equal(task.payload.buffer.byteLength, 0, 'transferred, not copied')
    assert.equal(await result, 11)
    await pool.destroy()
  })
})
