// ZMQ_RECEIVE_COPY: every received frame an ordinary Buffer, where zeromq.js hands a frame over
// 128 bytes over without a copy (src/shared/zmq/receive-copies.ts). zeromq.js decides once per
// process, so each case is a process of its own.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { ContainerProcess, fixtureService, ROOT } from './helpers/container'
import { get, metric, parsePrometheus } from './helpers/http'
import { TestPublisher } from './helpers/peers'

const PROBE = path.join(ROOT, 'test', 'fixtures', 'receive-copies-probe.ts')

async function probe(order: 'copy-first' | 'receive-first' | 'none') {
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

describe('copyReceivedFrames', () => {
  it('zeromq.js as it ships: a 1 KiB frame is an external Buffer, a 16-byte one a copy', async () => {
    // The baseline the other cases change: if zeromq.js ever copied by itself, this fails.
    assert.deepEqual(await probe('none'), { electronLeft: false, small: true, large: false })
  })

  it('first in the process: every frame after it is a copy, and no trace of Electron is left', async () => {
    assert.deepEqual(await probe('copy-first'), {
      copied: true,
      electronLeft: false,
      small: true,
      large: true,
    })
  })

  it('after a receive: says it is not in effect, and frames stay external', async () => {
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

  async function run(env: Record<string, string>) {
    const pub = await new TestPublisher().bind()
    cleanup.push(() => pub.close())
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'probe.small,probe.large',
      ZC_SERVICE: fixtureService('frame-copy'),
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      ...env,
    })
    cleanup.push(() => container.stop())
    const ready = await container.waitForLog('ready')
    const port = Number((await container.waitForLog('http listening')).port)
    await pub.subscribed('probe.small', 'probe.large')
    await pub.send(['probe.small', Buffer.alloc(16)])
    await pub.send(['probe.large', Buffer.alloc(1024)])
    const checked = await Promise.all(
      ['probe.small', 'probe.large'].map((topic) =>
        container.waitForLog((l) => l.msg === 'frame checked' && l.topic === topic),
      ),
    )
    const families = parsePrometheus((await get(port, '/metrics')).body)
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, 0, container.dump())
    return {
      readyField: ready.receiveCopies,
      metric: metric(families, 'zc_receive_copies'),
      sizes: checked.map((l) => l.size),
      copies: checked.map((l) => l.copy),
      warned: container.lines.some((l) => l.msg === 'receive copies not in effect'),
    }
  }

  it('on by default: the handler gets copies of small and large payloads alike', async () => {
    assert.deepEqual(await run({}), {
      readyField: true,
      metric: 1,
      sizes: [16, 1024],
      copies: [true, true],
      warned: false,
    })
  })

  it("false: zeromq.js's own way, a 1 KiB payload external, and the line and metric say so", async () => {
    assert.deepEqual(await run({ ZMQ_RECEIVE_COPY: 'false' }), {
      readyField: false,
      metric: 0,
      sizes: [16, 1024],
      copies: [true, false],
      warned: false,
    })
  })
})
