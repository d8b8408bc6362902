// ZMQ_RECEIVE_COPY: received frames copied into ordinary Buffers, where zeromq.js hands a frame
// over 128 bytes over without a copy (src/shared/zmq/receive-copies.ts). zeromq.js decides once
// per process, so each case is a process of its own.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { ContainerProcess, fixtureService, ROOT } from './helpers/container'
import { get, metric, metricSum, parsePrometheus } from './helpers/http'
import { TestPublisher, TestSubscriber } from './helpers/peers'

const PROBE = path.join(ROOT, 'test', 'fixtures', 'receive-copies-probe.ts')
const RECEIVE_FIRST = path.join(ROOT, 'test', 'fixtures', 'preload', 'receive-first.js')

async function probe(order: 'copy-first' | 'no-copy-first' | 'receive-first' | 'none') {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--require',
    'tsx/cjs',
    PROBE,
    order,
  ])
  return JSON.parse(stdout) as {
    copied?: boolean
    electronLeft: boolean
    small: boolean
    large: boolean
  }
}

describe('settleReceiveCopies', () => {
  it('zeromq.js as it ships: a 1 KiB frame is an external Buffer, a 16-byte one a copy', async () => {
    // The baseline the other cases change: if zeromq.js ever copied by itself, this fails.
    assert.deepEqual(await probe('none'), { electronLeft: false, small: true, large: false })
  })

  it('asked for copies, first in the process: every frame after it is a copy, and no trace of Electron is left', async () => {
    assert.deepEqual(await probe('copy-first'), {
      copied: true,
      electronLeft: false,
      small: true,
      large: true,
    })
  })

  it('asked for no copies: reports false, measured, and frames stay external', async () => {
    assert.deepEqual(await probe('no-copy-first'), {
      copied: false,
      electronLeft: false,
      small: true,
      large: false,
    })
  })

  it('after a receive: says copies are not in effect, and frames stay external', async () => {
    assert.deepEqual(await probe('receive-first'), {
      copied: false,
      electronLeft: false,
      small: true,
      large: false,
    })
  })
})

describe('ZMQ_RECEIVE_COPY in the container', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const c of cleanup.reverse()) await c()
  })

  /** A container with a SUB from a test publisher, a PUB for what it relays, and /metrics. */
  async function start(service: string, env: Record<string, string>) {
    const pub = await new TestPublisher().bind()
    cleanup.push(() => pub.close())
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'probe.small,probe.large',
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'probe.relayed',
      ZC_SERVICE: fixtureService(service),
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      ...env,
    })
    cleanup.push(() => container.stop())
    const ready = await container.waitForLog('ready')
    const port = Number((await container.waitForLog('http listening')).port)
    await pub.subscribed('probe.small', 'probe.large')
    return { pub, container, ready, port }
  }

  async function stopped(container: ContainerProcess) {
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, 0, container.dump())
  }

  /** What the handler saw of a 16-byte and a 1 KiB payload, and what the container reported. */
  async function run(env: Record<string, string>) {
    const { pub, container, ready, port } = await start('frame-copy', env)
    await pub.send(['probe.small', Buffer.alloc(16)])
    await pub.send(['probe.large', Buffer.alloc(1024)])
    const checked = await Promise.all(
      ['probe.small', 'probe.large'].map((topic) =>
        container.waitForLog((l) => l.msg === 'frame checked' && l.topic === topic),
      ),
    )
    const families = parsePrometheus((await get(port, '/metrics')).body)
    await stopped(container)
    const warning = container.lines.find((l) => l.msg === 'receive copies not as configured')
    return {
      readyField: ready.receiveCopies,
      metric: metric(families, 'zc_receive_copies'),
      sizes: checked.map((l) => l.size),
      copies: checked.map((l) => l.copy),
      warning: warning && { wanted: warning.wanted, receiveCopies: warning.receiveCopies },
    }
  }

  it('on by default: the handler gets copies of small and large payloads alike', async () => {
    assert.deepEqual(await run({}), {
      readyField: true,
      metric: 1,
      sizes: [16, 1024],
      copies: [true, true],
      warning: undefined,
    })
  })

  it("false: zeromq.js's own way, a 1 KiB payload external, and the line and metric say so", async () => {
    assert.deepEqual(await run({ ZMQ_RECEIVE_COPY: 'false' }), {
      readyField: false,
      metric: 0,
      sizes: [16, 1024],
      copies: [true, false],
      warning: undefined,
    })
  })

  it('a receive before the supervisor (a preload): warns, and reports what handlers really get', async () => {
    assert.deepEqual(await run({ NODE_OPTIONS: `--require ${RECEIVE_FIRST}` }), {
      readyField: false,
      metric: 0,
      sizes: [16, 1024],
      copies: [true, false],
      warning: { wanted: true, receiveCopies: false },
    })
  })

  for (const copy of [true, false])
    it(`a relay that moves the received payload works ${copy ? 'with copies' : 'without (Node cannot move external memory: it is copied)'}`, async () => {
      const { pub, container, port } = await start('relay-transfer', {
        ZMQ_RECEIVE_COPY: String(copy),
      })
      const sub = new TestSubscriber(
        String((await container.waitForLog('publisher ready')).endpoints).replace(/^bind /, ''),
        ['probe.relayed'],
      )
      cleanup.push(() => sub.close())
      await container.waitForLog(
        (l) => l.msg === 'subscriber attached' && l.subscription === 'probe.relayed',
      )
      const payload = Buffer.alloc(1024, 9)
      await pub.send(['probe.large', payload])
      const [topic, relayed] = await sub.receive()
      const line = await container.waitForLog('relayed')
      const families = parsePrometheus((await get(port, '/metrics')).body)
      await stopped(container)
      assert.equal(topic, 'probe.relayed')
      assert.deepEqual(relayed, payload)
      // Moved: the handler's payload is empty afterwards. External: copied, still whole.
      assert.deepEqual(
        { size: line.size, lengthAfter: line.lengthAfter },
        {
          size: 1024,
          lengthAfter: copy ? 0 : 1024,
        },
      )
      assert.equal(metricSum(families, 'zc_handler_errors_total'), 0)
    })
})
