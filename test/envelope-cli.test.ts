// `tap` and `hz` on enveloped messages (issue 16): sequence, delay and loss shown. The test side
// is an XPUB stamping envelopes itself, with a send time set back so the delay is known.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { EnvelopeStamper } from '../src/shared/envelope'
import { CliProcess } from './helpers/cli'
import { TestPublisher } from './helpers/peers'

const processes: CliProcess[] = []
const sockets: Array<{ close(): void }> = []
after(() => {
  for (const p of processes) p.kill()
  for (const s of sockets) s.close()
})

async function setUp(args: (endpoint: string) => string[]) {
  const pub = await new TestPublisher().bind()
  sockets.push(pub)
  const tool = new CliProcess(args(pub.endpoint))
  processes.push(tool)
  await pub.subscribed('demo.')
  // 200 ms old when sent: the delay shown is at least that.
  const stamper = new EnvelopeStamper('cli-test', { clockOffsetNs: -200_000_000n })
  return { pub, tool, stamper }
}

describe('tools on enveloped messages', () => {
  it('tap shows sequence, delay, publisher and the messages lost before one', async () => {
    const { pub, tool, stamper } = await setUp((e) => ['tap', e, 'demo.', '--count', '2'])
    await pub.send(['demo.x', 'one', stamper.next('demo.x')])
    stamper.next('demo.x') // stamped, never sent: lost on the way
    await pub.send(['demo.x', 'three', stamper.next('demo.x')])
    const { code, stdout, stderr } = await tool.exited
    assert.equal(code, 0, stderr)
    const [first = '', second = ''] = stdout.split('\n')
    const publisher = `${stamper.source.toString(16).padStart(8, '0')}-${stamper.epoch.toString(16).padStart(8, '0')}`
    assert.match(
      first,
      new RegExp(
        `demo\\.x  3 B  text  one  \\[seq 1, delay (\\d+\\.\\d) ms, publisher ${publisher}\\]$`,
      ),
    )
    assert.match(
      second,
      /demo\.x {2}5 B {2}text {2}three {2}\[seq 3, delay .* ms, .*\] {2}\[1 lost before it\]$/,
    )
    const delayMs = Number(/delay (\d+\.\d) ms/.exec(first)?.[1])
    assert.ok(delayMs >= 200, `delay ${delayMs}`)
  })

  it('hz shows the mean delay and the loss per topic', async () => {
    const { pub, tool, stamper } = await setUp((e) => ['hz', e, 'demo.', '--interval', '0.05'])
    await pub.send(['demo.x', 'one', stamper.next('demo.x')])
    stamper.next('demo.x')
    stamper.next('demo.x')
    await pub.send(['demo.x', 'four', stamper.next('demo.x')])
    const [line = ''] = await tool.waitForStdout(/demo\.x .*lost=2\n/)
    const delayMs = Number(/delay=(\d+\.\d+)ms/.exec(line)?.[1])
    assert.ok(delayMs >= 200, line)
    tool.signal('SIGINT')
    const { code, stdout } = await tool.exited
    assert.equal(code, 0)
    assert.match(stdout, /summary: .*\ndemo\.x {2}count=2 .* delay=\d+\.\d+ms {2}lost=2\n/)
  })
})
