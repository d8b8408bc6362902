// IPv6 endpoints (`tcp://[::1]:port`), bound and connected, by the container and by the tools.
// libzmq refuses an IPv6 literal ("No such device") unless the socket's IPv6 option is on.
// Skipped, with the reason, where the kernel has no IPv6 loopback.
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Subscriber, XPublisher } from 'zeromq'
import { EXIT } from '../src/shared/exit-codes'
import { CliProcess, runCli } from './helpers/cli'
import { ContainerProcess, fixtureService } from './helpers/container'
import type { LogLine } from './helpers/logs'

/** Undefined when ::1 can be listened on; otherwise why not. */
function ipv6LoopbackMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (error) => resolve(`no IPv6 loopback here (::1: ${error.message})`))
    server.listen(0, '::1', () => server.close(() => resolve(undefined)))
  })
}

const cleanups: Array<() => void> = []
after(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

/** A test-side socket with IPv6 on, closed after the suite. */
function v6<S extends XPublisher | Subscriber>(socket: S): S {
  socket.ipv6 = true
  cleanups.push(() => socket.close())
  return socket
}

/** Waits for the subscription frame of `topic` on an XPUB: the subscriber is attached. */
async function subscribed(pub: XPublisher, topic: string): Promise<void> {
  for (;;) {
    const [frame] = await pub.receive()
    if (frame?.[0] === 1 && frame.subarray(1).toString() === topic) return
  }
}

const boundAddress = (line: LogLine) =>
  String((line.endpoints as string[])[0]).replace(/^bind /, '')

describe('IPv6 endpoints', () => {
  let missing: string | undefined
  before(async () => {
    missing = await ipv6LoopbackMissing()
  })

  it('the container binds and connects tcp://[::1]: PUB, SUB and REP', async (t) => {
    if (missing) return t.skip(missing)
    const source = v6(new XPublisher({ linger: 0 }))
    await source.bind('tcp://[::1]:*')
    const container = new ContainerProcess({
      ZC_SERVICE: fixtureService('echo'),
      ZMQ_SUB_ENDPOINT: source.lastEndpoint as string,
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_PUB_ENDPOINT: 'tcp://[::1]:*',
      ZMQ_PUB_TOPICS: 'x.reply',
      ZMQ_REP_ENDPOINT: 'tcp://[::1]:*',
    })
    cleanups.push(() => container.child.kill('SIGKILL'))
    const published = boundAddress(await container.waitForLog('publisher ready'))
    assert.match(published, /^tcp:\/\/\[::1\]:\d+$/)
    const answering = boundAddress(await container.waitForLog('answering requests'))
    assert.match(answering, /^tcp:\/\/\[::1\]:\d+$/)
    await container.waitForLog('ready')

    // In through the SUB, out through the PUB (the echo service replies on x.reply).
    const sink = v6(new Subscriber({ linger: 0, receiveTimeout: 10_000 }))
    sink.connect(published)
    sink.subscribe('x.reply')
    await container.waitForLog('subscriber attached')
    await subscribed(source, 'x.msg')
    await source.send(['x.msg', 'over ipv6'])
    const [topic, payload] = await sink.receive()
    assert.equal(String(topic), 'x.reply')
    assert.equal(String(payload), 'over ipv6')

    // The REP socket, through the req tool (no reply handler: it echoes).
    const reply = await runCli(['req', answering, 'ping', '--timeout', '5000'])
    assert.equal(reply.code, 0, reply.stderr)
    assert.equal(reply.stdout, 'ping\n')

    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, EXIT.OK, container.dump())
  })

  it('tap connects to, and pub binds, tcp://[::1]', async (t) => {
    if (missing) return t.skip(missing)
    const source = v6(new XPublisher({ linger: 0 }))
    await source.bind('tcp://[::1]:*')
    const tap = new CliProcess(['tap', source.lastEndpoint as string, 'x.msg', '--count', '1'])
    cleanups.push(() => tap.kill())
    // Without the IPv6 option libzmq takes the connect and retries it forever, silently: fail
    // with what tap said, not at the suite's timeout.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      subscribed(source, 'x.msg'),
      tap.exited.then((r) => assert.fail(`tap ended (${r.code}) before subscribing: ${r.stderr}`)),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`tap did not subscribe within 10 s: ${tap.stderr}`)),
          10_000,
        )
      }),
    ]).finally(() => clearTimeout(timer))
    await source.send(['x.msg', 'to tap'])
    const tapped = await tap.exited
    assert.equal(tapped.code, 0, tapped.stderr)
    assert.match(tapped.stdout, /x\.msg {2}6 B {2}text {2}to tap/)

    const pub = new CliProcess(['pub', 'tcp://[::1]:*', 'x.msg', 'from pub'])
    cleanups.push(() => pub.kill())
    const [, address] = await pub.waitForStderr(/bind (tcp:\/\/\[::1\]:\d+)/)
    const sink = v6(new Subscriber({ linger: 0, receiveTimeout: 10_000 }))
    sink.connect(address as string)
    sink.subscribe('x.msg')
    const [, payload] = await sink.receive()
    assert.equal(String(payload), 'from pub')
    const sent = await pub.exited
    assert.equal(sent.code, 0, sent.stderr)
  })
})
