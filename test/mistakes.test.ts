// Operator mistakes are never silent (issue 12): each one a new user would make ends in a clear
// line, a counted outcome or a documented exit code, in the container and in `check` alike.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { RequestClient } from '../src/client/request'
import { loadConfig, socketKeysFor, unknownVariables } from '../src/shared/config'
import { ConfigError } from '../src/shared/errors'
import { EXIT } from '../src/shared/exit-codes'
import { describeAddressFailure } from '../src/shared/failure-cause'
import { loadService, serviceKeyIssues } from '../src/shared/service'
import { defineTypedService } from '../src/shared/typed-topics'
import { CliProcess, runCli } from './helpers/cli'
import { ContainerProcess, fixtureService } from './helpers/container'
import { metric, metricSum, probe, scrape } from './helpers/http'
import { TestPublisher } from './helpers/peers'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-mistakes-'))
const servicesKeyedControl = path.join(dir, 'keyed-control.js')
writeFileSync(
  servicesKeyedControl,
  "module.exports = { handlers: { control: () => {} }, replies: { control: () => 'x' } }\n",
)
/** A SUB endpoint nobody binds: the container starts, with no peer. */
const lonelySub = { ZMQ_SUB_ENDPOINT: `ipc://${dir}/nobody`, ZMQ_SUB_TOPICS: 'x.msg' }

const containers: ContainerProcess[] = []
const servers: Server[] = []
const publishers: TestPublisher[] = []
after(async () => {
  await Promise.all(containers.map((c) => c.stop()))
  for (const s of servers) s.close()
  for (const p of publishers) p.close()
})
function container(env: Record<string, string>): ContainerProcess {
  const c = new ContainerProcess(env)
  containers.push(c)
  return c
}

function issuesOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n')
    throw error
  }
  return []
}

describe('config: mistakes that passed in silence', () => {
  it('rejects a SUB topic without a dot, suggesting the prefix form', () => {
    const issues = issuesOf({ ZMQ_SUB_ENDPOINT: 'tcp://cam:5555', ZMQ_SUB_TOPICS: 'camera' })
    assert.equal(issues.length, 1)
    assert.match(issues[0] ?? '', /^ZMQ_SUB_TOPICS: "camera" has no dot.*camera\. /)
    // The prefix form and full topics stay valid.
    loadConfig({ ZMQ_SUB_ENDPOINT: 'tcp://cam:5555', ZMQ_SUB_TOPICS: 'camera.,camera.cmd' })
  })

  it('reads LOG_LEVEL in any case, and LOG_FORMAT json or pretty', () => {
    const base = { ZMQ_PUB_ENDPOINT: 'tcp://*:5555' }
    assert.equal(loadConfig({ ...base, LOG_LEVEL: 'WARN' }).logLevel, 'warn')
    assert.equal(loadConfig(base).logFormat, 'json')
    assert.equal(loadConfig({ ...base, LOG_FORMAT: 'Pretty' }).logFormat, 'pretty')
    assert.match(issuesOf({ ...base, LOG_FORMAT: 'text' })[0] ?? '', /^LOG_FORMAT: is "text"/)
  })

  it('names the likely meant variable for typos under ZC_, ZMQ_ and HTTP_', () => {
    const found = unknownVariables({
      ZC_SERVCE: 'camera',
      ZMQ_RECEIVE_TIMEOUT: '500',
      ZMQ_LINGER: '0',
      HTTP_PROT: '9464',
      ZC_WHATEVER_ELSE_ENTIRELY: '1',
      // Known, socket variables (loadConfig's job), stray CURVE keys (check's) and others: none.
      ZC_SERVICE: 'camera',
      ZMQ_SUB_TOPIC: 'a.b',
      ZMQ_CURVE_SECRET_KEY: 'x',
      ZMQ_CURVE_ALLOW_FILE: '/keys',
      CAMERA_FPS: '5',
      HTTP_PROXY: 'http://proxy:3128',
    })
    assert.deepEqual(found, [
      { variable: 'HTTP_PROT', suggestion: 'HTTP_PORT' },
      { variable: 'ZC_SERVCE', suggestion: 'ZC_SERVICE' },
      { variable: 'ZC_WHATEVER_ELSE_ENTIRELY', suggestion: undefined },
      { variable: 'ZMQ_LINGER', suggestion: 'ZMQ_LINGER_MS' },
      { variable: 'ZMQ_RECEIVE_TIMEOUT', suggestion: 'ZMQ_RECEIVE_TIMEOUT_MS' },
    ])
  })

  it('suggests the REP variable meant, and offers a REP only the suffixes it reads', () => {
    const [issue = ''] = issuesOf({ ZMQ_REP_ENDPONT: 'tcp://*:5556' }).filter((i) =>
      i.startsWith('ZMQ_REP_ENDPONT'),
    )
    assert.match(issue, /did you mean ZMQ_REP_ENDPOINT\?/)
    assert.doesNotMatch(issue, /_TOPICS|_POOL_/)
    assert.deepEqual(
      socketKeysFor('REP').filter((k) => /TOPICS|POOL|SUBSCRIBER/.test(k)),
      [],
    )
  })
})

describe('service keys that name no socket', () => {
  it('are issues naming the key and the sockets that exist', async () => {
    const config = loadConfig({
      ...lonelySub,
      ZMQ_SUB_TELEMETRY_ENDPOINT: `ipc://${dir}/t`,
      ZMQ_SUB_TELEMETRY_TOPICS: 'x.t',
      ZMQ_REP_ENDPOINT: `ipc://${dir}/rep`,
    })
    const issues = serviceKeyIssues(await loadService(servicesKeyedControl), config.sockets)
    assert.deepEqual(
      issues.map((i) => i.variable),
      ['ZC_SERVICE', 'ZC_SERVICE'],
    )
    assert.match(issues[0]?.problem ?? '', /handlers key "control".*SUB sockets are sub, telemetry/)
    assert.match(issues[1]?.problem ?? '', /replies key "control".*REP sockets are rep/)
    // '*' and real names are fine.
    assert.deepEqual(
      serviceKeyIssues({ handlers: { '*': () => {}, telemetry: () => {} } }, config.sockets),
      [],
    )
  })

  it('stop the container with exit 78 and one stderr line each', async () => {
    const c = container({
      ...lonelySub,
      ZMQ_REP_ENDPOINT: `ipc://${dir}/rep78`,
      ZC_SERVICE: servicesKeyedControl,
    })
    const exit = await c.exited
    assert.equal(exit.code, EXIT.CONFIG_INVALID, c.dump())
    const stderr = c.stderrLines.join('\n')
    assert.match(stderr, /ZC_SERVICE: the service's handlers key "control" names no SUB socket/)
    assert.match(stderr, /ZC_SERVICE: the service's replies key "control" names no REP socket/)
    assert.equal(c.lastLine?.msg, 'stopped')
  })

  it("a service's own invalid setting (ConfigError from its start) is exit 78, not internal", async () => {
    // The service takes ConfigError from tsc's errors.js (here via ../../src/shared/errors);
    // the container's main thread runs a bundle, which must recognise it as the same class.
    const c = container({
      ZC_SERVICE: 'camera',
      CAMERA_FPS: 'abc',
      ZMQ_PUB_ENDPOINT: `ipc://${dir}/camera78`,
      ZMQ_PUB_TOPICS: 'camera.frame,camera.heartbeat',
    })
    const exit = await c.exited
    assert.equal(exit.code, EXIT.CONFIG_INVALID, c.dump())
    assert.match(c.stderrLines.join('\n'), /CAMERA_FPS/)
  })

  it("a start() that throws is the service's failure, named so: exit 70, ZC_ERR_SERVICE_START", async () => {
    const throwing = path.join(dir, 'start-throws.js')
    writeFileSync(
      throwing,
      "module.exports = { start() { throw new Error('no camera attached') } }\n",
    )
    const c = container({ ...lonelySub, ZC_SERVICE: throwing })
    const exit = await c.exited
    assert.equal(exit.code, EXIT.STARTUP_FAILED, c.dump())
    const said = c.stderrLines.filter((l) => l.startsWith('zmq-container: '))
    assert.equal(said.length, 1, c.dump())
    assert.match(
      said[0] as string,
      /^zmq-container: the service's start\(\) \(ZC_SERVICE=.*start-throws\.js\) failed: no camera attached; start-up failed \(ZC_ERR_SERVICE_START\), exit 70$/,
    )
    assert.equal(c.lines.find((l) => l.msg === 'start-up failed')?.code, 'ZC_ERR_SERVICE_START')
  })

  it('are errors of check, as is a ZC_SERVICE that does not resolve', async () => {
    const keyed = await runCli(['check'], { ...lonelySub, ZC_SERVICE: servicesKeyedControl })
    assert.equal(keyed.code, 78, keyed.stdout + keyed.stderr)
    assert.match(
      keyed.stderr,
      /handlers key "control" names no SUB socket; the SUB sockets are sub/,
    )
    const missing = await runCli(['check'], { ...lonelySub, ZC_SERVICE: './no-such-service.js' })
    assert.equal(missing.code, 78, missing.stdout + missing.stderr)
    assert.match(
      missing.stderr,
      /^zmq-container: ZC_SERVICE: "\.\/no-such-service\.js" is neither/m,
    )
  })
})

describe('a service module that is not one', () => {
  const write = (name: string, source: string) => {
    const file = path.join(dir, name)
    writeFileSync(file, source)
    return file
  }
  // The built package's, as a service in a container requires it.
  const defineServiceFrom = JSON.stringify(path.join(__dirname, '..', 'dist', 'src', 'service.js'))

  it('is refused with what it exported, where before it ran as the logging service', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['forgot-export.js', "const s = { handlers: { '*': () => {} } }\n", /exports nothing \(/],
      ['number.js', 'module.exports = 42\n', /exports number, not a service object/],
      ['null.js', 'module.exports = null\n', /exports null, not a service object/],
      ['misnamed.js', 'module.exports = { onMessage() {} }\n', /exports "onMessage", none of/],
      ['start-string.js', "module.exports = { start: 'go' }\n", /start that is string/],
      [
        'handler-string.js',
        "module.exports = { handlers: { '*': 'x' } }\n",
        /handlers\["\*"\] that is string, not a function/,
      ],
    ]
    for (const [name, source, said] of cases)
      await assert.rejects(loadService(write(name, source)), (error: Error) => {
        assert.match(error.message, said, name)
        assert.match(error.message, /module\.exports = defineService\(/, name)
        return true
      })
  })

  it('defineService refuses a key a service does not have, so a typo in JavaScript is an error at load', async () => {
    const typo = write(
      'typo.js',
      `const { defineService } = require(${defineServiceFrom})\nmodule.exports = defineService({ handler: { '*': () => {} }, strat() {} })\n`,
    )
    await assert.rejects(loadService(typo), /"handler", "strat" are not part of a service/)
    assert.throws(
      () => defineTypedService({}, { handler: {} } as never),
      /^TypeError: defineTypedService: "handler" is not part of a service/,
    )
    // In the container and in check alike: a load error, never the logging service.
    const run = container({ ...lonelySub, ZC_SERVICE: typo })
    assert.equal((await run.exited).code, EXIT.STARTUP_FAILED, run.dump())
    assert.ok(!run.lines.some((l) => l.msg === 'ready'), run.dump())
    assert.ok(
      run.stderrLines.some((l) => /"handler", "strat" are not part of a service/.test(l)),
      run.dump(),
    )
    const checked = await runCli(['check'], { ...lonelySub, ZC_SERVICE: typo })
    assert.equal(checked.code, 78, checked.stdout + checked.stderr)
    assert.match(checked.stderr, /"handler", "strat" are not part of a service/)
  })

  it('a syntax error names the file and line, which Node shows only in the stack (CommonJS) or not at all (ES modules)', async () => {
    // Through the built container, as Node loads it (this test's process loads .js with tsx).
    const broken = write(
      'broken.js',
      "module.exports = {\n  handlers: {\n    '*': (m) => { f(m \n  },\n}\n",
    )
    const checked = await runCli(['check'], { ...lonelySub, ZC_SERVICE: broken })
    assert.equal(checked.code, 78, checked.stdout + checked.stderr)
    assert.match(checked.stderr, /SyntaxError: .*\(at .*broken\.js:3\)\n/)
    // An ES module's stack has no place at all: `node --check` finds it.
    const brokenEsm = write('broken.mjs', 'export const ok = 1\nexport const x = ;\n')
    const esm = await runCli(['check'], { ...lonelySub, ZC_SERVICE: brokenEsm })
    assert.equal(esm.code, 78, esm.stdout + esm.stderr)
    assert.match(esm.stderr, /SyntaxError: .*\(at .*broken\.mjs:2\)\n/)
  })

  it('may export helpers beside its own parts', async () => {
    const service = await loadService(
      write('helpers.js', "module.exports = { handlers: { '*': () => {} }, helper() {} }\n"),
    )
    assert.equal(typeof service.handlers?.['*'], 'function')
  })
})

describe('check: warnings for typos and missing ipc directories', () => {
  it('warns about unknown variables with a suggestion (exit 2)', async () => {
    const { code, stdout } = await runCli(['check'], { ...lonelySub, ZC_SERVCE: 'camera' })
    assert.equal(code, 2, stdout)
    assert.match(stdout, /^warning: ZC_SERVCE: .*Did you mean ZC_SERVICE\?$/m)
  })

  it('warns about an ipc endpoint whose directory does not exist', async () => {
    const { code, stdout } = await runCli(['check'], {
      ...lonelySub,
      ZMQ_PUB_ENDPOINT: `ipc://${dir}/missing/pub`,
      ZMQ_PUB_TOPICS: 'x.out',
    })
    assert.equal(code, 2, stdout)
    assert.match(
      stdout,
      new RegExp(
        `^warning: ZMQ_PUB_ENDPOINT: binds .*directory ${dir}/missing does not exist`,
        'm',
      ),
    )
  })
})

describe('container: start-up lines an operator can act on', () => {
  it('logs unknown variables at start-up as warnings with a suggestion', async () => {
    const c = container({ ...lonelySub, HTTP_PROT: '9464' })
    const line = await c.waitForLog('unknown variable')
    assert.equal(line.level, 'warn')
    assert.equal(line.variable, 'HTTP_PROT')
    assert.equal(line.suggestion, 'HTTP_PORT')
    await c.waitForLog('ready')
  })

  it('says in the ready line what /readyz still waits for, in the same words', async () => {
    const c = container({ ...lonelySub, HTTP_PORT: '0', ZC_READY_REQUIRES_PEERS: 'true' })
    const { port } = (await c.waitForLog('http listening')) as unknown as { port: number }
    const ready = await c.waitForLog('ready')
    assert.equal(ready.readyz, 'not ready')
    assert.deepEqual(ready.waitingFor, ['socket sub has no connected peer'])
    const answer = await probe(port, '/readyz')
    assert.equal(answer.status, 503)
    assert.deepEqual(answer.reasons, ready.waitingFor)
  })

  it('prints the stopped line at LOG_LEVEL=warn, with its exit code', async () => {
    const pub = await new TestPublisher().bind()
    publishers.push(pub)
    const attached = pub.subscribed('x.msg')
    const c = container({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'x.msg',
      LOG_LEVEL: 'WARN',
    })
    // Nothing at info shows up: the subscription reaching the publisher says the worker runs.
    await attached
    c.signal('SIGTERM')
    const exit = await c.exited
    assert.equal(exit.code, EXIT.OK, c.dump())
    assert.equal(c.lastLine?.msg, 'stopped', c.dump())
    assert.equal(c.lastLine?.exitCode, 0)
  })

  it('a PUB port in use: one stderr line with variable, address and cause; exit 69', async () => {
    const server = createServer()
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    const c = container({ ZMQ_PUB_ENDPOINT: `tcp://127.0.0.1:${port}`, LOG_LEVEL: 'silent' })
    const exit = await c.exited
    assert.equal(exit.code, EXIT.ENDPOINT_UNAVAILABLE, c.dump())
    assert.equal(c.stderrLines.length, 1, c.dump())
    assert.match(
      c.stderrLines[0] ?? '',
      new RegExp(
        `^zmq-container: ZMQ_PUB_ENDPOINT: cannot bind tcp://127\\.0\\.0\\.1:${port}: address 127\\.0\\.0\\.1:${port} is already in use.*exit 69$`,
      ),
    )
    // The JSON line stays for log collectors, at any LOG_LEVEL.
    const fatal = c.lines.find((l) => l.msg === 'start-up failed')
    assert.equal(fatal?.code, 'ZC_ERR_BIND_FAILED')
    assert.equal(c.lastLine?.msg, 'stopped')
  })

  it('an ipc directory that does not exist: named in words; exit 69', async () => {
    const c = container({ ZMQ_SUB_ENDPOINT: `@ipc://${dir}/nope/sub`, ZMQ_SUB_TOPICS: 'x.msg' })
    const exit = await c.exited
    assert.equal(exit.code, EXIT.ENDPOINT_UNAVAILABLE, c.dump())
    assert.match(
      c.stderrLines.join('\n'),
      new RegExp(
        `ZMQ_SUB_ENDPOINT: cannot bind ipc://${dir}/nope/sub: directory ${dir}/nope does not exist`,
      ),
    )
  })
})

describe('logs: the same base fields everywhere, and a format for people', () => {
  it('worker lines carry the name field like main-thread lines', async () => {
    const c = container({ ...lonelySub })
    const workerLine = await c.waitForLog((l) => l.socket === 'sub')
    assert.equal(workerLine.name, 'zmq-container')
    const mainLine = await c.waitForLog('starting')
    assert.equal(mainLine.name, 'zmq-container')
  })

  it('LOG_FORMAT=pretty prints readable lines instead of JSON', async () => {
    const c = container({ ...lonelySub, LOG_FORMAT: 'pretty', ZC_READY_REQUIRES_PEERS: 'false' })
    const ready = await c.waitForLog((l) => l.raw === true && / INFO: ready /.test(l.msg))
    assert.match(ready.msg, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ready \{/)
    assert.equal(
      c.lines.every((l) => l.raw === true),
      true,
      'no JSON line in pretty mode',
    )
  })
})

describe('command-line tools: rough edges', () => {
  it('an unknown option gets the nearest real one', async () => {
    const { code, stderr } = await runCli(['tap', 'tcp://127.0.0.1:1', '--cont', '3'])
    assert.equal(code, 64)
    assert.match(
      stderr,
      /^zmq-container tap: unknown option --cont; did you mean --count\?; options are --count, --raw, --exact, --help \(see zmq-container tap --help\)\n$/,
    )
  })

  it('req rejects a bind marker, and a negative --retries in its own words', async () => {
    const bind = await runCli(['req', '@tcp://127.0.0.1:5556', 'x'])
    assert.equal(bind.code, 64)
    assert.match(bind.stderr, /binds \(@\), but req is a client/)
    const negative = await runCli(['req', 'tcp://127.0.0.1:5556', 'x', '--retries', '-1'])
    assert.equal(negative.code, 64)
    assert.match(negative.stderr, /--retries is "-1"; it must be a whole number from 0 to 1000/)
  })

  it('req says "1 attempt", not "1 attempts"', async () => {
    const { code, stderr } = await runCli([
      'req',
      `ipc://${dir}/no-rep`,
      'x',
      '--retries',
      '0',
      '--timeout',
      '50',
    ])
    assert.equal(code, 75)
    assert.match(stderr, /after 1 attempt of 50 ms\n$/)
  })
})

describe('tap and hz show their connection state on stderr', () => {
  const tools: CliProcess[] = []
  after(() => {
    for (const t of tools) t.kill()
  })
  const tool = (args: string[]) => {
    const t = new CliProcess(args)
    tools.push(t)
    return t
  }

  it('tap: nothing listening is "retrying", not silence', async () => {
    const server = createServer()
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    // Closed again: the port now refuses connections.
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const tap = tool(['tap', `tcp://127.0.0.1:${port}`])
    await tap.waitForStderr(
      /no connection to tcp:\/\/127\.0\.0\.1:\d+: refused or unreachable, retrying/,
    )
    tap.signal('SIGINT')
    assert.equal((await tap.exited).code, 0)
  })

  it('hz: a peer that is not ZeroMQ is "handshake failed"', async () => {
    const server = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    const hz = tool(['hz', `tcp://127.0.0.1:${port}`])
    await hz.waitForStderr(/handshake with tcp:\/\/127\.0\.0\.1:\d+ failed/)
    hz.signal('SIGINT')
    assert.equal((await hz.exited).code, 0)
  })

  it('tap: says when it is connected', async () => {
    const pub = await new TestPublisher().bind()
    publishers.push(pub)
    const tap = tool(['tap', pub.endpoint, 'x.msg'])
    await tap.waitForStderr(/connected: 1 peer on tcp:\/\//)
    tap.signal('SIGINT')
    assert.equal((await tap.exited).code, 0)
  })
})

describe('log noise and counts that add up', () => {
  it('a REP error reply is handled plus a handler error, not a drop; REP peers have their own gauge', async () => {
    const c = container({
      ...lonelySub,
      ZMQ_REP_ENDPOINT: 'tcp://127.0.0.1:*',
      ZC_SERVICE: fixtureService('replier'),
      HTTP_PORT: '0',
    })
    const { port } = (await c.waitForLog('http listening')) as unknown as { port: number }
    const answering = await c.waitForLog('answering requests')
    await c.waitForLog('ready')
    const endpoint = String((answering.endpoints as string[])[0]).replace(/^bind /, '')
    const client = new RequestClient(endpoint, { timeoutMs: 2000, retries: 0 })
    try {
      await assert.rejects(client.request('boom'), { code: 'ZC_ERR_REQUEST_FAILED' })
      const families = await scrape(port)
      const rep = { socket: 'rep', class: 'control' }
      assert.equal(metric(families, 'zc_messages_received_total', rep), 1)
      assert.equal(metric(families, 'zc_messages_handled_total', rep), 1)
      assert.equal(metric(families, 'zc_handler_errors_total', rep), 1)
      assert.equal(metricSum(families, 'zc_messages_dropped_total', { socket: 'rep' }), 0)
      // The client is still connected: REP sockets report it under their own name.
      assert.equal(metric(families, 'zc_rep_peers', rep), 1)
      const subPeers = families.get('zc_sub_peers')?.samples ?? []
      assert.deepEqual(
        subPeers.map((s) => s.labels.socket),
        ['sub'],
      )
    } finally {
      client.close()
    }
    // The client leaving is routine: info, not warn.
    const left = await c.waitForLog((l) => l.msg === 'socket event' && l.event === 'disconnect')
    assert.equal(left.level, 'info')
    assert.equal(left.direction, 'inbound')
  })

  it('a connection we made and lost is a warning', async () => {
    const pub = await new TestPublisher().bind()
    publishers.push(pub)
    const attached = pub.subscribed('x.msg')
    const c = container({ ZMQ_SUB_ENDPOINT: pub.endpoint, ZMQ_SUB_TOPICS: 'x.msg' })
    await attached
    await c.waitForLog((l) => l.msg === 'socket event' && l.event === 'handshake')
    pub.close()
    const lost = await c.waitForLog((l) => l.msg === 'socket event' && l.event === 'disconnect')
    assert.equal(lost.level, 'warn')
    assert.equal(lost.direction, 'outbound')
  })
})

describe('describeAddressFailure: the cause in words', () => {
  // Permission errors cannot be produced for real when the tests run as root: the errno
  // objects here are what zeromq.js and node:net throw (code, errno, address).
  const zmqError = (code: string, message: string) =>
    Object.assign(new Error(message), { code, errno: 0, address: '' })

  it('names the directory, the port and the permission problem', () => {
    assert.equal(
      describeAddressFailure(zmqError('ENOENT', 'No such endpoint'), 'ipc:///run/zc/sock'),
      'directory /run/zc does not exist (create it, or mount a volume there)',
    )
    assert.match(
      describeAddressFailure(
        zmqError('EADDRINUSE', 'Address already in use'),
        'tcp://127.0.0.1:7001',
      ),
      /^address 127\.0\.0\.1:7001 is already in use/,
    )
    assert.match(
      describeAddressFailure(zmqError('EACCES', 'Permission denied'), 'ipc:///run/zc/sock'),
      /^permission denied: this user may not create \/run\/zc\/sock in \/run\/zc$/,
    )
    assert.match(
      describeAddressFailure(zmqError('EACCES', 'Permission denied'), 'tcp://*:80'),
      /^permission denied on \*:80 \(ports below 1024 need privileges\)$/,
    )
    // Anything else keeps libzmq's words, with the code.
    assert.equal(
      describeAddressFailure(zmqError('EPROTONOSUPPORT', 'Protocol not supported'), 'tcp://x:1'),
      'Protocol not supported (EPROTONOSUPPORT)',
    )
  })
})
