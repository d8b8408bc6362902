// The promises behind "never 134" tested the hard way: a worker that runs out of memory, signals
// across the start-up window, SIGHUP, and the books after a worker dies with work in flight.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { EXIT } from '../src/exit-codes'
import { ContainerProcess, type Exit, fixtureService } from './helpers/container'
import { TestPublisher } from './helpers/peers'

const publishers: TestPublisher[] = []
after(() => {
  for (const p of publishers) p.close()
})

async function publisher(...topics: string[]) {
  const pub = await new TestPublisher().bind()
  publishers.push(pub)
  return { pub, attached: pub.subscribed(...topics) }
}

function assertNoAbort(exit: Exit, container: ContainerProcess) {
  assert.notEqual(exit.code, 134, `process aborted (SIGABRT):\n${container.dump()}`)
  assert.notEqual(exit.signal, 'SIGABRT', container.dump())
  assert.ok(
    !container.stderrLines.some((l) => /Assertion failed|terminate called/.test(l)),
    container.dump(),
  )
}

describe('out of memory in a receive worker', () => {
  // The reproduction: every message kept forever, a small heap, the monitor on (its
  // pending native receive is what turned V8's out-of-memory teardown into SIGABRT).
  const RUNS = 3
  for (let run = 1; run <= RUNS; run++) {
    it(`is restarted, then at the restart limit exits 71 with "stopped" last, never 134 (run ${run}/${RUNS})`, async () => {
      const { pub, attached } = await publisher('x.msg')
      const container = new ContainerProcess({
        ZMQ_SUB_ENDPOINT: pub.endpoint,
        ZMQ_SUB_TOPICS: 'x.msg',
        ZC_SERVICE: fixtureService('leaks'),
        ZMQ_MONITOR: 'true',
        NODE_OPTIONS: '--max-old-space-size=96',
        LOG_LEVEL: 'info',
        ZC_RESTART_LIMIT: '1',
        ZC_RESTART_BACKOFF_MS: '20',
      })
      await container.waitForLog('ready')
      await attached
      // Fed until the container ends; each message adds about 2 MB the handler never lets go.
      let feeding = true
      void (async () => {
        for (let i = 0; feeding; i++) {
          await pub.send(['x.msg', String(i)])
          await new Promise((resolve) => setImmediate(resolve))
        }
      })()
      const exit = await container.exited
      feeding = false
      assertNoAbort(exit, container)
      assert.equal(exit.code, EXIT.WORKER_FAILED, container.dump())
      const failures = container.lines.filter((l) => l.msg === 'receive worker failed')
      assert.ok(failures.length >= 2, container.dump())
      for (const f of failures) assert.equal(f.reason, 'out_of_memory', container.dump())
      assert.ok(
        container.lines.some((l) => l.msg === 'receive worker restarted'),
        container.dump(),
      )
      assert.ok(
        container.lines.some((l) => l.msg === 'restart limit reached'),
        container.dump(),
      )
      assert.equal(container.lastLine?.msg, 'stopped', container.dump())
      assert.equal(container.lastLine?.exitCode, EXIT.WORKER_FAILED)
    })
  }
})

describe('books after a worker dies', () => {
  it('a message received but unfinished when its worker dies is dropped as worker_failed', async () => {
    const { pub, attached } = await publisher('x.msg', 'x.stuck')
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'x.msg,x.stuck',
      ZC_SERVICE: fixtureService('dies-in-flight'),
      ZC_SHUTDOWN_TIMEOUT_MS: '300',
      ZC_RESTART_BACKOFF_MS: '20',
    })
    await container.waitForLog('ready')
    await attached
    await pub.send(['x.msg', 'one'])
    await container.waitForLog('handled')
    await pub.send(['x.stuck', 'two'])
    await container.waitForLog('receive worker restarted')
    container.signal('SIGTERM')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.code, EXIT.OK, container.dump())
    const stopped = container.lines.find((l) => l.msg === 'receive worker stopped')
    assert.equal(stopped?.received, 2, container.dump())
    assert.equal(stopped?.handled, 1)
    assert.equal((stopped?.dropped as Record<string, number> | undefined)?.worker_failed, 1)
    assert.equal(
      stopped?.received,
      (stopped?.handled as number) + (stopped?.droppedTotal as number),
    )
  })
})
