// The one catalogue of the variables the container reads: every tunable with its validator and
// default, and the keys of the per-socket variables. Start-up, `check`, the unknown-variable
// warning and the tests all take their names from here, so a new variable is known everywhere.
import type { Spec } from 'envalid'
import { distance } from 'fastest-levenshtein'
import { TRAINING_VARIABLE } from '../code-cache-state'
import { type Env, LOG_LEVELS } from './types'
import {
  curveKeyList,
  flag,
  host,
  INT32_MAX,
  integer,
  MAX_MS,
  oneOf,
  trimmedString,
} from './validators'

/**
 * Default cap of libzmq's reconnect backoff. A subscriber must hear a publisher that comes back
 * within half a second, however long it was away: with the backoff doubling from 100 ms up to
 * this cap, plus libzmq's jitter of up to ZMQ_RECONNECT_IVL_MS, the next attempt is at most
 * 350 ms away. 5000 (the old default) left a SUB deaf for up to 5 s after its publisher came back.
 */
export const RECONNECT_IVL_MAX_DEFAULT_MS = 250

/** The variables the container reads besides the per-socket ones, with their validators. */
export function tunableSpecs(): Record<string, Spec<unknown>> {
  // A receive timeout of 0 turns the receive loop into a busy spin that never sees shutdown.
  const atLeastOneMs = integer(1, MAX_MS, 'ms')
  const ms = integer(0, MAX_MS, 'ms')
  // zeromq.js refuses more than 512 un-awaited sends on one socket (EBUSY).
  const sendLimit = integer(1, 512)
  // libzmq's heartbeat TTL travels in deciseconds in a 16-bit field: at most 6553.5 s.
  const heartbeatMs = integer(0, 6_553_500, 'ms')
  return {
    ZMQ_RECEIVE_TIMEOUT_MS: atLeastOneMs({ default: 500, example: '500', desc: 'receive timeout' }),
    ZC_SHUTDOWN_TIMEOUT_MS: atLeastOneMs({
      default: 2000,
      example: '2000',
      desc: 'join deadline per worker',
    }),
    ZC_READY_TIMEOUT_MS: atLeastOneMs({
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
    LOG_LEVEL: oneOf(LOG_LEVELS, { ignoreCase: true })({
      default: 'info',
      example: 'info',
      desc: 'pino log level',
    }),
    LOG_FORMAT: oneOf(['json', 'pretty'], { ignoreCase: true })({
      default: 'json',
      example: 'pretty',
      desc: 'log line format',
    }),
    ZC_SERVICE: trimmedString({ default: undefined, example: 'camera', desc: 'service module' }),
    ZMQ_MAX_MESSAGE_BYTES: integer(1, INT32_MAX)({ default: 64 * 1024 * 1024, example: '1048576' }),
    ZMQ_RECONNECT_IVL_MS: atLeastOneMs({ default: 100, example: '100' }),
    // Unset: RECONNECT_IVL_MAX_DEFAULT_MS, or ZMQ_RECONNECT_IVL_MS when that is larger.
    ZMQ_RECONNECT_IVL_MAX_MS: atLeastOneMs({ default: undefined, example: '250' }),
    ZMQ_HEARTBEAT_IVL_MS: heartbeatMs({ default: 0, example: '1000' }),
    ZMQ_HEARTBEAT_TIMEOUT_MS: heartbeatMs({ default: undefined, example: '3000' }),
    ZMQ_HEARTBEAT_TTL_MS: heartbeatMs({ default: undefined, example: '3000' }),
    ZMQ_MONITOR: flag({ default: true, example: 'true' }),
    // zeromq.js copies every received frame, process-wide (shared/zmq/receive-copies.ts).
    ZMQ_RECEIVE_COPY: flag({ default: true, example: 'false' }),
    ZC_RESTART_BACKOFF_MS: atLeastOneMs({ default: 100, example: '100' }),
    ZC_RESTART_BACKOFF_MAX_MS: atLeastOneMs({ default: 5000, example: '5000' }),
    ZC_RESTART_LIMIT: integer(0, 1_000_000)({ default: 5, example: '5' }),
    ZC_RESTART_WINDOW_MS: atLeastOneMs({ default: 60_000, example: '60000' }),
    ZC_WORKER_MAX_OLD_MB: integer(16, 1_048_576)({ default: undefined, example: '256' }),
    ZC_WORKER_HEAP_HIGH_WATER_PERCENT: integer(10, 95)({ default: 70, example: '70' }),
    HTTP_PORT: integer(0, 65535, 'port')({ default: undefined, example: '9464' }),
    HTTP_HOST: host({ default: '0.0.0.0', example: '0.0.0.0' }),
    ZC_READY_REQUIRES_PEERS: flag({ default: false, example: 'true' }),
    ZC_READY_ON_LATENCY: flag({ default: false, example: 'true' }),
    ZC_READY_ON_DEADLINE: flag({ default: false, example: 'true' }),
    ZC_LIVENESS_STALE_MS: atLeastOneMs({ default: 10_000, example: '10000' }),
    ZMQ_CURVE_ALLOW: curveKeyList({ default: undefined, example: '<public key>,<public key>' }),
    ZMQ_SNDHWM: integer(0, INT32_MAX)({ default: 1000, example: '1000' }),
    ZMQ_RCVHWM: integer(0, INT32_MAX)({ default: 1000, example: '1000' }),
    ZMQ_XPUB_NODROP: flag({ default: false, example: 'true' }),
    ZMQ_RECORD_FILE: trimmedString({ default: undefined, example: '/data/recording.mcap' }),
    // An Int32 in shared memory counts the bytes waiting (see worker/record-capture.ts).
    ZMQ_RECORD_BUFFER_BYTES: integer(
      1024,
      2 ** 30,
    )({
      default: 64 * 1024 * 1024,
      example: '67108864',
    }),
    ZMQ_RECORD_COMPRESSION: oneOf(['none', 'zstd'])({ default: 'none', example: 'zstd' }),
    // Receive threads get an OS nice value from their latency class (worker/thread-priority.ts).
    ZC_THREAD_PRIORITY: flag({ default: true, example: 'false' }),
  }
}

/**
 * Every variable the container reads besides the per-socket ones: the catalogue that start-up,
 * `check` and the tests share, so a new tunable is known everywhere at once.
 */
export const TUNABLE_VARIABLES: readonly string[] = Object.keys(tunableSpecs())

export const CURVE_KEYS = ['CURVE_PUBLIC_KEY', 'CURVE_SECRET_KEY', 'CURVE_SERVER_KEY'] as const
export type CurveKey = (typeof CURVE_KEYS)[number]

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
  // Issue 16: the envelope frame (PUB and SUB), latest value (PUB), deadline (SUB).
  'ENVELOPE',
  'LATEST_TOPICS',
  'DEADLINE_MS',
  'NICE',
  'SLICE_US',
  ...CURVE_KEYS,
] as const
export const PUB_ONLY_KEYS: ReadonlySet<string> = new Set([
  'MIN_SUBSCRIBERS',
  'SUBSCRIBER_TIMEOUT_MS',
  'LATEST_TOPICS',
])
export const SUB_ONLY_KEYS: ReadonlySet<string> = new Set([
  'POOL_THREADS',
  'POOL_QUEUE',
  'POOL_DROP',
  'DEADLINE_MS',
])
/** Keys of topic-carrying sockets: a REP answers every request, with no topic or envelope. */
export const NOT_REP_KEYS: ReadonlySet<string> = new Set(['TOPICS', 'ENVELOPE'])
/** Keys of the sockets that have a receive thread (SUB and REP): a PUB lives in the main thread. */
export const RECEIVE_ONLY_KEYS: ReadonlySet<string> = new Set(['NICE', 'SLICE_US'])
export const SOCKET_DIRECTIONS = ['SUB', 'PUB', 'REP'] as const
export type SocketDirection = (typeof SOCKET_DIRECTIONS)[number]

/** The per-socket keys a socket of `direction` reads (a REP has no topics, pool or gate). */
export function socketKeysFor(direction: SocketDirection): string[] {
  return SOCKET_KEYS.filter(
    (k) =>
      !(direction !== 'PUB' && PUB_ONLY_KEYS.has(k)) &&
      !(direction !== 'SUB' && SUB_ONLY_KEYS.has(k)) &&
      !(direction === 'PUB' && RECEIVE_ONLY_KEYS.has(k)) &&
      !(direction === 'REP' && NOT_REP_KEYS.has(k)),
  )
}

/**
 * A per-socket variable: groups 1 direction, 2 the `<NAME>` (undefined if unnamed), 3 the key.
 * The name is tried last (`??`): `ZMQ_PUB_LATEST_TOPICS` is the unnamed PUB's LATEST_TOPICS,
 * not the TOPICS of a PUB named LATEST.
 */
export const SOCKET_VAR_RE = new RegExp(
  `^ZMQ_(SUB|PUB|REP)_(?:([A-Z0-9]+(?:_[A-Z0-9]+)*?)_)??(${SOCKET_KEYS.join('|')})$`,
)

/** Variables that also accept the `<VAR>_FILE` form (secrets): the allowlist and CURVE keys. */
export function isFileable(variable: string): boolean {
  if (variable === 'ZMQ_CURVE_ALLOW') return true
  const key = SOCKET_VAR_RE.exec(variable)?.[3]
  return key !== undefined && (CURVE_KEYS as readonly string[]).includes(key)
}

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
  // The build's training run sets TRAINING_VARIABLE, which the bundle loader reads.
  const known = new Set([...TUNABLE_VARIABLES, 'ZMQ_CURVE_ALLOW_FILE', TRAINING_VARIABLE])
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
