// Receive threads started early (src/main/receive-threads.ts): the entry script starts one per
// inbound socket once the configuration is read, and the supervisor's first worker of that
// socket is that thread, given its init as a message. Real threads, real sockets on loopback.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, it } from 'node:test'
import {
  settleEarlyThreads,
  startEarlyThreads,
  startEarlyThreadsFor,
  takeEarlyThread,
} from '../src/main/receive-threads'
import { Supervisor } from '../src/main/supervisor'
import { loadConfig } from '../src/shared/config'
import { EXIT } from '../src/shared/exit-codes'
import { fixtureService, MAIN, ROOT } from './helpers/container'
import { memoryLogger } from './helpers/logs'
import { TestPublisher } from './helpers/peers'

// Each untaken thread is ended once loaded: cut inside zeromq's addon, it could abort the runner.
/** `n` telemetry SUB sockets (s0, s1...) with an endpoint that never answers. */
function subSockets(n: number): Record<string, string> {
  const env: Record<string, string> = {}
  for (let i = 0; i < n; i++)
    Object.assign(env, {
      [`ZMQ_SUB_S${i}_ENDPOINT`]: 'tcp://127.0.0.1:1',
      [`ZMQ_SUB_S${i}_TOPICS`]: `s${i}.x`,
      [`ZMQ_SUB_S${i}_CLASS`]: 'telemetry',
    })
  return env
}

afterEach(() => settleEarlyThreads())

describe('receive threads started early', () => {
  it('the first worker of each inbound socket is its early thread, and it runs the socket', async () => {
    const a = await new TestPublisher().bind()
    const b = await new TestPublisher().bind()
    const config = loadConfig({
      ZC_SERVICE: fixtureService('echo'),
      LOG_LEVEL: 'fatal',
      ZMQ_SUB_A_ENDPOINT: a.endpoint,
      ZMQ_SUB_A_TOPICS: 'cam.a',
      ZMQ_SUB_A_CLASS: 'control',
      ZMQ_SUB_B_ENDPOINT: b.endpoint,
      ZMQ_SUB_B_TOPICS: 'cam.b',
      ZMQ_SUB_B_CLASS: 'telemetry',
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'cam.out',
    })
    const started = startEarlyThreads(config)
    // One per inbound socket, none for the PUB (the main thread owns it).
    assert.deepEqual(
      started.map(({ socket }) => socket),
      ['a', 'b'],
    )
    const memory = memoryLogger()
    const supervisor = new Supervisor(config, { log: memory.log })
    const seen: Array<{ payload: string; socket: string; threadId: number }> = []
    supervisor.on('workerMessage', (data) => seen.push(data as (typeof seen)[number]))
    try {
      assert.equal(await supervisor.start(), true)
      await Promise.all([a.subscribed('cam.a'), b.subscribed('cam.b')])
      await a.send(['cam.a', 'from a'])
      await b.send(['cam.b', 'from b'])
      while (seen.length < 2) await once(supervisor, 'workerMessage')
      const threadOf = (socket: string) => seen.find((s) => s.socket === socket)?.threadId
      for (const { socket, worker } of started) assert.equal(threadOf(socket), worker.threadId)
      // Taken: a restart would start a new thread.
      assert.equal(takeEarlyThread('a'), undefined)
    } finally {
      await supervisor.close('manual')
      a.close()
      b.close()
    }
  })

  it('a thread that ended before it was taken is not taken', async () => {
    const config = loadConfig({ ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1', ZMQ_SUB_TOPICS: 'x.y' })
    // An entry that fails as it loads, as a broken install would.
    const [thread] = startEarlyThreads(config, path.join(ROOT, 'test', 'fixtures', 'no-such.js'))
    assert.ok(thread)
    // Unref'd while it waits to be taken; the test keeps the loop up until it has ended.
    thread.worker.ref()
    // Not once(): its 'error' (the missing module) would reject that.
    await new Promise((resolve) => thread.worker.once('exit', resolve))
    assert.equal(takeEarlyThread(thread.socket), undefined)
  })

  it('is taken once; a socket without one gets none', async () => {
    const config = loadConfig({ ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1', ZMQ_SUB_TOPICS: 'x.y' })
    const [thread] = startEarlyThreads(config)
    assert.ok(thread)
    assert.equal(takeEarlyThread('other'), undefined)
    const loaded = new Promise((resolve) => thread.worker.once('message', resolve))
    const worker = takeEarlyThread(thread.socket)
    assert.equal(worker, thread.worker)
    assert.equal(takeEarlyThread(thread.socket), undefined)
    // Never given a socket: once loaded it holds no native work, and ends safely.
    assert.deepEqual(await loaded, { type: 'loaded' })
    await worker?.terminate()
  })
})

describe('settleEarlyThreads (before the process ends)', () => {
  it('ends each untaken thread only once it has loaded, not inside zeromq', async () => {
    const started = startEarlyThreads(loadConfig(subSockets(4)))
    assert.equal(started.length, 4)
    // At once, as a start-up that fails early would: the threads are still loading.
    assert.deepEqual(await settleEarlyThreads(), { loaded: 4, ended: 0, cut: 0 })
    for (const { worker } of started) assert.equal(worker.threadId, -1)
  })

  it('a container whose start-up fails with threads still loading ends none inside its loading', async () => {
    // ZC_SERVICE names no file: the main thread fails start-up (70) while 8 early threads are
    // still loading. Ending the process under a thread loading zeromq's addon aborted about 3
    // start-ups in 100 (a reviewer's reproduction); the preload counts such threads at the exit.
    const env: Record<string, string> = {
      ...subSockets(8),
      PATH: process.env.PATH ?? '',
      ZC_SERVICE: path.join(ROOT, 'test', 'fixtures', 'no-such-service.js'),
      NODE_OPTIONS: `--require ${path.join(ROOT, 'test', 'fixtures', 'preload', 'count-loading-at-exit.js')}`,
    }
    for (let run = 0; run < 5; run++) {
      const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null]
      assert.equal(code ?? signal, EXIT.STARTUP_FAILED, stderr)
      assert.match(stderr, /count-loading-at-exit: 0\n/)
    }
  })
})

describe('a second signal during start-up', () => {
  it('waits for threads still loading zeromq: 143 (or the documented 137), never 134', async () => {
    // Two SIGTERMs while 8 threads boot: the second one terminates what is safe to
    // terminate, and a thread inside zeromq's addon set-up is not (Booting). Before that state
    // existed, about 8 runs in 100 aborted (a reviewer's reproduction); this is a smoke test.
    const env = { ...subSockets(8), PATH: process.env.PATH ?? '' }
    const outcomes: Array<number | string | null> = []
    for (let run = 0; run < 10; run++) {
      const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'ignore'] })
      const exited = once(child, 'exit')
      const lines = createInterface({ input: child.stdout })
      const line = (msg: string) =>
        new Promise<void>((resolve) =>
          lines.on('line', (l) => l.includes(`"msg":"${msg}"`) && resolve()),
        )
      // `starting`: the container holds the signals now, not Node's default.
      await line('starting')
      const requested = line('shutdown requested')
      child.kill('SIGTERM')
      await requested
      child.kill('SIGTERM')
      const [code, signal] = (await exited) as [number | null, string | null]
      outcomes.push(code ?? signal)
    }
    // 0 when the first signal's orderly stop ended before the second arrived; SIGKILL (137, as
    // documented for a second signal) when a thread that had opened its socket and monitor had
    // not closed them within the 200 ms grace (seen once in 10 runs under the CI suite's load).
    // Never 134.
    const allowed = new Set<number | string | null>([EXIT.FORCED_SIGTERM, EXIT.OK, 'SIGKILL'])
    for (const outcome of outcomes) assert.ok(allowed.has(outcome), outcomes.join(' '))
    assert.ok(!outcomes.includes('SIGABRT'), outcomes.join(' '))
  })
})

describe('startEarlyThreadsFor (the entry script)', () => {
  const env = { ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1', ZMQ_SUB_TOPICS: 'x.y' }

  it('starts them for the container only: no command, or run', async () => {
    for (const argv of [[], ['run']]) {
      const started = startEarlyThreadsFor(argv, env)
      assert.deepEqual(
        started.map((s) => s.socket),
        ['sub'],
        argv.join(' '),
      )
      await settleEarlyThreads()
    }
    for (const argv of [['check'], ['run', 'extra'], ['--version'], ['record', '--out', 'x']])
      assert.deepEqual(startEarlyThreadsFor(argv, env), [], argv.join(' '))
  })

  it('starts none for a configuration the container will refuse', () => {
    // The container reports it, once, and exits 78 (test/mistakes.test.ts).
    assert.deepEqual(startEarlyThreadsFor([], { ...env, ZMQ_SUB_TOPICS: 'not a topic' }), [])
    assert.deepEqual(startEarlyThreadsFor([], {}), [])
  })
})
