import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { type Config, LATENCY_BUDGET_MS, LATENCY_CLASSES, loadConfig } from '../src/shared/config'
import { ConfigError, type ConfigIssue, formatIssue } from '../src/shared/errors'

type Env = Record<string, string | undefined>

// The seed's camera .env (3.2), verbatim.
const SEED_CAMERA_ENV = `ZMQ_SUB_ENDPOINT=tcp://dashboard:6000
ZMQ_SUB_TOPICS=camera.cmd

ZMQ_PUB_ENDPOINT=tcp://*:5555
ZMQ_PUB_TOPICS=camera.frame,camera.heartbeat
`

const camera = (): Env => ({ ...parseEnv(SEED_CAMERA_ENV) })

/** Runs loadConfig and returns the ConfigError it must throw. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.equal(error.code, 'ZC_ERR_CONFIG_INVALID')
    assert.equal(error.name, 'ConfigError')
    assert.ok(error.issues.length > 0)
    // One message line per issue, in order.
    assert.deepEqual(error.message.split('\n'), error.issues.map(formatIssue))
    return error
  }
  assert.fail(`loadConfig should have thrown for ${JSON.stringify(env)}`)
}

/** The single issue a ConfigError carries, checked to be about `variable`. */
function onlyIssue(env: Env, variable: string): ConfigIssue {
  const error = configError(env)
  assert.deepEqual(
    error.issues.map((i) => i.variable),
    [variable],
    `issues: ${JSON.stringify(error.issues)}`,
  )
  assert.ok(error.message.startsWith(`${variable}: `), error.message)
  assert.equal(error.message.includes('\n'), false)
  const issue = error.issues[0] as ConfigIssue
  assert.ok(issue.problem.length > 0)
  return issue
}

function assertDeepFrozen(value: unknown, path = 'config'): void {
  if (value === null || typeof value !== 'object') return
  assert.ok(Object.isFrozen(value), `${path} is not frozen`)
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${path}.${k}`)
}

describe('loadConfig: the seed camera .env', () => {
  it('parses the seed .env into the four variables', () => {
    assert.deepEqual(camera(), {
      ZMQ_SUB_ENDPOINT: 'tcp://dashboard:6000',
      ZMQ_SUB_TOPICS: 'camera.cmd',
      ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
      ZMQ_PUB_TOPICS: 'camera.frame,camera.heartbeat',
    })
  })

  it('loads one control SUB and one telemetry PUB with the defaults', () => {
    const cfg = loadConfig(camera())
    assert.deepEqual(cfg, {
      sockets: [
        {
          kind: 'sub',
          name: 'sub',
          envPrefix: 'ZMQ_SUB',
          latencyClass: 'control',
          endpoints: [{ address: 'tcp://dashboard:6000', action: 'connect', explicit: false }],
          topics: ['camera.cmd'],
          minSubscribers: 0,
          subscriberTimeoutMs: 0,
          curve: undefined,
          pool: undefined,
          nice: undefined,
        },
        {
          kind: 'pub',
          name: 'pub',
          envPrefix: 'ZMQ_PUB',
          latencyClass: 'telemetry',
          endpoints: [{ address: 'tcp://*:5555', action: 'bind', explicit: false }],
          topics: ['camera.frame', 'camera.heartbeat'],
          minSubscribers: 0,
          subscriberTimeoutMs: 5000,
          curve: undefined,
          pool: undefined,
          nice: undefined,
        },
      ],
      receiveTimeoutMs: 500,
      shutdownTimeoutMs: 2000,
      readyTimeoutMs: 5000,
      lingerMs: 0,
      settleMs: 100,
      publishQueueLimit: 500,
      logLevel: 'info',
      logFormat: 'json',
      service: undefined,
      maxMessageBytes: 64 * 1024 * 1024,
      reconnectIntervalMs: 100,
      reconnectIntervalMaxMs: 250,
      heartbeat: undefined,
      monitor: true,
      receiveCopy: true,
      restart: { backoffMs: 100, backoffMaxMs: 5000, limit: 5, windowMs: 60_000 },
      workerMaxOldMb: undefined,
      workerHeapHighWaterPercent: 70,
      http: undefined,
      readyRequiresPeers: false,
      readyOnLatency: false,
      livenessStaleMs: 10_000,
      curveAllow: undefined,
      sendHwm: 1000,
      receiveHwm: 1000,
      xpubNoDrop: false,
      record: undefined,
      threadPriority: true,
    } satisfies Config)
  })

  it('is deeply frozen', () => {
    const cfg = loadConfig(camera())
    assertDeepFrozen(cfg)
    assert.equal(Reflect.set(cfg, 'lingerMs', 5), false)
    assert.equal(Reflect.set(cfg.sockets, 0, undefined), false)
    assert.equal(Reflect.set(cfg.sockets[0]?.topics ?? [], 1, 'x.y'), false)
    assert.equal(cfg.lingerMs, 0)
  })

  it('survives structuredClone unchanged, as posted to a worker', () => {
    const cfg = loadConfig(camera())
    const clone = structuredClone(cfg)
    assert.deepEqual(clone, cfg)
    assert.ok(Object.hasOwn(clone, 'service'))
  })

  it('does not change the env object it reads', () => {
    const env = camera()
    const before = { ...env }
    loadConfig(env)
    assert.deepEqual(env, before)
  })
})

describe('loadConfig: sockets', () => {
  it('takes the class of a named socket from its name', () => {
    const cfg = loadConfig({
      ZMQ_SUB_CONTROL_ENDPOINT: 'tcp://dashboard:6000',
      ZMQ_SUB_CONTROL_TOPICS: 'camera.cmd',
      ZMQ_PUB_LOGGING_ENDPOINT: 'tcp://*:5557',
    })
    assert.deepEqual(
      cfg.sockets.map((s) => [s.kind, s.name, s.envPrefix, s.latencyClass]),
      [
        ['sub', 'control', 'ZMQ_SUB_CONTROL', 'control'],
        ['pub', 'logging', 'ZMQ_PUB_LOGGING', 'logging'],
      ],
    )
  })

  it('takes the class of a named socket from _CLASS', () => {
    const cfg = loadConfig({
      ZMQ_SUB_CAM_ENDPOINT: 'tcp://camera:5555',
      ZMQ_SUB_CAM_TOPICS: 'camera.frame,camera.',
      ZMQ_SUB_CAM_CLASS: 'telemetry',
    })
    assert.deepEqual(cfg.sockets, [
      {
        kind: 'sub',
        name: 'cam',
        envPrefix: 'ZMQ_SUB_CAM',
        latencyClass: 'telemetry',
        endpoints: [{ address: 'tcp://camera:5555', action: 'connect', explicit: false }],
        topics: ['camera.frame', 'camera.'],
        minSubscribers: 0,
        subscriberTimeoutMs: 0,
        curve: undefined,
        pool: undefined,
        nice: undefined,
      },
    ])
  })

  it('reads the subscriber gate of a PUB socket and rejects it on a SUB', () => {
    const cfg = loadConfig({
      ZMQ_PUB_FRAMES_ENDPOINT: 'tcp://*:5555',
      ZMQ_PUB_FRAMES_CLASS: 'telemetry',
      ZMQ_PUB_FRAMES_MIN_SUBSCRIBERS: '2',
      ZMQ_PUB_FRAMES_SUBSCRIBER_TIMEOUT_MS: '750',
    })
    assert.equal(cfg.sockets[0]?.minSubscribers, 2)
    assert.equal(cfg.sockets[0]?.subscriberTimeoutMs, 750)
    assert.throws(
      () => loadConfig({ ...camera(), ZMQ_SUB_MIN_SUBSCRIBERS: '1' }),
      (e: ConfigError) =>
        e.issues.length === 1 && e.issues[0]?.variable === 'ZMQ_SUB_MIN_SUBSCRIBERS',
    )
  })

  it('reads heartbeats, with timeout and TTL defaulting from the interval', () => {
    assert.deepEqual(loadConfig({ ...camera(), ZMQ_HEARTBEAT_IVL_MS: '500' }).heartbeat, {
      intervalMs: 500,
      timeoutMs: 1500,
      ttlMs: 1500,
    })
    assert.throws(
      () => loadConfig({ ...camera(), ZMQ_HEARTBEAT_TIMEOUT_MS: '500' }),
      (e: ConfigError) => e.issues[0]?.variable === 'ZMQ_HEARTBEAT_TIMEOUT_MS',
    )
  })

  it('caps the reconnect backoff at 250 ms, or at the interval when that is larger', () => {
    const cap = (env: Record<string, string>) =>
      loadConfig({ ...camera(), ...env }).reconnectIntervalMaxMs
    assert.equal(cap({}), 250)
    assert.equal(cap({ ZMQ_RECONNECT_IVL_MS: '1000' }), 1000)
    assert.equal(cap({ ZMQ_RECONNECT_IVL_MAX_MS: '5000' }), 5000)
    assert.equal(cap({ ZMQ_RECONNECT_IVL_MS: '100', ZMQ_RECONNECT_IVL_MAX_MS: '100' }), 100)
    assert.throws(
      () => cap({ ZMQ_RECONNECT_IVL_MS: '1000', ZMQ_RECONNECT_IVL_MAX_MS: '250' }),
      (e: ConfigError) => e.issues[0]?.variable === 'ZMQ_RECONNECT_IVL_MAX_MS',
    )
  })

  it('rejects a backoff cap below its base, and a bad HTTP_PORT', () => {
    assert.throws(
      () =>
        loadConfig({ ...camera(), ZC_RESTART_BACKOFF_MS: '500', ZC_RESTART_BACKOFF_MAX_MS: '100' }),
      (e: ConfigError) => e.issues[0]?.variable === 'ZC_RESTART_BACKOFF_MAX_MS',
    )
    assert.throws(
      () => loadConfig({ ...camera(), HTTP_PORT: '70000' }),
      (e: ConfigError) => e.issues[0]?.variable === 'HTTP_PORT',
    )
    assert.deepEqual(loadConfig({ ...camera(), HTTP_PORT: '9464' }).http, {
      port: 9464,
      host: '0.0.0.0',
    })
  })

  it('lets _CLASS override the default of an unnamed or class-named socket', () => {
    const cfg = loadConfig({
      ...camera(),
      ZMQ_SUB_CLASS: 'logging',
      ZMQ_PUB_CONTROL_ENDPOINT: 'tcp://*:5556',
      ZMQ_PUB_CONTROL_CLASS: 'telemetry',
    })
    assert.deepEqual(
      cfg.sockets.map((s) => [s.envPrefix, s.latencyClass]),
      [
        ['ZMQ_SUB', 'logging'],
        ['ZMQ_PUB_CONTROL', 'telemetry'],
        ['ZMQ_PUB', 'telemetry'],
      ],
    )
  })

  it('names a socket of several words in lower case', () => {
    const cfg = loadConfig({
      ZMQ_SUB_FRONT_CAM2_ENDPOINT: 'tcp://camera:5555',
      ZMQ_SUB_FRONT_CAM2_TOPICS: 'camera.frame',
      ZMQ_SUB_FRONT_CAM2_CLASS: 'telemetry',
    })
    assert.deepEqual(
      cfg.sockets.map((s) => [s.name, s.envPrefix]),
      [['front_cam2', 'ZMQ_SUB_FRONT_CAM2']],
    )
  })

  it('requires _CLASS for a named socket whose name is not a class', () => {
    const issue = onlyIssue(
      { ZMQ_SUB_CAM_ENDPOINT: 'tcp://camera:5555', ZMQ_SUB_CAM_TOPICS: 'camera.frame' },
      'ZMQ_SUB_CAM_CLASS',
    )
    assert.match(issue.problem, /required/)
  })

  it('rejects a _CLASS that is not a latency class', () => {
    const issue = onlyIssue(
      {
        ZMQ_SUB_CAM_ENDPOINT: 'tcp://camera:5555',
        ZMQ_SUB_CAM_TOPICS: 'camera.frame',
        ZMQ_SUB_CAM_CLASS: 'fast',
      },
      'ZMQ_SUB_CAM_CLASS',
    )
    assert.ok(issue.problem.includes('"fast"'), issue.problem)
    for (const c of LATENCY_CLASSES) assert.ok(issue.problem.includes(c), issue.problem)
  })

  it('orders SUB sockets first, then by name', () => {
    const cfg = loadConfig({
      ZMQ_PUB_LOGGING_ENDPOINT: 'tcp://*:5557',
      ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
      ZMQ_SUB_TELEMETRY_ENDPOINT: 'tcp://camera:5555',
      ZMQ_SUB_TELEMETRY_TOPICS: 'camera.frame',
      ZMQ_SUB_CONTROL_ENDPOINT: 'tcp://dashboard:6000',
      ZMQ_SUB_CONTROL_TOPICS: 'camera.cmd',
    })
    assert.deepEqual(
      cfg.sockets.map((s) => `${s.kind}:${s.name}`),
      ['sub:control', 'sub:telemetry', 'pub:logging', 'pub:pub'],
    )
  })

  it('gives every socket a distinct name', () => {
    // ZMQ_SUB_SUB_* names its socket "sub", as the unnamed ZMQ_SUB_* socket is named; the
    // supervisor keys workers and counters by name, so the two must not both load as "sub".
    const env = {
      ...camera(),
      ZMQ_SUB_SUB_ENDPOINT: 'tcp://other:6000',
      ZMQ_SUB_SUB_TOPICS: 'other.cmd',
      ZMQ_SUB_SUB_CLASS: 'control',
    }
    let cfg: Config
    try {
      cfg = loadConfig(env)
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error))
      return
    }
    const names = cfg.sockets.map((s) => `${s.kind}:${s.name}`)
    assert.equal(new Set(names).size, names.length, `duplicate socket names: ${names.join(', ')}`)
  })

  it('trims spaces around topics', () => {
    const cfg = loadConfig({
      ...camera(),
      ZMQ_SUB_TOPICS: ' camera.cmd , camera.',
      ZMQ_PUB_TOPICS: 'camera.frame , camera.heartbeat',
    })
    assert.deepEqual(cfg.sockets[0]?.topics, ['camera.cmd', 'camera.'])
    assert.deepEqual(cfg.sockets[1]?.topics, ['camera.frame', 'camera.heartbeat'])
  })

  it('loads a PUB without _TOPICS with no declared topics', () => {
    const cfg = loadConfig({ ZMQ_PUB_ENDPOINT: 'tcp://*:5555' })
    assert.equal(cfg.sockets.length, 1)
    assert.deepEqual(cfg.sockets[0]?.topics, [])
  })

  it('applies @ and > overrides to the socket endpoints', () => {
    const cfg = loadConfig({
      ZMQ_SUB_ENDPOINT: '@tcp://*:7000, tcp://dashboard:6000',
      ZMQ_SUB_TOPICS: 'camera.cmd',
      ZMQ_PUB_ENDPOINT: '>tcp://collector:7001,ipc:///tmp/camera.sock',
    })
    assert.deepEqual(cfg.sockets[0]?.endpoints, [
      { address: 'tcp://*:7000', action: 'bind', explicit: true },
      { address: 'tcp://dashboard:6000', action: 'connect', explicit: false },
    ])
    assert.deepEqual(cfg.sockets[1]?.endpoints, [
      { address: 'tcp://collector:7001', action: 'connect', explicit: true },
      { address: 'ipc:///tmp/camera.sock', action: 'bind', explicit: false },
    ])
  })
})

describe('loadConfig: tunables', () => {
  const rows: [string, string, keyof Config, unknown][] = [
    ['ZMQ_RECEIVE_TIMEOUT_MS', '50', 'receiveTimeoutMs', 50],
    ['ZMQ_RECEIVE_TIMEOUT_MS', ' 250 ', 'receiveTimeoutMs', 250],
    ['ZC_SHUTDOWN_TIMEOUT_MS', '10000', 'shutdownTimeoutMs', 10000],
    ['ZC_READY_TIMEOUT_MS', '750', 'readyTimeoutMs', 750],
    ['ZMQ_LINGER_MS', '20', 'lingerMs', 20],
    ['ZMQ_SETTLE_MS', '0', 'settleMs', 0],
    ['ZC_PUBLISH_QUEUE_LIMIT', '1', 'publishQueueLimit', 1],
    ['LOG_LEVEL', 'debug', 'logLevel', 'debug'],
    ['LOG_LEVEL', 'silent', 'logLevel', 'silent'],
    ['ZC_SERVICE', 'camera', 'service', 'camera'],
    ['ZC_SERVICE', './services/my camera.js', 'service', './services/my camera.js'],
    ['ZC_SERVICE', '', 'service', undefined],
  ]
  for (const [variable, value, key, expected] of rows) {
    it(`${variable}=${JSON.stringify(value)} gives ${key} ${JSON.stringify(expected)}`, () => {
      const cfg = loadConfig({ ...camera(), [variable]: value })
      assert.equal(cfg[key], expected)
    })
  }
})

describe('loadConfig: one bad variable, one issue', () => {
  const rows: [string, string[]][] = [
    ['ZMQ_RECEIVE_TIMEOUT_MS', ['-1', 'abc', '1.5', '5e2', '', '500ms']],
    ['ZC_SHUTDOWN_TIMEOUT_MS', ['2s', '-5', 'Infinity']],
    ['ZC_READY_TIMEOUT_MS', ['soon', '1,000']],
    ['ZMQ_LINGER_MS', ['-1', 'forever']],
    ['ZMQ_SETTLE_MS', ['100ms', '0x10']],
    ['ZC_PUBLISH_QUEUE_LIMIT', ['0', '-1', 'many', '2.5', '']],
    ['LOG_LEVEL', ['verbose', 'loud', '']],
    ['ZC_SERVICE', [' camera', 'camera ', ' ']],
    ['ZMQ_SUB_ENDPOINT', ['udp://dashboard:6000', 'tcp://*:6000', 'tcp://dashboard', '']],
    ['ZMQ_SUB_TOPICS', ['camera..cmd', 'camera.cmd,camera.cmd', '.', '', 'camera.cmd,']],
    ['ZMQ_SUB_CLASS', ['fast', 'Control', '']],
    ['ZMQ_PUB_ENDPOINT', ['tcp://*:65536', 'tcp://*:5555,,tcp://*:5556', 'pgm://x:1']],
    ['ZMQ_PUB_TOPICS', ['camera.', 'camera', 'camera.frame,camera.frame', 'caméra.frame']],
    ['ZMQ_PUB_CLASS', ['urgent']],
  ]
  for (const [variable, values] of rows) {
    for (const value of values) {
      it(`${variable}=${JSON.stringify(value)}`, () => {
        const issue = onlyIssue({ ...camera(), [variable]: value }, variable)
        // The example is a value that would work: substituting it must load.
        if (issue.example) loadConfig({ ...camera(), [variable]: issue.example })
      })
    }
  }

  it('quotes the bad value of a tunable', () => {
    const issue = onlyIssue({ ...camera(), ZMQ_SETTLE_MS: '100ms' }, 'ZMQ_SETTLE_MS')
    assert.ok(issue.problem.includes('"100ms"'), issue.problem)
    assert.equal(issue.example, '100')
  })

  it('quotes the bad endpoint', () => {
    const env = { ...camera(), ZMQ_SUB_ENDPOINT: 'udp://dashboard:6000' }
    const issue = onlyIssue(env, 'ZMQ_SUB_ENDPOINT')
    assert.ok(issue.problem.includes('"udp://dashboard:6000"'), issue.problem)
  })

  it('quotes the bad topic', () => {
    const env = { ...camera(), ZMQ_SUB_TOPICS: 'camera.cmd,camera..x' }
    const issue = onlyIssue(env, 'ZMQ_SUB_TOPICS')
    assert.ok(issue.problem.includes('"camera..x"'), issue.problem)
  })

  // A receive timeout of 0 makes every receive return EAGAIN at once: the worker's receive
  // loop spins and starves its event loop, so it never sees the stop message.
  it('rejects ZMQ_RECEIVE_TIMEOUT_MS=0', () => {
    onlyIssue({ ...camera(), ZMQ_RECEIVE_TIMEOUT_MS: '0' }, 'ZMQ_RECEIVE_TIMEOUT_MS')
  })

  // Above 2^31-1 a timer fires after 1 ms instead (TimeoutOverflowWarning), and zeromq rejects
  // the socket option with "Invalid argument" only when the worker opens its socket.
  for (const variable of [
    'ZMQ_RECEIVE_TIMEOUT_MS',
    'ZC_SHUTDOWN_TIMEOUT_MS',
    'ZC_READY_TIMEOUT_MS',
    'ZMQ_LINGER_MS',
    'ZMQ_SETTLE_MS',
  ]) {
    it(`rejects ${variable}=2147483648, beyond a 32-bit timer or socket option`, () => {
      onlyIssue({ ...camera(), [variable]: '2147483648' }, variable)
    })
  }
})

// One integer validator and one choice validator serve every variable: their messages are pinned
// here word for word, per unit and per kind of choice, so the shared wording cannot drift.
describe('loadConfig: the wording of range and choice problems', () => {
  const rows: [string, string, string][] = [
    ['ZC_PUBLISH_QUEUE_LIMIT', '513', 'is "513"; it must be a whole number from 1 to 512'],
    [
      'ZMQ_LINGER_MS',
      '2147483648',
      'is "2147483648"; it must be a whole number of milliseconds from 0 to 2147483647',
    ],
    [
      'ZMQ_RECEIVE_TIMEOUT_MS',
      '0',
      'is "0"; it must be a whole number of milliseconds from 1 to 2147483647',
    ],
    [
      'ZMQ_HEARTBEAT_IVL_MS',
      '6553501',
      'is "6553501"; it must be a whole number of milliseconds from 0 to 6553500',
    ],
    ['HTTP_PORT', '70000', 'is "70000"; it must be a port from 0 to 65535'],
    ['ZMQ_SNDHWM', '-1', 'is "-1"; it must be a whole number from 0 to 2147483647'],
    ['LOG_FORMAT', 'yaml', 'is "yaml"; use json or pretty'],
    ['ZMQ_RECORD_COMPRESSION', 'ZSTD', 'is "ZSTD"; use none or zstd'],
    ['LOG_LEVEL', 'loud', 'is "loud"; use one of fatal, error, warn, info, debug, trace, silent'],
    ['ZMQ_SUB_CLASS', 'Control', 'is "Control"; use one of control, telemetry, logging'],
  ]
  for (const [variable, value, problem] of rows) {
    it(`${variable}=${JSON.stringify(value)}`, () => {
      assert.equal(onlyIssue({ ...camera(), [variable]: value }, variable).problem, problem)
    })
  }

  it('takes the largest duration and the log choices in any case, with spaces around', () => {
    const cfg = loadConfig({
      ...camera(),
      ZMQ_LINGER_MS: '2147483647',
      LOG_LEVEL: ' WARN ',
      LOG_FORMAT: 'Pretty',
    })
    assert.equal(cfg.lingerMs, 2147483647)
    assert.equal(cfg.logLevel, 'warn')
    assert.equal(cfg.logFormat, 'pretty')
  })
})

describe('loadConfig: several issues at once', () => {
  it('reports every bad variable in one ConfigError, one line each', () => {
    const bad: Env = {
      ZMQ_RECEIVE_TIMEOUT_MS: 'x',
      LOG_LEVEL: 'loud',
      ZC_PUBLISH_QUEUE_LIMIT: '0',
      ZMQ_SUB_TOPICS: 'camera..cmd',
      ZMQ_PUB_ENDPOINT: 'udp://x:1',
    }
    const error = configError({ ...camera(), ...bad })
    assert.equal(error.issues.length, 5)
    assert.deepEqual(error.issues.map((i) => i.variable).sort(), Object.keys(bad).sort())
    const lines = error.message.split('\n')
    assert.equal(lines.length, 5)
    for (const variable of Object.keys(bad)) {
      assert.equal(lines.filter((l) => l.startsWith(`${variable}: `)).length, 1, variable)
    }
  })

  it('reports bad socket variables of several sockets together', () => {
    const error = configError({
      ZMQ_SUB_CAM_ENDPOINT: 'tcp://camera:5555',
      ZMQ_SUB_CAM_TOPICS: 'camera.frame',
      ZMQ_PUB_LOGGING_ENDPOINT: 'tcp://*:0',
      ZMQ_PUB_LOGGING_TOPICS: 'camera',
    })
    assert.deepEqual(error.issues.map((i) => i.variable).sort(), [
      'ZMQ_PUB_LOGGING_ENDPOINT',
      'ZMQ_PUB_LOGGING_TOPICS',
      'ZMQ_SUB_CAM_CLASS',
    ])
  })
})

describe('loadConfig: missing and misspelt variables', () => {
  it('an empty env is one issue', () => {
    const issue = onlyIssue({}, 'ZMQ_SUB_ENDPOINT')
    assert.match(issue.problem, /no socket/)
  })

  it('unrelated variables do not configure a socket', () => {
    onlyIssue({ PATH: '/usr/bin', ZMQ_SUBSCRIBER: 'x', ZMQ_PUBLISHER: 'y' }, 'ZMQ_SUB_ENDPOINT')
  })

  it('ZMQ_SUB_TOPICS without ZMQ_SUB_ENDPOINT asks for the endpoint', () => {
    const { ZMQ_SUB_ENDPOINT: _, ...env } = camera()
    const issue = onlyIssue(env, 'ZMQ_SUB_ENDPOINT')
    assert.ok(issue.problem.includes('ZMQ_SUB_TOPICS'), issue.problem)
  })

  it('ZMQ_SUB_TOPICS alone gives one issue for ZMQ_SUB_ENDPOINT', () => {
    // Documented contract (loadConfig): one issue per variable.
    const issue = onlyIssue({ ZMQ_SUB_TOPICS: 'camera.cmd' }, 'ZMQ_SUB_ENDPOINT')
    assert.ok(issue.problem.includes('ZMQ_SUB_TOPICS'), issue.problem)
  })

  it('a named socket without its endpoint asks for <prefix>_ENDPOINT', () => {
    const env = { ...camera(), ZMQ_PUB_LOGGING_CLASS: 'logging' }
    const issue = onlyIssue(env, 'ZMQ_PUB_LOGGING_ENDPOINT')
    assert.ok(issue.problem.includes('ZMQ_PUB_LOGGING_CLASS'), issue.problem)
  })

  it('a SUB without _TOPICS asks for them', () => {
    const issue = onlyIssue({ ZMQ_SUB_ENDPOINT: 'tcp://dashboard:6000' }, 'ZMQ_SUB_TOPICS')
    assert.match(issue.problem, /required/)
    onlyIssue(
      { ...camera(), ZMQ_SUB_CONTROL_ENDPOINT: 'tcp://dashboard:6001' },
      'ZMQ_SUB_CONTROL_TOPICS',
    )
  })

  const typos: [string, string][] = [
    ['ZMQ_SUB_TOPIC', 'ZMQ_SUB_TOPICS'],
    ['ZMQ_PUB_ENDPOINTS', 'ZMQ_PUB_ENDPOINT'],
    ['ZMQ_SUB_CAM_TOPIC', 'ZMQ_SUB_CAM_TOPICS'],
    ['ZMQ_PUB_CLAS', 'ZMQ_PUB_CLASS'],
  ]
  for (const [typo, meant] of typos) {
    it(`${typo} is reported, suggesting ${meant}`, () => {
      const issue = onlyIssue({ ...camera(), [typo]: 'camera.cmd' }, typo)
      assert.ok(issue.problem.includes(meant), issue.problem)
    })
  }

  it('a misspelt variable replacing a required one gives both issues', () => {
    const error = configError({ ZMQ_SUB_ENDPOINT: 'tcp://dashboard:6000', ZMQ_SUB_TOPIC: 'a.b' })
    const variables = error.issues.map((i) => i.variable).sort()
    assert.deepEqual(variables, ['ZMQ_SUB_TOPIC', 'ZMQ_SUB_TOPICS'])
    // The likely fix comes first, before the list of suffixes; the missing one points back.
    const typo = error.issues.find((i) => i.variable === 'ZMQ_SUB_TOPIC')
    assert.match(
      typo?.problem ?? '',
      /^is not a socket variable; did you mean ZMQ_SUB_TOPICS\? \(SUB socket variables end in _ENDPOINT, /,
    )
    const missing = error.issues.find((i) => i.variable === 'ZMQ_SUB_TOPICS')
    assert.equal(missing?.problem, 'is required but not set (ZMQ_SUB_TOPIC is set: a typo?)')
  })

  it('does not suggest the misspelt name itself', () => {
    for (const variable of ['ZMQ_SUB_cam_ENDPOINT', 'ZMQ_SUB_CAM-1_TOPICS']) {
      const issue = onlyIssue({ ...camera(), [variable]: 'x' }, variable)
      assert.ok(!issue.problem.includes(`did you mean ${variable}?`), issue.problem)
    }
  })
})

describe('loadConfig: checks across sockets', () => {
  it('rejects two latency classes on one endpoint address', () => {
    const error = configError({
      ZMQ_SUB_CONTROL_ENDPOINT: 'tcp://hub:6000',
      ZMQ_SUB_CONTROL_TOPICS: 'hub.cmd',
      ZMQ_SUB_TELEMETRY_ENDPOINT: 'tcp://hub:6000',
      ZMQ_SUB_TELEMETRY_TOPICS: 'hub.frame',
    })
    assert.equal(error.issues.length, 1)
    const issue = error.issues[0] as ConfigIssue
    assert.ok(
      ['ZMQ_SUB_CONTROL_ENDPOINT', 'ZMQ_SUB_TELEMETRY_ENDPOINT'].includes(issue.variable),
      issue.variable,
    )
    for (const word of ['tcp://hub:6000', 'control', 'telemetry']) {
      assert.ok(issue.problem.includes(word), issue.problem)
    }
  })

  it('rejects two sockets binding one address', () => {
    const error = configError({
      ...camera(),
      ZMQ_PUB_TELEMETRY_ENDPOINT: 'tcp://*:5555',
    })
    assert.equal(error.issues.length, 1)
    const issue = error.issues[0] as ConfigIssue
    assert.ok(['ZMQ_PUB_ENDPOINT', 'ZMQ_PUB_TELEMETRY_ENDPOINT'].includes(issue.variable))
    assert.ok(issue.problem.includes('tcp://*:5555'), issue.problem)
    assert.match(issue.problem, /binds/)
  })

  it('rejects a SUB binding an address a PUB binds', () => {
    const error = configError({ ...camera(), ZMQ_SUB_ENDPOINT: '@tcp://*:5555' })
    assert.ok(error.issues.some((i) => /binds tcp:\/\/\*:5555/.test(i.problem)))
  })

  it('rejects one topic declared by two PUB sockets', () => {
    const error = configError({
      ...camera(),
      ZMQ_PUB_LOGGING_ENDPOINT: 'tcp://*:5557',
      ZMQ_PUB_LOGGING_TOPICS: 'camera.log,camera.frame',
    })
    assert.equal(error.issues.length, 1)
    const issue = error.issues[0] as ConfigIssue
    assert.ok(['ZMQ_PUB_TOPICS', 'ZMQ_PUB_LOGGING_TOPICS'].includes(issue.variable))
    assert.ok(issue.problem.includes('camera.frame'), issue.problem)
  })

  it('lets sockets of one class share an endpoint', () => {
    const cfg = loadConfig({
      ...camera(),
      ZMQ_SUB_CONTROL_ENDPOINT: 'tcp://dashboard:6000',
      ZMQ_SUB_CONTROL_TOPICS: 'dashboard.cmd',
    })
    assert.equal(cfg.sockets.length, 3)
    assert.deepEqual(
      cfg.sockets.filter((s) => s.kind === 'sub').map((s) => s.endpoints[0]?.address),
      ['tcp://dashboard:6000', 'tcp://dashboard:6000'],
    )
  })

  it('lets a SUB and a PUB list the same topic', () => {
    const cfg = loadConfig({ ...camera(), ZMQ_SUB_TOPICS: 'camera.frame' })
    assert.equal(cfg.sockets.length, 2)
  })

  it('lets two sockets each bind their own ephemeral port', () => {
    // tcp://host:* binds a fresh port per bind, so the two sockets do not collide.
    const cfg = loadConfig({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TELEMETRY_ENDPOINT: 'tcp://127.0.0.1:*',
    })
    assert.equal(cfg.sockets.length, 2)
  })
})

describe('latency budgets', () => {
  it('match the seed (2.2)', () => {
    assert.deepEqual(LATENCY_CLASSES, ['control', 'telemetry', 'logging'])
    assert.deepEqual(
      LATENCY_CLASSES.map((c) => LATENCY_BUDGET_MS[c]),
      [10, 100, 1000],
    )
  })
})
