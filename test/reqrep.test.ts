// Reliable control: REP sockets served by a worker, and the Lazy Pirate client.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Request } from 'zeromq'
import { RequestClient, request } from '../src/client/request'
import { EXIT } from '../src/shared/exit-codes'
import { runCli } from './helpers/cli'
import { ContainerProcess, fixtureService } from './helpers/container'

const running: ContainerProcess[] = []
after(() => {
  for (const c of running)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
})

async function replier(endpoint = 'tcp://127.0.0.1:*', extra: Record<string, string> = {}) {
  const container = new ContainerProcess({
    ZMQ_REP_ENDPOINT: endpoint,
    ZC_SERVICE: fixtureService('replier'),
    ...extra,
  })
  running.push(container)
  const line = await container.waitForLog('answering requests')
  await container.waitForLog('ready')
  return { container, endpoint: String((line.endpoints as string[])[0]).replace(/^bind /, '') }
}

async function stop(container: ContainerProcess) {
  container.signal('SIGTERM')
  return container.exited
}

describe('REQ/REP', () => {
  it('answers a request with the handler value, and an error reply when the handler throws', async () => {
    const { container, endpoint } = await replier()
    const client = new RequestClient(endpoint, { timeoutMs: 2000, retries: 0 })
    assert.equal(String(await client.request('hello')), 'HELLO')
    await assert.rejects(client.request('boom'), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'ZC_ERR_REQUEST_FAILED')
      assert.match(e.message, /boom from the handler/)
      return true
    })
    // The socket is still usable after an error reply: REP answered, lockstep kept.
    assert.equal(String(await client.request('again')), 'AGAIN')
    client.close()
    const exit = await stop(container)
    assert.equal(exit.code, EXIT.OK)
    const stopped = container.lines.find(
      (l) => l.msg === 'receive worker stopped' && l.socket === 'rep',
    )
    // An error reply is no drop: the request was handled, with an error, and counted as one.
    assert.equal(stopped?.received, 3)
    assert.equal(stopped?.handled, 3)
    assert.equal(stopped?.errorReplies, 1)
    assert.equal(stopped?.droppedTotal, 0)
  })

  it('a handler asks the main thread with ctx.callMain and replies with its answer', async () => {
    const { container, endpoint } = await replier()
    const reply = JSON.parse(
      String(await request(endpoint, 'main', { timeoutMs: 2000, retries: 0 })),
    )
    assert.deepEqual(reply, { answer: { ask: 'pid' }, socket: 'rep', thread: 'main' })
    assert.equal((await stop(container)).code, EXIT.OK)
  })

  it('a callMain whose main-side answer throws a ZcError rejects with that code in the worker', async () => {
    const { container, endpoint } = await replier()
    const error = JSON.parse(
      String(await request(endpoint, 'main-fail', { timeoutMs: 2000, retries: 0 })),
    )
    // The code crosses the thread boundary (deserializeError), not only the name and message.
    assert.equal(error.code, 'ZC_ERR_NO_PUBLISHER')
    assert.equal(error.name, 'ZcError')
    assert.match(error.message, /cannot publish nowhere\.topic: no PUB socket is configured/)
    assert.equal((await stop(container)).code, EXIT.OK)
  })

  it('a request of two frames gets an error reply, counted as bad frames', async () => {
    const { container, endpoint } = await replier()
    const raw = new Request({ linger: 0, receiveTimeout: 2000 })
    raw.connect(endpoint)
    await raw.send(['a', 'b'])
    const [status, message] = await raw.receive()
    assert.equal(String(status), 'ERR')
    assert.match(String(message), /one frame/)
    raw.close()
    await stop(container)
    const stopped = container.lines.find((l) => l.msg === 'receive worker stopped')
    assert.equal((stopped?.dropped as Record<string, number> | undefined)?.bad_frames, 1)
  })

  it('the Lazy Pirate client gives up after its retries with ZC_ERR_REQUEST_TIMEOUT', async () => {
    const retries: number[] = []
    // Nothing listens on port 1: every attempt times out.
    const client = new RequestClient('tcp://127.0.0.1:1', {
      timeoutMs: 100,
      retries: 2,
      onRetry: (n) => retries.push(n),
    })
    await assert.rejects(client.request('anyone?'), { code: 'ZC_ERR_REQUEST_TIMEOUT' })
    assert.deepEqual(retries, [1, 2])
    client.close()
  })

  it('zmq-container req prints the reply; an error reply exits 1; no reply exits 75', async () => {
    const { container, endpoint } = await replier()
    const ok = await runCli(['req', endpoint, 'hello', '--timeout', '2000'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, 'HELLO\n')
    const failed = await runCli(['req', endpoint, 'boom', '--timeout', '2000'])
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /boom from the handler/)
    assert.equal((await stop(container)).code, EXIT.OK)
    const silent = await runCli([
      'req',
      'tcp://127.0.0.1:1',
      'hello',
      '--timeout',
      '100',
      '--retries',
      '1',
    ])
    assert.equal(silent.code, 75)
    assert.match(silent.stderr, /retry 1 of 1/)
    const bad = await runCli(['req', 'udp://x:1', 'hello'])
    assert.equal(bad.code, EXIT.USAGE)
  })

  it('a server killed during a request: the client retries on a fresh socket and gets the restarted server’s answer', async () => {
    const first = await replier('tcp://127.0.0.1:*', { REPLIER_HANG: '1' })
    const client = new RequestClient(first.endpoint, { timeoutMs: 300, retries: 20 })
    const pending = client.request('hang')
    await first.container.waitForLog((l) => l.msg === 'request received' && l.text === 'hang')
    first.container.child.kill('SIGKILL')
    await first.container.exited
    // The same address again: a restarted server, as an orchestrator would bring it back.
    const second = await replier(first.endpoint)
    assert.equal(String(await pending), 'HANG')
    client.close()
    assert.equal((await stop(second.container)).code, EXIT.OK)
  })
})
