import { customCleanEnv, EnvMissingError, makeValidator, type Spec } from 'envalid'
import { distance } from 'fastest-levenshtein'
import { type Endpoint, type EndpointAction, parseEndpointList } from '../endpoints'
import { ConfigError, type ConfigIssue } from '../errors'
import { subscriptionProblem, topicProblem } from '../topics'
import { curveKeyProblem, parseKeyList, resolveFileVariables } from './secrets'

/** Delivery-urgency groups of the seed (2.2); one socket carries exactly one. */
export const LATENCY_BUDGET_MS = { control: 10, telemetry: 100, logging: 1000 } as const
export type LatencyClass = keyof typeof LATENCY_BUDGET_MS
export const LATENCY_CLASSES = Object.keys(LATENCY_BUDGET_MS) as LatencyClass[]

/**
 * `sub` and `rep` sockets receive, each in its own worker thread; `pub` sockets live in the main
 * thread. A `rep` socket answers requests (reliable control, seed 4.2).
 */
export type SocketKind = 'sub' | 'pub' | 'rep'

export interface SocketSpec {
  readonly kind: SocketKind
  /** `sub` / `pub` for the seed's unnamed sockets, else the lower-cased `<NAME>`. */
  readonly name: string
  /** The variable prefix this socket came from, e.g. `ZMQ_SUB_CONTROL`, for messages. */
  readonly envPrefix: string
  readonly latencyClass: LatencyClass
  readonly endpoints: readonly Endpoint[]
  /** SUB: subscriptions (exact, or prefix when ending in `.`). PUB: declared topics. */
  readonly topics: readonly string[]
  /** PUB: subscribers that must be attached before the container reports ready (0: no gate). */
  readonly minSubscribers: number
  /** PUB: how long start-up waits for `minSubscribers` before it goes on, not ready. */
  readonly subscriberTimeoutMs: number
  /** CURVE security: a server on binding sockets, a client on connecting ones. */
  readonly curve: CurveConfig | undefined
  /** SUB: run the handler in a piscina pool instead of the receive thread (undefined: inline). */
  readonly pool: PoolConfig | undefined
}

/**
 * Handler offload for CPU-heavy work: the receive thread keeps draining its socket while pool
 * threads run the handler. Order across messages is not kept; `queue` bounds what waits, and
 * `drop` says which message goes when it is full.
 */
export interface PoolConfig {
  readonly threads: number
  readonly queue: number
  readonly drop: 'newest' | 'oldest'
}

/** CURVE keys of one socket, Z85-encoded. The secret never leaves config and socket setup. */
export type CurveConfig =
  | { readonly role: 'server'; readonly publicKey: string; readonly secretKey: string }
  | {
      readonly role: 'client'
      readonly publicKey: string
      readonly secretKey: string
      readonly serverKey: string
    }

/** ZMTP heartbeats (libzmq ZMQ_HEARTBEAT_*), so a dead peer is noticed; off when undefined. */
export interface HeartbeatConfig {
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly ttlMs: number
}

/** Worker restarts: exponential backoff with jitter, and an OTP-style intensity limit. */
export interface RestartConfig {
  readonly backoffMs: number
  readonly backoffMaxMs: number
  /** More restarts than this within `windowMs` end the container. */
  readonly limit: number
  readonly windowMs: number
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]

/** `json`: one pino JSON object a line, for log collectors; `pretty`: pino-pretty, for people. */
export type LogFormat = 'json' | 'pretty'

/** Everything the container needs, as plain frozen data so it can be posted to workers. */
export interface Config {
  readonly sockets: readonly SocketSpec[]
  /** Bound on every blocking receive (the seed's RCVTIMEO). */
  readonly receiveTimeoutMs: number
  /** How long shutdown waits for each worker to join before terminating it. */
  readonly shutdownTimeoutMs: number
  /** How long a worker may take from spawn to its ready handshake. */
  readonly readyTimeoutMs: number
  readonly lingerMs: number
  /** Pause after binding PUB sockets, for the slow joiner (seed 2.4). */
  readonly settleMs: number
  /** Sends a PUB socket may have in flight before publishes are dropped and counted. */
  readonly publishQueueLimit: number
  readonly logLevel: LogLevel
  readonly logFormat: LogFormat
  /** Largest message a SUB accepts; libzmq drops the connection on a bigger one. */
  readonly maxMessageBytes: number
  /** libzmq's first reconnect interval (ZMQ_RECONNECT_IVL); each attempt adds a jitter below it. */
  readonly reconnectIntervalMs: number
  /** Cap of libzmq's doubling reconnect backoff (ZMQ_RECONNECT_IVL_MAX); equal to the interval: none. */
  readonly reconnectIntervalMaxMs: number
  readonly heartbeat: HeartbeatConfig | undefined
  /** Socket monitors (zeromq Observer): connection events logged and counted. */
  readonly monitor: boolean
  readonly restart: RestartConfig
  /**
   * Each receive worker's old-generation heap limit (Worker `resourceLimits`); undefined keeps
   * Node's (and NODE_OPTIONS') own.
   */
  readonly workerMaxOldMb: number | undefined
  /** Percent of its heap limit at which a receive worker stops itself as out of memory. */
  readonly workerHeapHighWaterPercent: number
  /** The /metrics, /livez, /readyz listener; undefined when HTTP_PORT is unset. */
  readonly http: { readonly port: number; readonly host: string } | undefined
  /**
   * /readyz also needs every SUB socket to have a connected publisher. Off by default: behind
   * Kubernetes Services, two containers that subscribe to each other would wait forever.
   */
  readonly readyRequiresPeers: boolean
  /** /readyz also needs each socket's recent p99 handler time within its class budget. */
  readonly readyOnLatency: boolean
  /** /livez fails when a worker's event loop has not ticked for this long. */
  readonly livenessStaleMs: number
  /** Client public keys CURVE servers accept; undefined accepts any client (encryption only). */
  readonly curveAllow: readonly string[] | undefined
  readonly sendHwm: number
  readonly receiveHwm: number
  /**
   * PUB sockets report a full high-water mark instead of dropping silently (ZMQ_XPUB_NODROP):
   * the message is then dropped for every subscriber, and counted.
   */
  readonly xpubNoDrop: boolean
  /** Service module: a built-in example name or a path; undefined runs the logging service. */
  readonly service: string | undefined
  /** ZMQ_RECORD_FILE: what the SUB sockets receive is recorded to this MCAP file. */
  readonly record: RecordConfig | undefined
}

/** Container recording (ZMQ_RECORD_*); see src/main/container-recorder.ts. */
export interface RecordConfig {
  readonly file: string
  /** Bytes received and not yet written, across all sockets, before messages overflow. */
  readonly bufferBytes: number
  readonly compression: 'none' | 'zstd'
}

/**
 * Default cap of libzmq's reconnect backoff. A subscriber must hear a publisher that comes back
 * within half a second, however long it was away: with the backoff doubling from 100 ms up to
 * this cap, plus libzmq's jitter of up to ZMQ_RECONNECT_IVL_MS, the next attempt is at most
 * 350 ms away. 5000 (the old default) left a SUB deaf for up to 5 s after its publisher came back.
 */
export const RECONNECT_IVL_MAX_DEFAULT_MS = 250

type Env = Readonly<Record<string, string | undefined>>

const CURVE_KEYS = ['CURVE_PUBLIC_KEY', 'CURVE_SECRET_KEY', 'CURVE_SERVER_KEY'] as const
/** The `<KEY>` ends of per-socket variables, `ZMQ_<DIRECTION>[_<NAME>]_<KEY>`. */
export const SOCKET_KEYS = [
  'ENDPOINT',
  'TOPICS',
  'CLASS',
  'MIN_SUBSCRIBERS',
  'SUBSCRIBER_TIMEOUT_MS',
  'POOL_THREADS',
  'POOL_QUEUE',
  'POOL_DROP',
  ...CURVE_KEYS,
] as const
const PUB_ONLY_KEYS = new Set(['MIN_SUBSCRIBERS', 'SUBSCRIBER_TIMEOUT_MS'])
const SUB_ONLY_KEYS = new Set(['POOL_THREADS', 'POOL_QUEUE', 'POOL_DROP'])
export const SOCKET_DIRECTIONS = ['SUB', 'PUB', 'REP'] as const
export type SocketDirection = (typeof SOCKET_DIRECTIONS)[number]

/** The per-socket keys a socket of `direction` reads (a REP has no topics, pool or gate). */
export function socketKeysFor(direction: SocketDirection): string[] {
  return SOCKET_KEYS.filter(
    (k) =>
      !(direction !== 'PUB' && PUB_ONLY_KEYS.has(k)) &&
      !(direction !== 'SUB' && SUB_ONLY_KEYS.has(k)) &&
      !(direction === 'REP' && k === 'TOPICS'),
  )
}
const SOCKET_VAR_RE = new RegExp(
  `^ZMQ_(SUB|PUB|REP)_(?:([A-Z0-9]+(?:_[A-Z0-9]+)*?)_)?(${SOCKET_KEYS.join('|')})$`,
)

/** Variables that also accept the `<VAR>_FILE` form (secrets): the allowlist and CURVE keys. */
function isFileable(variable: string): boolean {
  if (variable === 'ZMQ_CURVE_ALLOW') return true
  const key = SOCKET_VAR_RE.exec(variable)?.[3]
  return key !== undefined && (CURVE_KEYS as readonly string[]).includes(key)
}

interface Candidate {
  kind: SocketKind
  name: string
  envPrefix: string
}

/**
 * Reads the container's configuration from `env`. Every problem is collected and thrown at once
 * as a {@link ConfigError}, one issue per variable, so a user fixes them in one round.
 */
export function loadConfig(rawEnv: Env = process.env): Config {
  const issues: ConfigIssue[] = []
  const env = resolveFileVariables(rawEnv, isFileable, issues)
  const candidates = findSockets(env, issues)
  const specs: Record<string, Spec<unknown>> = { ...tunableSpecs() }
  for (const c of candidates) Object.assign(specs, socketSpecs(c))

  const cleaned = readEnv(env, specs, issues)

  const sockets: SocketSpec[] = []
  for (const c of candidates) {
    const endpoints = cleaned[`${c.envPrefix}_ENDPOINT`] as Endpoint[] | undefined
    const topics = cleaned[`${c.envPrefix}_TOPICS`] as string[] | undefined
    const latencyClass =
      (cleaned[`${c.envPrefix}_CLASS`] as LatencyClass | undefined) ?? defaultClass(c)
    if (!endpoints || !latencyClass) continue
    if (c.kind === 'sub' && !topics) continue
    sockets.push({
      kind: c.kind,
      name: c.name,
      envPrefix: c.envPrefix,
      latencyClass,
      endpoints,
      topics: topics ?? [],
      curve: curveFor(c, endpoints, cleaned, issues),
      pool: poolFor(c, cleaned),
      minSubscribers: (cleaned[`${c.envPrefix}_MIN_SUBSCRIBERS`] as number | undefined) ?? 0,
      subscriberTimeoutMs:
        (cleaned[`${c.envPrefix}_SUBSCRIBER_TIMEOUT_MS`] as number | undefined) ?? 0,
    })
  }
  if (candidates.length === 0 && issues.length === 0) {
    issues.push({
      variable: 'ZMQ_SUB_ENDPOINT',
      problem: 'no socket is configured: set at least one ZMQ_SUB_* or ZMQ_PUB_* endpoint',
      example: 'tcp://dashboard:6000',
    })
  }
  if (issues.length === 0) issues.push(...crossCheck(sockets), ...tunableCheck(cleaned))
  if (issues.length > 0) throw new ConfigError(issues)

  return deepFreeze({
    sockets,
    receiveTimeoutMs: cleaned.ZMQ_RECEIVE_TIMEOUT_MS as number,
    shutdownTimeoutMs: cleaned.ZC_SHUTDOWN_TIMEOUT_MS as number,
    readyTimeoutMs: cleaned.ZC_READY_TIMEOUT_MS as number,
    lingerMs: cleaned.ZMQ_LINGER_MS as number,
    settleMs: cleaned.ZMQ_SETTLE_MS as number,
    publishQueueLimit: cleaned.ZC_PUBLISH_QUEUE_LIMIT as number,
    logLevel: cleaned.LOG_LEVEL as LogLevel,
    logFormat: cleaned.LOG_FORMAT as LogFormat,
    service: (cleaned.ZC_SERVICE as string | undefined) || undefined,
    maxMessageBytes: cleaned.ZMQ_MAX_MESSAGE_BYTES as number,
    reconnectIntervalMs: cleaned.ZMQ_RECONNECT_IVL_MS as number,
    reconnectIntervalMaxMs:
      (cleaned.ZMQ_RECONNECT_IVL_MAX_MS as number | undefined) ??
      Math.max(RECONNECT_IVL_MAX_DEFAULT_MS, cleaned.ZMQ_RECONNECT_IVL_MS as number),
    heartbeat: heartbeatFrom(cleaned),
    monitor: cleaned.ZMQ_MONITOR as boolean,
    restart: {
      backoffMs: cleaned.ZC_RESTART_BACKOFF_MS as number,
      backoffMaxMs: cleaned.ZC_RESTART_BACKOFF_MAX_MS as number,
      limit: cleaned.ZC_RESTART_LIMIT as number,
      windowMs: cleaned.ZC_RESTART_WINDOW_MS as number,
    },
    workerMaxOldMb: cleaned.ZC_WORKER_MAX_OLD_MB as number | undefined,
    workerHeapHighWaterPercent: cleaned.ZC_WORKER_HEAP_HIGH_WATER_PERCENT as number,
    http:
      cleaned.HTTP_PORT === undefined
        ? undefined
        : { port: cleaned.HTTP_PORT as number, host: cleaned.HTTP_HOST as string },
    readyRequiresPeers: cleaned.ZC_READY_REQUIRES_PEERS as boolean,
    readyOnLatency: cleaned.ZC_READY_ON_LATENCY as boolean,
    livenessStaleMs: cleaned.ZC_LIVENESS_STALE_MS as number,
    curveAllow: cleaned.ZMQ_CURVE_ALLOW as string[] | undefined,
    sendHwm: cleaned.ZMQ_SNDHWM as number,
    receiveHwm: cleaned.ZMQ_RCVHWM as number,
    xpubNoDrop: cleaned.ZMQ_XPUB_NODROP as boolean,
    record: cleaned.ZMQ_RECORD_FILE
      ? {
          file: cleaned.ZMQ_RECORD_FILE as string,
          bufferBytes: cleaned.ZMQ_RECORD_BUFFER_BYTES as number,
          compression: cleaned.ZMQ_RECORD_COMPRESSION as 'none' | 'zstd',
        }
      : undefined,
  })
}

/**
 * Validates `env` against envalid `specs`, appending one issue per bad or missing variable to
 * `issues` instead of exiting; returns the values that passed. Services use it for their own
 * variables so their errors look like the container's.
 */
export function readEnv(
  env: Env,
  specs: Record<string, Spec<unknown>>,
  issues: ConfigIssue[],
): Record<string, unknown> {
  // customCleanEnv with an identity middleware: cleanEnv's strict Proxy throws on reading a
  // variable that failed validation, and we read them all to collect every issue at once.
  return customCleanEnv(env, specs, (values) => values, {
    reporter: ({ errors }) => {
      for (const [variable, error] of Object.entries(errors)) {
        if (!error) continue
        const problem = error instanceof EnvMissingError ? 'is required but not set' : error.message
        issues.push({ variable, problem, example: String(specs[variable]?.example ?? '') })
      }
    },
  }) as Record<string, unknown>
}

/** The seed's unnamed SUB carries control (`handle_control`); its unnamed PUB carries frames. */
function defaultClass(c: Candidate): LatencyClass | undefined {
  if (c.envPrefix === 'ZMQ_SUB') return 'control'
  if (c.envPrefix === 'ZMQ_PUB') return 'telemetry'
  if (c.envPrefix === 'ZMQ_REP') return 'control'
  return (LATENCY_CLASSES as string[]).includes(c.name) ? (c.name as LatencyClass) : undefined
}

function findSockets(env: Env, issues: ConfigIssue[]): Candidate[] {
  const byPrefix = new Map<string, Candidate & { keys: Set<string> }>()
  for (const variable of Object.keys(env)) {
    const direction = /^ZMQ_(SUB|PUB|REP)_/.exec(variable)?.[1] as SocketDirection | undefined
    if (!direction) continue
    const m = SOCKET_VAR_RE.exec(variable)
    if (!m) {
      issues.push({
        variable,
        problem: `is not a socket variable; ${direction} socket variables end in ${socketKeysFor(
          direction,
        )
          .map((k) => `_${k}`)
          .join(', ')}${suggestion(variable, direction)}`,
        example: '',
      })
      continue
    }
    const [, , name, key = ''] = m
    if (direction !== 'PUB' && PUB_ONLY_KEYS.has(key)) {
      issues.push({ variable, problem: `applies to PUB sockets only`, example: '' })
      continue
    }
    if (direction !== 'SUB' && SUB_ONLY_KEYS.has(key)) {
      issues.push({ variable, problem: 'applies to SUB sockets only', example: '' })
      continue
    }
    if (direction === 'REP' && key === 'TOPICS') {
      issues.push({
        variable,
        problem: 'does not apply: a REP socket answers every request it gets',
        example: '',
      })
      continue
    }
    if (name === 'SUB' || name === 'PUB' || name === 'REP') {
      issues.push({
        variable,
        problem: `uses the socket name ${name}, which is reserved for the unnamed ZMQ_${direction}_* socket; choose another name`,
        example: '',
      })
      continue
    }
    const envPrefix = name ? `ZMQ_${direction}_${name}` : `ZMQ_${direction}`
    const kind = direction.toLowerCase() as SocketKind
    let entry = byPrefix.get(envPrefix)
    if (!entry) {
      entry = { kind, name: name ? name.toLowerCase() : kind, envPrefix, keys: new Set() }
      byPrefix.set(envPrefix, entry)
    }
    entry.keys.add(key)
  }
  const candidates: Candidate[] = []
  for (const { keys, ...c } of byPrefix.values()) {
    if (!keys.has('ENDPOINT')) {
      issues.push({
        variable: `${c.envPrefix}_ENDPOINT`,
        problem: `is required because ${[...keys].map((k) => `${c.envPrefix}_${k}`).join(' and ')} is set`,
        example: c.kind === 'pub' ? 'tcp://*:5555' : 'tcp://camera:5555',
      })
      continue
    }
    candidates.push(c)
  }
  // Sort for a stable order in logs and tests: SUBs, REPs, PUBs, then by name.
  return candidates.sort(
    (a, b) => a.kind.localeCompare(b.kind) * -1 || a.name.localeCompare(b.name),
  )
}

function socketSpecs(c: Candidate): Record<string, Spec<unknown>> {
  const defaultAction: EndpointAction = c.kind === 'sub' ? 'connect' : 'bind'
  const endpoint = makeValidator<Endpoint[]>((input) => {
    const parsed = parseEndpointList(input, defaultAction)
    if (!parsed.ok) throw new Error(parsed.problem)
    return parsed.value
  })
  const subscriptions = makeValidator<string[]>((input) => parseTopicList(input, 'sub'))
  const declared = makeValidator<string[]>((input) => parseTopicList(input, 'pub'))
  const latencyClass = makeValidator<LatencyClass>((input) => {
    if (!(LATENCY_CLASSES as string[]).includes(input))
      throw new Error(`is "${input}"; use one of ${LATENCY_CLASSES.join(', ')}`)
    return input as LatencyClass
  })
  const classDefault = defaultClass(c)
  return {
    [`${c.envPrefix}_ENDPOINT`]: endpoint({
      desc: `endpoints of the ${c.name} ${c.kind.toUpperCase()} socket`,
      example: c.kind === 'sub' ? 'tcp://camera:5555,tcp://camera2:5555' : 'tcp://*:5555',
    }),
    ...(c.kind === 'rep'
      ? {}
      : {
          [`${c.envPrefix}_TOPICS`]:
            c.kind === 'sub'
              ? subscriptions({ desc: 'topics to subscribe to', example: 'camera.cmd,camera.' })
              : declared({
                  desc: 'topics this socket publishes',
                  example: 'camera.frame,camera.heartbeat',
                  default: undefined,
                }),
        }),
    [`${c.envPrefix}_CLASS`]: latencyClass({
      desc: 'latency class',
      example: classDefault ?? 'telemetry',
      ...(classDefault ? { default: classDefault } : {}),
    }),
    ...Object.fromEntries(
      CURVE_KEYS.map((k) => [
        `${c.envPrefix}_${k}`,
        curveKey({
          default: undefined,
          example: '<40-character Z85 key from zmq-container keygen>',
        }),
      ]),
    ),
    ...(c.kind === 'sub'
      ? {
          [`${c.envPrefix}_POOL_THREADS`]: wholeNumber(0, 256)({ default: 0, example: '2' }),
          [`${c.envPrefix}_POOL_QUEUE`]: wholeNumber(
            1,
            1_000_000,
          )({ default: 1000, example: '1000' }),
          [`${c.envPrefix}_POOL_DROP`]: dropPolicy({ default: 'newest', example: 'oldest' }),
        }
      : {}),
    ...(c.kind === 'pub'
      ? {
          [`${c.envPrefix}_MIN_SUBSCRIBERS`]: wholeNumber(
            0,
            1_000_000,
          )({ default: 0, example: '1' }),
          [`${c.envPrefix}_SUBSCRIBER_TIMEOUT_MS`]: milliseconds(0)({
            default: 5000,
            example: '5000',
          }),
        }
      : {}),
  }
}

const dropPolicy = makeValidator<'newest' | 'oldest'>((input) => {
  if (input !== 'newest' && input !== 'oldest')
    throw new Error(`is "${input}"; use newest or oldest`)
  return input
})

function poolFor(c: Candidate, cleaned: Record<string, unknown>): PoolConfig | undefined {
  const threads = cleaned[`${c.envPrefix}_POOL_THREADS`] as number | undefined
  if (c.kind !== 'sub' || !threads) return undefined
  return {
    threads,
    queue: cleaned[`${c.envPrefix}_POOL_QUEUE`] as number,
    drop: cleaned[`${c.envPrefix}_POOL_DROP`] as 'newest' | 'oldest',
  }
}

// Never echoes the value: it may be a secret key.
const curveKey = makeValidator<string>((input) => {
  const problem = curveKeyProblem(input.trim())
  if (problem) throw new Error(problem)
  return input.trim()
})

/**
 * A socket's CURVE role follows its endpoints: binding makes it the server (its own key pair),
 * connecting makes it a client (its own pair plus the server's public key).
 */
function curveFor(
  c: Candidate,
  endpoints: readonly Endpoint[],
  cleaned: Record<string, unknown>,
  issues: ConfigIssue[],
): CurveConfig | undefined {
  const key = (k: (typeof CURVE_KEYS)[number]) =>
    cleaned[`${c.envPrefix}_${k}`] as string | undefined
  const publicKey = key('CURVE_PUBLIC_KEY')
  const secretKey = key('CURVE_SECRET_KEY')
  const serverKey = key('CURVE_SERVER_KEY')
  if (!publicKey && !secretKey && !serverKey) return undefined
  const binds = endpoints.some((e) => e.action === 'bind')
  const connects = endpoints.some((e) => e.action === 'connect')
  const missing = (k: string) =>
    issues.push({
      variable: `${c.envPrefix}_${k}`,
      problem: 'is required with CURVE on this socket',
      example: '<Z85 key>',
    })
  if (binds && connects) {
    issues.push({
      variable: `${c.envPrefix}_ENDPOINT`,
      problem:
        'both binds and connects, but a CURVE socket is either a server (binds) or a client (connects)',
      example: 'tcp://*:5555',
    })
    return undefined
  }
  if (!publicKey) missing('CURVE_PUBLIC_KEY')
  if (!secretKey) missing('CURVE_SECRET_KEY')
  if (binds) {
    if (serverKey)
      issues.push({
        variable: `${c.envPrefix}_CURVE_SERVER_KEY`,
        problem: 'applies to connecting sockets only; this one binds',
        example: '',
      })
    return publicKey && secretKey ? { role: 'server', publicKey, secretKey } : undefined
  }
  if (!serverKey) missing('CURVE_SERVER_KEY')
  return publicKey && secretKey && serverKey
    ? { role: 'client', publicKey, secretKey, serverKey }
    : undefined
}

const wholeNumber = (min: number, max: number) =>
  makeValidator<number>((input) => {
    const text = input.trim()
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < min || n > max)
      throw new Error(`is "${input}"; it must be a whole number from ${min} to ${max}`)
    return n
  })

const flag = makeValidator<boolean>((input) => {
  const text = input.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(text)) return true
  if (['0', 'false', 'no', 'off'].includes(text)) return false
  throw new Error(`is "${input}"; use true or false`)
})

function heartbeatFrom(cleaned: Record<string, unknown>): HeartbeatConfig | undefined {
  const intervalMs = cleaned.ZMQ_HEARTBEAT_IVL_MS as number
  if (intervalMs === 0) return undefined
  // libzmq's own defaults when unset: timeout = interval, TTL = none; three missed beats is
  // a common, less trigger-happy choice for the timeout.
  const timeoutMs = (cleaned.ZMQ_HEARTBEAT_TIMEOUT_MS as number | undefined) ?? intervalMs * 3
  const ttlMs = (cleaned.ZMQ_HEARTBEAT_TTL_MS as number | undefined) ?? timeoutMs
  return { intervalMs, timeoutMs, ttlMs }
}

function parseTopicList(input: string, kind: SocketKind): string[] {
  const topics = input.split(',').map((t) => t.trim())
  for (const t of topics) {
    const problem = kind === 'sub' ? subscriptionProblem(t) : topicProblem(t)
    if (problem) throw new Error(`${JSON.stringify(t)} ${problem}`)
    // Matching is exact and every topic has a dot, so a bare word would match nothing at all.
    if (kind === 'sub' && !t.includes('.'))
      throw new Error(
        `${JSON.stringify(t)} has no dot, so it matches no topic (topics are <component>.<message_type>, matched exactly); subscribe to ${t}. for every ${t} topic, or to a full topic such as ${t}.cmd`,
      )
  }
  const duplicate = topics.find((t, i) => topics.indexOf(t) !== i)
  if (duplicate) throw new Error(`lists ${duplicate} twice`)
  return topics
}

// Node timers and libzmq options hold 32-bit signed milliseconds; larger values misbehave late.
const MAX_MS = 2 ** 31 - 1

const milliseconds = (min: number) =>
  makeValidator<number>((input) => {
    const text = input.trim()
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < min || n > MAX_MS)
      throw new Error(
        `is "${input}"; it must be a whole number of milliseconds from ${min} to ${MAX_MS}`,
      )
    return n
  })

function tunableSpecs(): Record<string, Spec<unknown>> {
  // A receive timeout of 0 turns the receive loop into a busy spin that never sees shutdown.
  const atLeastOne = milliseconds(1)
  const ms = milliseconds(0)
  // zeromq.js refuses more than 512 un-awaited sends on one socket (EBUSY).
  const sendLimit = wholeNumber(1, 512)
  const port = makeValidator<number>((input) => {
    const text = input.trim()
    const n = Number(text)
    if (!/^\d+$/.test(text) || n > 65535)
      throw new Error(`is "${input}"; it must be a port from 0 to 65535`)
    return n
  })
  const host = makeValidator<string>((input) => {
    if (!/^[A-Za-z0-9.:\-[\]]+$/.test(input))
      throw new Error(`is "${input}"; give an address or host name`)
    return input
  })
  const keyList = makeValidator<string[]>((input) => {
    const keys = parseKeyList(input)
    if (keys.length === 0) throw new Error('lists no key')
    keys.forEach((k, i) => {
      const problem = curveKeyProblem(k)
      if (problem) throw new Error(`entry ${i + 1} ${problem}`)
    })
    return keys
  })
  // libzmq's heartbeat TTL travels in deciseconds in a 16-bit field: at most 6553.5 s.
  const heartbeatMs = makeValidator<number>((input) => {
    const text = input.trim()
    const n = Number(text)
    if (!/^\d+$/.test(text) || n > 6_553_500)
      throw new Error(`is "${input}"; it must be a whole number of milliseconds from 0 to 6553500`)
    return n
  })
  // Case-insensitive: WARN and warn mean the same to anyone who sets them.
  const logLevel = makeValidator<LogLevel>((input) => {
    const level = input.trim().toLowerCase() as LogLevel
    if (!LOG_LEVELS.includes(level))
      throw new Error(`is "${input}"; use one of ${LOG_LEVELS.join(', ')}`)
    return level
  })
  const logFormat = makeValidator<LogFormat>((input) => {
    const format = input.trim().toLowerCase()
    if (format !== 'json' && format !== 'pretty')
      throw new Error(`is "${input}"; use json or pretty`)
    return format
  })
  const compression = makeValidator<'none' | 'zstd'>((input) => {
    if (input !== 'none' && input !== 'zstd') throw new Error(`is "${input}"; use none or zstd`)
    return input
  })
  const service = makeValidator<string>((input) => {
    if (input.trim() !== input) throw new Error('has leading or trailing spaces')
    return input
  })
  return {
    ZMQ_RECEIVE_TIMEOUT_MS: atLeastOne({ default: 500, example: '500', desc: 'receive timeout' }),
    ZC_SHUTDOWN_TIMEOUT_MS: atLeastOne({
      default: 2000,
      example: '2000',
      desc: 'join deadline per worker',
    }),
    ZC_READY_TIMEOUT_MS: atLeastOne({
      default: 5000,
      example: '5000',
      desc: 'worker ready deadline',
    }),
    ZMQ_LINGER_MS: ms({ default: 0, example: '0', desc: 'socket linger' }),
    ZMQ_SETTLE_MS: ms({ default: 100, example: '100', desc: 'slow-joiner settle after bind' }),
    ZC_PUBLISH_QUEUE_LIMIT: sendLimit({
      default: 500,
      example: '500',
      desc: 'sends in flight per PUB',
    }),
    LOG_LEVEL: logLevel({ default: 'info', example: 'info', desc: 'pino log level' }),
    LOG_FORMAT: logFormat({ default: 'json', example: 'pretty', desc: 'log line format' }),
    ZC_SERVICE: service({ default: undefined, example: 'camera', desc: 'service module' }),
    ZMQ_MAX_MESSAGE_BYTES: wholeNumber(
      1,
      2 ** 31 - 1,
    )({ default: 64 * 1024 * 1024, example: '1048576' }),
    ZMQ_RECONNECT_IVL_MS: atLeastOne({ default: 100, example: '100' }),
    // Unset: RECONNECT_IVL_MAX_DEFAULT_MS, or ZMQ_RECONNECT_IVL_MS when that is larger.
    ZMQ_RECONNECT_IVL_MAX_MS: atLeastOne({ default: undefined, example: '250' }),
    ZMQ_HEARTBEAT_IVL_MS: heartbeatMs({ default: 0, example: '1000' }),
    ZMQ_HEARTBEAT_TIMEOUT_MS: heartbeatMs({ default: undefined, example: '3000' }),
    ZMQ_HEARTBEAT_TTL_MS: heartbeatMs({ default: undefined, example: '3000' }),
    ZMQ_MONITOR: flag({ default: true, example: 'true' }),
    ZC_RESTART_BACKOFF_MS: atLeastOne({ default: 100, example: '100' }),
    ZC_RESTART_BACKOFF_MAX_MS: atLeastOne({ default: 5000, example: '5000' }),
    ZC_RESTART_LIMIT: wholeNumber(0, 1_000_000)({ default: 5, example: '5' }),
    ZC_RESTART_WINDOW_MS: atLeastOne({ default: 60_000, example: '60000' }),
    ZC_WORKER_MAX_OLD_MB: wholeNumber(16, 1_048_576)({ default: undefined, example: '256' }),
    ZC_WORKER_HEAP_HIGH_WATER_PERCENT: wholeNumber(10, 95)({ default: 70, example: '70' }),
    HTTP_PORT: port({ default: undefined, example: '9464' }),
    HTTP_HOST: host({ default: '0.0.0.0', example: '0.0.0.0' }),
    ZC_READY_REQUIRES_PEERS: flag({ default: false, example: 'true' }),
    ZC_READY_ON_LATENCY: flag({ default: false, example: 'true' }),
    ZC_LIVENESS_STALE_MS: atLeastOne({ default: 10_000, example: '10000' }),
    ZMQ_CURVE_ALLOW: keyList({ default: undefined, example: '<public key>,<public key>' }),
    ZMQ_SNDHWM: wholeNumber(0, 2 ** 31 - 1)({ default: 1000, example: '1000' }),
    ZMQ_RCVHWM: wholeNumber(0, 2 ** 31 - 1)({ default: 1000, example: '1000' }),
    ZMQ_XPUB_NODROP: flag({ default: false, example: 'true' }),
    ZMQ_RECORD_FILE: service({ default: undefined, example: '/data/recording.mcap' }),
    // An Int32 in shared memory counts the bytes waiting (see worker/record-capture.ts).
    ZMQ_RECORD_BUFFER_BYTES: wholeNumber(
      1024,
      2 ** 30,
    )({
      default: 64 * 1024 * 1024,
      example: '67108864',
    }),
    ZMQ_RECORD_COMPRESSION: compression({ default: 'none', example: 'zstd' }),
  }
}

/** Checks between tunables that are each valid alone. */
function tunableCheck(cleaned: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const atLeast = (variable: string, other: string) => {
    if ((cleaned[variable] as number) < (cleaned[other] as number))
      issues.push({
        variable,
        problem: `must not be below ${other} (${cleaned[other]})`,
        example: String(cleaned[other]),
      })
  }
  atLeast('ZMQ_RECONNECT_IVL_MAX_MS', 'ZMQ_RECONNECT_IVL_MS')
  atLeast('ZC_RESTART_BACKOFF_MAX_MS', 'ZC_RESTART_BACKOFF_MS')
  for (const variable of ['ZMQ_HEARTBEAT_TIMEOUT_MS', 'ZMQ_HEARTBEAT_TTL_MS']) {
    if (cleaned[variable] !== undefined && cleaned.ZMQ_HEARTBEAT_IVL_MS === 0)
      issues.push({
        variable,
        problem: 'has no effect while ZMQ_HEARTBEAT_IVL_MS is 0 (heartbeats off)',
        example: '3000',
      })
  }
  return issues
}

/** Checks across sockets: the seed's "latency classes must not share sockets" (2.2) and more. */
function crossCheck(sockets: readonly SocketSpec[]): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const classByAddress = new Map<string, SocketSpec>()
  const binders = new Map<string, SocketSpec>()
  for (const s of sockets) {
    for (const e of s.endpoints) {
      // Each `:*` bind gets a port of its own; such addresses are never shared.
      if (e.address.endsWith(':*')) continue
      const other = classByAddress.get(e.address)
      if (other && other.latencyClass !== s.latencyClass) {
        issues.push({
          variable: `${s.envPrefix}_ENDPOINT`,
          problem: `${e.address} carries ${s.latencyClass}, but ${other.envPrefix}_ENDPOINT uses it for ${other.latencyClass}; latency classes must not share an endpoint`,
          example: s.kind === 'pub' ? 'tcp://*:5556' : 'tcp://camera:5556',
        })
      }
      classByAddress.set(e.address, other ?? s)
      if (e.action === 'bind') {
        const binder = binders.get(e.address)
        if (binder) {
          issues.push({
            variable: `${s.envPrefix}_ENDPOINT`,
            problem: `binds ${e.address}, which ${binder.envPrefix}_ENDPOINT binds too`,
            example: 'tcp://*:5556',
          })
        }
        binders.set(e.address, s)
      }
    }
  }
  // Receiving sockets share one namespace (metrics labels, restarts, counters by name).
  const receivers = new Map<string, SocketSpec>()
  for (const s of sockets.filter((x) => x.kind !== 'pub')) {
    const other = receivers.get(s.name)
    if (other) {
      issues.push({
        variable: `${s.envPrefix}_ENDPOINT`,
        problem: `names a socket "${s.name}", which ${other.envPrefix}_ENDPOINT names too; SUB and REP sockets need distinct names`,
        example: '',
      })
    }
    receivers.set(s.name, s)
  }
  const declaredBy = new Map<string, SocketSpec>()
  for (const s of sockets.filter((x) => x.kind === 'pub')) {
    for (const t of s.topics) {
      const other = declaredBy.get(t)
      if (other) {
        issues.push({
          variable: `${s.envPrefix}_TOPICS`,
          problem: `declares ${t}, which ${other.envPrefix}_TOPICS declares too; a topic belongs to one PUB socket`,
          example: 'camera.frame',
        })
      }
      declaredBy.set(t, s)
    }
  }
  return issues
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

function suggestion(variable: string, direction: SocketDirection): string {
  const last = variable.slice(variable.lastIndexOf('_') + 1)
  if ((SOCKET_KEYS as readonly string[]).includes(last))
    return '; socket names are upper-case letters and digits, joined by single underscores'
  // Every split of the rest into `<NAME>_<KEY>`: the key nearest to a valid one wins.
  const words = variable.slice(`ZMQ_${direction}_`.length).split('_')
  let best: { name: string; key: string; distance: number } | undefined
  for (let i = 0; i < words.length; i++) {
    const name = words.slice(0, i).join('_')
    const guess = words.slice(i).join('_')
    for (const key of socketKeysFor(direction)) {
      const d = key.startsWith(guess) || guess.startsWith(key) ? 1 : distance(guess, key)
      if (d <= 2 && (!best || d < best.distance)) best = { name, key, distance: d }
    }
  }
  if (!best) return ''
  return `; did you mean ZMQ_${direction}_${best.name ? `${best.name}_` : ''}${best.key}?`
}

/**
 * Every variable the container reads besides the per-socket ones: the catalogue that start-up,
 * `check` and the tests share, so a new tunable is known everywhere at once.
 */
export const TUNABLE_VARIABLES: readonly string[] = Object.keys(tunableSpecs())

/** The prefixes the container owns: a variable under one that it does not read is a typo. */
const OWN_PREFIXES = /^(ZC|ZMQ|HTTP)_/
/** Well-known variables of other programs under those prefixes (proxies set them everywhere). */
const FOREIGN_VARIABLES = new Set(['HTTP_PROXY'])

/** A `ZC_*`, `ZMQ_*` or `HTTP_*` variable the container does not read, and what was likely meant. */
export interface UnknownVariable {
  readonly variable: string
  readonly suggestion: string | undefined
}

/**
 * The container's own prefixes with names it does not read (`ZC_SERVCE`, `HTTP_PROT`): not an
 * error, since another program may share the environment, but worth a warning at start-up and
 * in `check`. Socket variables (`ZMQ_SUB_*`...) are checked by loadConfig itself, and stray
 * `ZMQ_CURVE_*` keys by check's `curve-unused` warning.
 */
export function unknownVariables(env: Env): UnknownVariable[] {
  const known = new Set([...TUNABLE_VARIABLES, 'ZMQ_CURVE_ALLOW_FILE'])
  const candidates = [
    ...TUNABLE_VARIABLES,
    ...SOCKET_DIRECTIONS.flatMap((d) => socketKeysFor(d).map((k) => `ZMQ_${d}_${k}`)),
  ]
  return Object.keys(env)
    .filter(
      (v) =>
        OWN_PREFIXES.test(v) &&
        !known.has(v) &&
        !FOREIGN_VARIABLES.has(v) &&
        !/^ZMQ_(SUB|PUB|REP)_/.test(v) &&
        !/^ZMQ_CURVE_/.test(v),
    )
    .sort()
    .map((variable) => {
      let best: { name: string; distance: number } | undefined
      for (const name of candidates) {
        // A missing unit (`ZMQ_LINGER` for ZMQ_LINGER_MS) is the commonest slip.
        const d = name.startsWith(variable) ? 1 : distance(variable, name)
        if (d <= 3 && (!best || d < best.distance)) best = { name, distance: d }
      }
      return { variable, suggestion: best?.name }
    })
}

/** One line for an {@link UnknownVariable}, the same at start-up and in `check`. */
export function describeUnknownVariable(unknown: UnknownVariable): string {
  return `is not a variable the container reads; it is ignored${unknown.suggestion ? `. Did you mean ${unknown.suggestion}?` : ''}`
}
