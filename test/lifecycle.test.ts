// The container as an orchestrator sees it: a child process, signals, exit codes, log lines.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { EXIT } from '../src/shared/exit-codes'
import { ContainerProcess, fixtureService } from './helpers/container'
import { TestPublisher } from './helpers/peers'

const publishers: TestPublisher[] = []
after(() => {
  for (const p of publishers) p.close()
})

/** A test publisher plus a container subscribed to it, ready and attached. */
async function startWithPublisher(
  env: Record<string, string>,
  topics = 'x.msg,x.hang,x.boom,x.later,x.reject',
) {
  const pub = await new TestPublisher().bind()
  publishers.push(pub)
  const attached = pub.subscribed(...topics.split(','))
  const container = new ContainerProcess({
    ZMQ_SUB_ENDPOINT: pub.endpoint,
    ZMQ_SUB_TOPICS: topics,
    ...env,
  })
  await container.waitForLog('ready')
  await attached
  return { pub, container }
}

function assertNoAbort(
  exit: { code: number | null; signal: string | null },
  container: ContainerProcess,
) {
  assert.notEqual(exit.code, 134, `process aborted (SIGABRT):\n${container.dump()}`)
  assert.notEqual(exit.signal, 'SIGABRT', container.dump())
}

describe('container process lifecycle', () => {
  it('starts, logs ready, and on SIGTERM exits 0 with "stopped" as its last line', async () => {
    const { container } = await startWithPublisher({})
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, EXIT.OK, container.dump())
    assert.equal(container.lastLine?.msg, 'stopped')
    assert.equal(container.lastLine?.exitCode, 0)
    assert.ok(container.lines.some((l) => l.msg === 'receive worker stopped' && l.socket === 'sub'))
  })

  it('with only the seed variables, logs each control message like the seed CameraZMQ', async () => {
    const { pub, container } = await startWithPublisher({}, 'camera.cmd')
    await pub.send(['camera.cmd', 'start capture'])
    const line = await container.waitForLog('received')
    assert.equal(line.topic, 'camera.cmd')
    assert.equal(line.payload, 'start capture')
    assert.equal(line.socket, 'sub')
    assert.equal(line.class, 'control')
    container.signal('SIGINT')
    assert.equal((await container.exited).code, EXIT.OK)
  })

  // With the socket monitor off, a handler stuck in synchronous code leaves nothing native in
  // flight; an async hang lets the worker close its socket and monitor. Both terminate safely.
  for (const [service, monitor] of [
    ['hang-sync', 'false'],
    ['hang-async', 'true'],
  ]) {
    it(`a handler that never returns (${service}, monitor ${monitor}) is terminated at the join deadline, never aborting`, async () => {
      const deadline = 300
      const { pub, container } = await startWithPublisher({
        ZC_SERVICE: fixtureService(service as string),
        ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
        ZMQ_MONITOR: monitor as string,
      })
      await pub.send(['x.hang', ''])
      await container.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('handler'))
      container.signal('SIGTERM')
      const exit = await container.exited
      assertNoAbort(exit, container)
      assert.equal(exit.code, EXIT.SHUTDOWN_TIMEOUT, container.dump())
      assert.ok((exit.sinceSignalMs ?? 0) >= deadline, `exited after ${exit.sinceSignalMs} ms`)
      assert.ok(
        container.lines.some((l) => l.msg === 'receive worker did not stop cleanly; terminated'),
      )
      assert.equal(container.lastLine?.msg, 'stopped')
    })
  }

  it('a handler that throws is logged and counted, and the worker keeps handling', async () => {
    const { pub, container } = await startWithPublisher({ ZC_SERVICE: fixtureService('throws') })
    await pub.send(['x.boom', ''])
    await pub.send(['x.msg', 'after'])
    await container.waitForLog((l) => l.msg === 'handled' && l.topic === 'x.msg')
    const dropped = container.lines.find((l) => l.msg === 'message dropped')
    assert.equal(dropped?.reason, 'handler_error')
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, EXIT.OK)
    const stopped = container.lines.find((l) => l.msg === 'receive worker stopped')
    assert.equal(stopped?.received, 2)
    assert.equal(stopped?.handled, 1)
    assert.deepEqual(stopped?.dropped, {
      bad_frames: 0,
      invalid_topic: 0,
      unsubscribed: 0,
      handler_error: 1,
      decode_error: 0,
      pool_full: 0,
      shutdown: 0,
      worker_failed: 0,
      duplicate: 0,
    })
  })

  it('logs dropped frames once per reason per second, and counts every one', async () => {
    const { pub, container } = await startWithPublisher({})
    for (let i = 0; i < 50; i++) await pub.send(['x.msg'])
    await pub.send(['x.msg', 'valid'])
    await container.waitForLog((l) => l.msg === 'received' && l.payload === 'valid')
    const dropLines = container.lines.filter((l) => l.msg === 'message dropped')
    assert.ok(dropLines.length >= 1 && dropLines.length < 50, `${dropLines.length} drop lines`)
    assert.equal(dropLines[0]?.reason, 'bad_frames')
    assert.equal(dropLines[0]?.frames, 1)
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    const stopped = container.lines.find((l) => l.msg === 'receive worker stopped')
    assert.equal(stopped?.received, 51)
    assert.deepEqual(stopped?.dropped, {
      bad_frames: 50,
      invalid_topic: 0,
      unsubscribed: 0,
      handler_error: 0,
      decode_error: 0,
      pool_full: 0,
      shutdown: 0,
      worker_failed: 0,
      duplicate: 0,
    })
  })

  for (const topic of ['x.later', 'x.reject']) {
    it(`an error escaping the handler (${topic}) fails the worker; with no restarts left the container stops in order, not 134`, async () => {
      const { pub, container } = await startWithPublisher({
        ZC_SERVICE: fixtureService('throws'),
        ZC_RESTART_LIMIT: '0',
      })
      await pub.send([topic, ''])
      const exit = await container.exited
      assertNoAbort(exit, container)
      assert.equal(exit.code, EXIT.WORKER_FAILED, container.dump())
      assert.ok(container.lines.some((l) => l.msg === 'uncaught error in receive worker'))
      assert.equal(container.lastLine?.msg, 'stopped')
    })
  }

  it('a second signal stops at once, without waiting for the join deadline', async () => {
    const deadline = 20_000
    const { pub, container } = await startWithPublisher({
      ZC_SERVICE: fixtureService('hang-async'),
      ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
    })
    await pub.send(['x.hang', ''])
    await container.waitForLog('handler awaiting forever')
    container.signal('SIGTERM')
    await container.waitForLog('shutdown requested')
    container.signal('SIGINT')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.code, EXIT.FORCED_SIGINT, container.dump())
    assert.ok((exit.sinceSignalMs ?? Number.POSITIVE_INFINITY) < deadline)
    assert.equal(container.lastLine?.msg, 'stopped')
  })

  it('a synchronous hang with the socket monitor on ends in SIGKILL after the deadline, not 134', async () => {
    const deadline = 300
    const { pub, container } = await startWithPublisher({
      ZC_SERVICE: fixtureService('hang-sync'),
      ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
    })
    await pub.send(['x.hang', ''])
    await container.waitForLog('handler hanging forever')
    container.signal('SIGTERM')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.signal, 'SIGKILL', container.dump())
    assert.ok((exit.sinceSignalMs ?? 0) >= deadline)
    assert.equal(container.lastLine?.exitCode, EXIT.KILLED_STUCK_WORKER)
  })

  it('a timer that blocks the worker with a receive pending ends in SIGKILL after the deadline, not 134', async () => {
    const deadline = 300
    const { pub, container } = await startWithPublisher(
      {
        ZC_SERVICE: fixtureService('timer-hang'),
        ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
      },
      'x.timerhang',
    )
    await pub.send(['x.timerhang', ''])
    await container.waitForLog('timer hanging forever')
    container.signal('SIGTERM')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.signal, 'SIGKILL', container.dump())
    assert.ok((exit.sinceSignalMs ?? 0) >= deadline)
    assert.ok(
      container.lines.some(
        (l) =>
          l.msg ===
          'receive worker blocked with native zeromq work pending; it cannot be terminated safely',
      ),
    )
    assert.equal(container.lastLine?.msg, 'stopped')
    assert.equal(container.lastLine?.exitCode, EXIT.KILLED_STUCK_WORKER)
  })

  it('a second SIGTERM exits 143 at once', async () => {
    const { pub, container } = await startWithPublisher({
      ZC_SERVICE: fixtureService('hang-async'),
      ZC_SHUTDOWN_TIMEOUT_MS: '20000',
    })
    await pub.send(['x.hang', ''])
    await container.waitForLog('handler awaiting forever')
    container.signal('SIGTERM')
    await container.waitForLog('shutdown requested')
    container.signal('SIGTERM')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.code, EXIT.FORCED_SIGTERM, container.dump())
  })

  it('a second signal with a synchronous hang and the monitor on ends in SIGKILL at once, not 134', async () => {
    const deadline = 20_000
    const { pub, container } = await startWithPublisher({
      ZC_SERVICE: fixtureService('hang-sync'),
      ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
    })
    await pub.send(['x.hang', ''])
    await container.waitForLog('handler hanging forever')
    container.signal('SIGTERM')
    await container.waitForLog('shutdown requested')
    container.signal('SIGINT')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.signal, 'SIGKILL', container.dump())
    assert.ok((exit.sinceSignalMs ?? Number.POSITIVE_INFINITY) < deadline)
  })

  it('a handler calling process.exit() fails the worker and the container (71), not 134', async () => {
    const { pub, container } = await startWithPublisher(
      { ZC_SERVICE: fixtureService('exits'), ZC_RESTART_LIMIT: '0' },
      'x.exit',
    )
    await pub.send(['x.exit', ''])
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.code, EXIT.WORKER_FAILED, container.dump())
    assert.equal(container.lastLine?.msg, 'stopped')
  })

  it('a service stop function that never settles cannot hold shutdown past the deadline', async () => {
    const deadline = 300
    const container = new ContainerProcess({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'x.msg',
      ZC_SERVICE: fixtureService('stop-hangs'),
      ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
    })
    await container.waitForLog('ready')
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, EXIT.SHUTDOWN_TIMEOUT, container.dump())
    assert.ok((exit.sinceSignalMs ?? 0) >= deadline)
    assert.ok(container.lines.some((l) => l.msg === 'service stop timed out'))
    assert.equal(container.lastLine?.msg, 'stopped')
  })

  it('a SUB with "@" binds (fan-in) and receives from a connecting publisher', async () => {
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: '@tcp://127.0.0.1:*',
      ZMQ_SUB_TOPICS: 'x.msg',
    })
    const subscribed = await container.waitForLog('subscribed')
    const [endpoint] = subscribed.endpoints as string[]
    assert.match(String(endpoint), /^bind tcp:\/\/127\.0\.0\.1:\d+$/)
    const pub = new TestPublisher()
    publishers.push(pub)
    pub.socket.connect(String(endpoint).slice('bind '.length))
    await pub.subscribed('x.msg')
    await pub.send(['x.msg', 'fan-in'])
    const line = await container.waitForLog('received')
    assert.equal(line.payload, 'fan-in')
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
  })

  it('waits ZMQ_SETTLE_MS after binding a PUB before it reports ready', async () => {
    const container = new ContainerProcess({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'x.msg',
      ZMQ_SETTLE_MS: '400',
    })
    const ready = await container.waitForLog('ready')
    assert.ok(Number(ready.startupMs) >= 400, `ready after ${ready.startupMs} ms`)
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
  })

  it('a signal during start-up stops cleanly', async () => {
    const pub = await new TestPublisher().bind()
    publishers.push(pub)
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_SUB_TELEMETRY_ENDPOINT: pub.endpoint.replace(/:(\d+)$/, ':1'),
      ZMQ_SUB_TELEMETRY_TOPICS: 'x.tel',
      ZMQ_SUB_TELEMETRY_CLASS: 'control',
      ZC_SERVICE: fixtureService('slow-worker-start'),
    })
    // Workers block 300 ms while loading; the signal lands before any is ready.
    await container.waitForLog('starting')
    container.signal('SIGTERM')
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.code, EXIT.OK, container.dump())
    assert.ok(!container.lines.some((l) => l.msg === 'ready'), 'stopped before ready')
    assert.equal(container.lastLine?.msg, 'stopped')
  })
})

describe('command line', () => {
  it('--help prints usage and exits 0; --version prints the package version', async () => {
    const help = new ContainerProcess({}, ['--help'])
    assert.equal((await help.exited).code, 0)
    assert.match(help.lines.map((l) => l.msg).join('\n'), /Usage: zmq-container/)
    const version = new ContainerProcess({}, ['--version'])
    assert.equal((await version.exited).code, 0)
    assert.match(String(version.lines[0]?.msg), /^\d+\.\d+\.\d+$/)
  })

  it('an unknown command exits 64 with usage on stderr', async () => {
    const container = new ContainerProcess({}, ['frobnicate'])
    assert.equal((await container.exited).code, EXIT.USAGE)
    assert.match(container.stderrLines.join('\n'), /unknown command/)
  })
})

describe('container process start-up failures', () => {
  it('reports every bad variable on one line each, exits 78, and prints no stack trace', async () => {
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: 'tcp://dashboard',
      ZMQ_SUB_TOPICS: 'camera cmd',
      ZMQ_RECEIVE_TIMEOUT_MS: 'soon',
    })
    const exit = await container.exited
    assert.equal(exit.code, EXIT.CONFIG_INVALID)
    const problems = container.stderrLines.filter((l) => /^zmq-container: [A-Z_]+: /.test(l))
    assert.deepEqual(problems.map((l) => l.split(':')[1]?.trim()).sort(), [
      'ZMQ_RECEIVE_TIMEOUT_MS',
      'ZMQ_SUB_ENDPOINT',
      'ZMQ_SUB_TOPICS',
    ])
    assert.ok(
      !container.stderrLines.some((l) => /^\s+at /.test(l)),
      container.stderrLines.join('\n'),
    )
    assert.equal(container.lines.length, 0, 'nothing on stdout')
  })

  it('a service module of the wrong shape fails start-up with exit 70', async () => {
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
      ZMQ_SUB_TOPICS: 'x.msg',
      ZC_SERVICE: fixtureService('bad-shape'),
    })
    const exit = await container.exited
    assert.equal(exit.code, EXIT.STARTUP_FAILED, container.dump())
    const fatal = container.lines.find((l) => l.msg === 'start-up failed')
    assert.equal(fatal?.code, 'ZC_ERR_SERVICE_LOAD')
  })

  it('a worker that misses the ready deadline fails start-up with exit 70, never 134', async () => {
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
      ZMQ_SUB_TOPICS: 'x.msg',
      ZC_SERVICE: fixtureService('slow-worker-start'),
      ZC_READY_TIMEOUT_MS: '50',
    })
    const exit = await container.exited
    assertNoAbort(exit, container)
    assert.equal(exit.code, EXIT.STARTUP_FAILED, container.dump())
    const fatal = container.lines.find((l) => l.msg === 'start-up failed')
    assert.equal(fatal?.code, 'ZC_ERR_WORKER_START')
    assert.match(String((fatal?.err as { message?: string })?.message), /not ready within 50 ms/)
    assert.equal(container.lastLine?.msg, 'stopped')
  })

  it('a PUB endpoint already in use fails start-up with exit 69 and names the variable', async () => {
    const pub = await new TestPublisher().bind()
    publishers.push(pub)
    const container = new ContainerProcess({
      ZMQ_PUB_ENDPOINT: pub.endpoint,
      ZMQ_PUB_TOPICS: 'x.msg',
    })
    const exit = await container.exited
    assert.equal(exit.code, EXIT.ENDPOINT_UNAVAILABLE, container.dump())
    const fatal = container.lines.find((l) => l.msg === 'start-up failed')
    assert.equal(fatal?.code, 'ZC_ERR_BIND_FAILED')
    assert.match(String((fatal?.err as { message?: string })?.message), /ZMQ_PUB_ENDPOINT/)
  })
})
