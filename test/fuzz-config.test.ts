// Property tests of the config loader over random environments: every run ends in a frozen,
// cloneable Config or in one ConfigError with one line per issue, each naming a variable the
// user can find; no other exception escapes, and no secret key is ever echoed.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import {
  SOCKET_KEYS as ALL_SOCKET_KEYS,
  type Config,
  loadConfig,
  SOCKET_DIRECTIONS,
  socketKeysFor,
  TUNABLE_VARIABLES,
} from '../src/shared/config'
import { ConfigError, type ConfigIssue, formatIssue } from '../src/shared/errors'
import { assertProperty, NUM_RUNS } from './helpers/property'

const ROOT = path.join(__dirname, '..')

// --- Variable names ----------------------------------------------------------------------------

/** Socket directions and per-socket keys: the loader's own catalogue. */
const DIRECTIONS = [...SOCKET_DIRECTIONS]
const SOCKET_KEYS = [...ALL_SOCKET_KEYS]
const TUNABLES = [...TUNABLE_VARIABLES]
/** Every name the container reads, plus a few that only look real, which is fine for a fuzzer. */
const CONFIG_NAMES = [
  ...TUNABLES,
  ...DIRECTIONS.flatMap((d) => socketKeysFor(d).map((k) => `ZMQ_${d}_${k}`)),
  'ZMQ_MAXMSGSIZE',
  'ZMQ_LINGER',
  'ZC_SERVCE',
]

/** A variable the container reads: a tunable of shared/config, or a well-formed socket variable. */
const SOCKET_VAR_RE = new RegExp(
  `^ZMQ_(${DIRECTIONS.join('|')})_(?:[A-Z0-9]+(?:_[A-Z0-9]+)*_)?(${SOCKET_KEYS.join('|')})(_FILE)?$`,
)
const isKnownVariable = (name: string) =>
  SOCKET_VAR_RE.test(name) || TUNABLES.includes(name) || TUNABLES.includes(`${name}_FILE`)

const socketName = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    'CONTROL',
    'TELEMETRY',
    'LOGGING',
    'CAM',
    'A_B',
    'X9',
    'SUB',
    'PUB',
    'REP',
    'a',
    'A__B',
  ),
  fc.string({ unit: fc.constantFrom(...'ABZ09_'), minLength: 1, maxLength: 8 }),
)
const socketKey = fc.oneof(
  { arbitrary: fc.constantFrom(...SOCKET_KEYS), weight: 6 },
  {
    arbitrary: fc.constantFrom('TOPIC', 'ENDPOINTS', 'CURVE', 'SECRET_KEY', 'CLAS', ''),
    weight: 1,
  },
)
const socketVariable = fc
  .tuple(fc.constantFrom(...DIRECTIONS), socketName, socketKey, fc.boolean())
  .map(
    ([direction, name, key, file]) =>
      `ZMQ_${direction}${name ? `_${name}` : ''}${key ? `_${key}` : ''}${file ? '_FILE' : ''}`,
  )
const junkName = fc.oneof(
  fc.constantFrom('PATH', 'HOME', '__proto__', 'constructor', 'toString', 'hasOwnProperty', ''),
  fc.constantFrom('ZMQ_', 'ZMQ_SUB', 'ZMQ_SUB_', 'ZMQ_PUB__ENDPOINT', 'zmq_sub_endpoint'),
  fc.string({ maxLength: 20 }),
)
const variableName = fc.oneof(
  { arbitrary: fc.constantFrom(...CONFIG_NAMES), weight: 4 },
  { arbitrary: fc.constantFrom(...TUNABLES).map((n) => `${n}_FILE`), weight: 1 },
  { arbitrary: socketVariable, weight: 6 },
  { arbitrary: junkName, weight: 1 },
)

// --- Values ------------------------------------------------------------------------------------

/**
 * Fixed keys (zeromq.curveKeyPair output), so that every run sees the same ones. Neither has a
 * `#`: see the regression test below for keys that do.
 */
const keys = [
  {
    publicKey: 'kvC{V>YPlJ*-CmXsIm}!TuT3mZl}9&?ZvX-N}GFy',
    secretKey: 'yettmSdaj=>4Nud&mRUS{g(xvNL?mkw8OVhMmzJP',
  },
  {
    publicKey: 'v![(cU*zQq3uH]Pl5}SdHH[8.oITbv7!S.@l).N}',
    secretKey: '*!p42[iFQc-S$Bz8BK{a:-jzaICKZ2H[cT8!*$dO',
  },
] as const
/** A real public key with `#` in it, a Z85 character (about 37% of random keys have one). */
const HASH_KEY = '(fV^Au#r9)<1o${8268H(o52{DpkMBpC]$*=/Zn>'
const dir = mkdtempSync(path.join(tmpdir(), 'zc-fuzz-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))
/** Files for the `_FILE` variables: a secret key, a list, an empty file, a directory. */
const FILES = {
  secret: path.join(dir, 'secret.key'),
  public: path.join(dir, 'public.key'),
  allow: path.join(dir, 'allow.txt'),
  empty: path.join(dir, 'empty'),
}
writeFileSync(FILES.secret, `${keys[0].secretKey}\n`)
writeFileSync(FILES.public, `${keys[0].publicKey}\n`)
writeFileSync(FILES.allow, `# clients\n${keys[1].publicKey}\n${keys[0].publicKey}, \n`)
writeFileSync(FILES.empty, '')

/** Keys one step from valid: one character short or long, a space or a non-Z85 character inside. */
const NEAR_KEYS = keys.flatMap(({ secretKey: k }) => [
  k.slice(0, 39),
  `${k}x`,
  `${k.slice(0, 20)} ${k.slice(21)}`,
  `${k.slice(0, 20)}~${k.slice(21)}`,
  `${k.slice(0, 20)}"${k.slice(21)}`,
])
const KEYISH = [...keys.flatMap((k) => [k.publicKey, k.secretKey]), ...NEAR_KEYS]

/** Values that are valid for some variable: endpoints, topics, classes, numbers, keys, files. */
const GOOD_VALUES = [
  'tcp://127.0.0.1:*',
  'tcp://*:5555',
  'tcp://camera:5555',
  'tcp://camera:5555,tcp://camera2:5555',
  '@tcp://*:6000',
  '>tcp://127.0.0.1:6001',
  'ipc:///tmp/zc-fuzz',
  'inproc://x',
  'camera.cmd',
  'camera.',
  'camera.frame,camera.heartbeat',
  'control',
  'telemetry',
  'logging',
  'true',
  'false',
  'info',
  'fatal',
  '0',
  '1',
  '100',
  '5000',
  '65535',
  '127.0.0.1',
  ...keys.flatMap((k) => [k.publicKey, k.secretKey]),
  `${keys[0].publicKey},${keys[1].publicKey}`,
  ...Object.values(FILES),
  dir,
  path.join(dir, 'missing'),
]
/** Values that are wrong for most variables: numbers out of range, bad endpoints, newlines. */
const BAD_VALUES = [
  '',
  ' ',
  '-1',
  '1e3',
  '0x10',
  ' 5 ',
  '99999999999999999999999999',
  String(2 ** 31),
  String(Number.MAX_SAFE_INTEGER + 2),
  'NaN',
  'Infinity',
  'tcp://',
  'tcp://camera',
  'tcp://*:*',
  'udp://x:1',
  ',',
  'a,,b',
  'camera cmd',
  'cäméra.cmd',
  '📷.cmd',
  `${'x'.repeat(63)}.y`,
  ...NEAR_KEYS,
  ' '.repeat(40),
  '"'.repeat(40),
  'line one\nline two',
  'tcp://camera:5555\n',
  'a\r\nZMQ_SUB_ENDPOINT: fake issue',
  '\u0000',
  '\u2028',
]
const badValue = fc.oneof(
  fc.constantFrom(...BAD_VALUES),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
)
const value = fc.oneof(
  { arbitrary: fc.constantFrom(...GOOD_VALUES), weight: 3 },
  { arbitrary: badValue, weight: 2 },
)

/** A starting point that is often valid, so the fuzzer also reaches the cross-socket checks. */
const base = fc.constantFrom<Record<string, string>>(
  {},
  { ZMQ_SUB_ENDPOINT: 'tcp://camera:5555', ZMQ_SUB_TOPICS: 'camera.cmd' },
  { ZMQ_PUB_ENDPOINT: 'tcp://*:5555', ZMQ_PUB_TOPICS: 'camera.frame' },
  {
    ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
    ZMQ_PUB_CURVE_PUBLIC_KEY: keys[0].publicKey,
    ZMQ_PUB_CURVE_SECRET_KEY_FILE: FILES.secret,
    ZMQ_CURVE_ALLOW_FILE: FILES.allow,
  },
  {
    ZMQ_SUB_ENDPOINT: 'tcp://camera:5555',
    ZMQ_SUB_TOPICS: 'camera.',
    ZMQ_SUB_CURVE_PUBLIC_KEY: keys[1].publicKey,
    ZMQ_SUB_CURVE_SECRET_KEY: keys[1].secretKey,
    ZMQ_SUB_CURVE_SERVER_KEY: keys[0].publicKey,
  },
)
const envArb = fc
  .tuple(base, fc.array(fc.tuple(variableName, value), { maxLength: 8 }))
  .map(([start, pairs]) => {
    const env: Record<string, string> = { ...start }
    // defineProperty: a variable called __proto__ must be an own entry, as in process.env.
    for (const [k, v] of pairs)
      Object.defineProperty(env, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    return env
  })

// --- Checks ------------------------------------------------------------------------------------

function assertDeepFrozen(value: unknown, where = 'config'): void {
  if (value === null || typeof value !== 'object') return
  assert.ok(Object.isFrozen(value), `${where} is not frozen`)
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${where}.${k}`)
}

/** Pool values that also appear in the loader's own texts (examples, lists of choices). */
const ORDINARY = [...GOOD_VALUES, ...BAD_VALUES].filter((v) => !KEYISH.some((k) => v.includes(k)))

/**
 * Secret values that must not show in a message: every *_CURVE_SECRET_KEY value, and the
 * content of a *_CURVE_SECRET_KEY_FILE. Skipped when too short to be told from ordinary text,
 * when it is ordinary text (an example the loader prints anyway), or when the same text is also
 * the value or name of a non-secret variable (which may rightly be echoed).
 */
function secretsOf(env: Record<string, string>): string[] {
  const isSecret = (name: string) => /_CURVE_SECRET_KEY$/.test(name)
  const candidates: string[] = []
  for (const [name, v] of Object.entries(env)) {
    if (isSecret(name)) candidates.push(v, v.trim())
    if (name.endsWith('_FILE') && isSecret(name.slice(0, -'_FILE'.length))) {
      try {
        candidates.push(readFileSync(v, 'utf8').trim())
      } catch {
        // Unreadable: the loader reports the path, which is no secret.
      }
    }
  }
  const open = Object.entries(env)
    .filter(([name]) => !isSecret(name))
    .flat()
  return candidates.filter(
    (s) =>
      s.length >= 8 && !ORDINARY.some((o) => o.includes(s)) && !open.some((o) => o.includes(s)),
  )
}

type Outcome = { config: Config } | { error: ConfigError }

function load(env: Record<string, string>): Outcome {
  try {
    return { config: loadConfig(env) }
  } catch (error) {
    assert.ok(
      error instanceof ConfigError,
      `not a ConfigError: ${error instanceof Error ? error.stack : String(error)}`,
    )
    return { error }
  }
}

describe('loadConfig (property)', () => {
  it(`a random environment gives a frozen Config or one ConfigError (${NUM_RUNS} runs)`, () => {
    const seen = { valid: 0, invalid: 0 }
    assertProperty(
      fc.property(envArb, (env) => {
        const outcome = load(env)
        if ('config' in outcome) {
          seen.valid++
          assertDeepFrozen(outcome.config)
          assert.deepEqual(structuredClone(outcome.config), outcome.config)
          return
        }
        seen.invalid++
        const { error } = outcome
        assert.equal(error.code, 'ZC_ERR_CONFIG_INVALID')
        assert.ok(error.issues.length > 0)
        const lines = error.message.split('\n')
        assert.equal(
          lines.length,
          error.issues.length,
          `one line per issue; got ${lines.length} lines for ${error.issues.length} issues:\n${error.message}`,
        )
        error.issues.forEach((issue, i) => {
          assert.equal(lines[i], formatIssue(issue))
          assert.ok(lines[i]?.startsWith(`${issue.variable}: `), `line ${i}: ${lines[i]}`)
          assert.ok(
            Object.hasOwn(env, issue.variable) || isKnownVariable(issue.variable),
            `${issue.variable} is neither set nor a variable the container reads`,
          )
        })
        for (const secret of secretsOf(env))
          assert.ok(!error.message.includes(secret), 'a CURVE secret key is echoed in the error')
      }),
      { numRuns: NUM_RUNS },
    )
    // Both outcomes must be common, or the property is only half tested.
    assert.ok(seen.valid > NUM_RUNS / 50, `only ${seen.valid} valid configs`)
    assert.ok(seen.invalid > NUM_RUNS / 50, `only ${seen.invalid} config errors`)
  })

  it('environments with CURVE keys and no other change stay valid (no false rejections)', () => {
    // The counterpart to the above: valid CURVE settings in any of their forms are accepted.
    const [server, client] = keys
    const form = (variable: string, key: string, file: string | undefined) =>
      fc.constantFrom<Record<string, string>>(
        { [variable]: key },
        { [variable]: `  ${key}\t` },
        ...(file ? [{ [`${variable}_FILE`]: file }] : []),
      )
    assertProperty(
      fc.property(
        form('ZMQ_PUB_CURVE_PUBLIC_KEY', server.publicKey, FILES.public),
        form('ZMQ_PUB_CURVE_SECRET_KEY', server.secretKey, FILES.secret),
        fc.constantFrom<Record<string, string>>(
          {},
          { ZMQ_CURVE_ALLOW: client.publicKey },
          { ZMQ_CURVE_ALLOW: `${client.publicKey}, ${server.publicKey}` },
          { ZMQ_CURVE_ALLOW_FILE: FILES.allow },
        ),
        (pub, secret, allow) => {
          const config = loadConfig({
            ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
            ...pub,
            ...secret,
            ...allow,
          })
          const curve = config.sockets[0]?.curve
          assert.equal(curve?.role, 'server')
          assert.equal(curve?.publicKey, server.publicKey)
          assert.equal(curve?.secretKey, server.secretKey)
        },
      ),
      { numRuns: 50 },
    )
  })
})

/** Runs loadConfig on an environment that must be rejected; returns the error. */
function rejected(env: Record<string, string>): ConfigError {
  const outcome = load(env)
  assert.ok('error' in outcome, `expected a ConfigError for ${JSON.stringify(env)}`)
  return outcome.error
}

const SUB_OK = { ZMQ_SUB_ENDPOINT: 'tcp://camera:5555', ZMQ_SUB_TOPICS: 'camera.cmd' }

// Each of these was first found by the property above; kept as plain examples so that a
// failure names its cause at once.
describe('loadConfig: cases the fuzzer found', () => {
  for (const [variable, raw] of [
    ['ZMQ_SNDHWM', '1\n2'],
    ['ZMQ_RECEIVE_TIMEOUT_MS', '500\nZMQ_SUB_ENDPOINT: forged issue'],
    ['LOG_LEVEL', 'info\r\nwarn'],
    ['ZMQ_MONITOR', 'yes\nno'],
    ['HTTP_PORT', '80\r9464'],
    ['ZMQ_SUB_CLASS', 'control\nlogging'],
    ['ZMQ_CURVE_ALLOW_FILE', '/run/secrets/a\nb'],
  ] as const) {
    it(`a newline in ${variable} stays inside its one issue line`, () => {
      const error = rejected({ ...SUB_OK, [variable]: raw })
      assert.equal(error.issues.length, 1, JSON.stringify(error.issues))
      // main.ts prints the message line by line, one problem per line: a raw line break in an
      // echoed value splits one problem in two, or forges a line that reads like another one.
      assert.deepEqual(
        error.message.split('\n'),
        [formatIssue(error.issues[0] as ConfigIssue)],
        `the message has ${error.message.split(/\r?\n|\r/).length} lines:\n${error.message}`,
      )
      assert.ok(!/[\r\n]/.test(error.message), JSON.stringify(error.message))
    })
  }

  it('a public key with "#" (a Z85 character) can be allowlisted, in ZMQ_CURVE_ALLOW and in a file', () => {
    const allowFile = path.join(dir, 'allow-hash.txt')
    writeFileSync(allowFile, `# the camera\n${HASH_KEY}\n  # the dashboard\n${keys[1].publicKey}\n`)
    const server = {
      ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
      ZMQ_PUB_CURVE_PUBLIC_KEY: keys[0].publicKey,
      ZMQ_PUB_CURVE_SECRET_KEY: keys[0].secretKey,
    }
    const forms: Array<Record<string, string>> = [
      { ZMQ_CURVE_ALLOW: HASH_KEY },
      { ZMQ_CURVE_ALLOW_FILE: allowFile },
    ]
    for (const allow of forms) {
      const outcome = load({ ...server, ...allow })
      assert.ok(
        'config' in outcome,
        `${Object.keys(allow)[0]} rejects a valid key: ${'error' in outcome ? outcome.error.message : ''}`,
      )
      assert.ok(outcome.config.curveAllow?.includes(HASH_KEY))
    }
  })

  it('a _FILE variable with a malformed socket name: the issue names the variable that was set', () => {
    const env = { ZMQ_SUB__A_CURVE_SECRET_KEY_FILE: FILES.secret }
    const error = rejected(env)
    for (const issue of error.issues)
      assert.ok(
        Object.hasOwn(env, issue.variable) || isKnownVariable(issue.variable),
        `${issue.variable} is neither set nor a variable the container reads: ${error.message}`,
      )
  })
})

// With the property's "set, or a variable the container reads", this makes every variable an
// issue can name one the user finds in the README.
describe('README documents every variable a config error can name', () => {
  it('every tunable and every per-socket variable of src/shared/config', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    // Per-socket rows read `ZMQ_SUB[_<NAME>]_TOPICS` or `ZMQ_<SUB\|PUB>[_<NAME>]_CURVE_...`.
    const documented = new Set<string>()
    for (const [, directions = '', key] of readme.matchAll(
      /ZMQ_<?([A-Z]+(?:\\?\|[A-Z]+)*)>?\[_<NAME>\]_([A-Z_]+)/g,
    ))
      for (const d of directions.split(/\\?\|/)) documented.add(`ZMQ_${d}[_<NAME>]_${key}`)
    const missing = [
      ...TUNABLES.filter((v) => !new RegExp(`\`${v}\`|\`${v} /|/ ${v}\``).test(readme)),
      ...DIRECTIONS.flatMap((d) =>
        socketKeysFor(d).map((key) => `ZMQ_${d}[_<NAME>]_${key}`),
      ).filter((v) => !documented.has(v)),
    ]
    assert.deepEqual(missing, [], `README.md does not document: ${missing.join(', ')}`)
  })
})
