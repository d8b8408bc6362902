// Socket discovery: which `ZMQ_<DIRECTION>[_<NAME>]_<KEY>` variables are set decides which
// sockets exist; each then gets envalid specs for its own variables, and a SocketSpec from them.
import type { Spec } from 'envalid'
import { distance } from 'fastest-levenshtein'
import type { Endpoint } from '../endpoints'
import type { ConfigIssue } from '../errors'
import { curveFor } from './curve'
import {
  type Env,
  LATENCY_CLASSES,
  type LatencyClass,
  type PoolConfig,
  type SocketKind,
  type SocketSpec,
} from './types'
import {
  curveKey,
  endpointList,
  flag,
  integer,
  MAX_MS,
  oneOf,
  sliceUs,
  topicList,
} from './validators'
import {
  CURVE_KEYS,
  NOT_REP_KEYS,
  PUB_ONLY_KEYS,
  RECEIVE_ONLY_KEYS,
  SOCKET_KEYS,
  SOCKET_VAR_RE,
  type SocketDirection,
  SUB_ONLY_KEYS,
  socketKeysFor,
} from './variables'

/** A socket some variable names; it becomes a SocketSpec once its variables pass validation. */
export interface Candidate {
  kind: SocketKind
  name: string
  envPrefix: string
}

/**
 * The sockets `env` describes, SUBs, REPs, then PUBs, each by name. A variable under
 * `ZMQ_SUB_`/`ZMQ_PUB_`/`ZMQ_REP_` that names no key of its direction, or a socket set up without
 * its `_ENDPOINT`, is an issue (with a suggestion when a key is near).
 */
export function findSockets(env: Env, issues: ConfigIssue[]): Candidate[] {
  const byPrefix = new Map<string, Candidate & { keys: Set<string> }>()
  for (const variable of Object.keys(env)) {
    const direction = /^ZMQ_(SUB|PUB|REP)_/.exec(variable)?.[1] as SocketDirection | undefined
    if (!direction) continue
    const m = SOCKET_VAR_RE.exec(variable)
    if (!m) {
      const keys = socketKeysFor(direction)
        .map((k) => `_${k}`)
        .join(', ')
      const meant = meantVariable(variable, direction)
      issues.push({
        variable,
        // The likely fix first: a reader should not have to get past 13 suffixes to find it.
        problem: meant
          ? `is not a socket variable; did you mean ${meant}? (${direction} socket variables end in ${keys})`
          : `is not a socket variable; ${direction} socket variables end in ${keys}${namingHint(variable)}`,
        example: '',
        ...(meant ? { meant } : {}),
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
    if (direction === 'PUB' && RECEIVE_ONLY_KEYS.has(key)) {
      issues.push({
        variable,
        problem: 'applies to SUB and REP sockets only: a PUB socket has no thread of its own',
        example: '',
      })
      continue
    }
    if (direction === 'REP' && NOT_REP_KEYS.has(key)) {
      issues.push({
        variable,
        problem: 'does not apply: a REP socket answers every request it gets, with no topic',
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

/** A hint for a variable whose key is right but whose socket name breaks the naming rule. */
function namingHint(variable: string): string {
  const last = variable.slice(variable.lastIndexOf('_') + 1)
  return (SOCKET_KEYS as readonly string[]).includes(last)
    ? '; socket names are upper-case letters and digits, joined by single underscores'
    : ''
}

/** The socket variable `variable` probably means: its nearest key, for some split into a name. */
function meantVariable(variable: string, direction: SocketDirection): string | undefined {
  if (namingHint(variable)) return undefined
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
  if (!best) return undefined
  return `ZMQ_${direction}_${best.name ? `${best.name}_` : ''}${best.key}`
}

/** The seed's unnamed SUB carries control (`handle_control`); its unnamed PUB carries frames. */
function defaultClass(c: Candidate): LatencyClass | undefined {
  if (c.envPrefix === 'ZMQ_SUB') return 'control'
  if (c.envPrefix === 'ZMQ_PUB') return 'telemetry'
  if (c.envPrefix === 'ZMQ_REP') return 'control'
  return (LATENCY_CLASSES as string[]).includes(c.name) ? (c.name as LatencyClass) : undefined
}

/** The envalid specs of one socket's variables: the keys its direction reads. */
export function socketSpecs(c: Candidate): Record<string, Spec<unknown>> {
  const classDefault = defaultClass(c)
  return {
    [`${c.envPrefix}_ENDPOINT`]: endpointList(c.kind === 'sub' ? 'connect' : 'bind')({
      desc: `endpoints of the ${c.name} ${c.kind.toUpperCase()} socket`,
      example: c.kind === 'sub' ? 'tcp://camera:5555,tcp://camera2:5555' : 'tcp://*:5555',
    }),
    ...(c.kind === 'rep'
      ? {}
      : {
          [`${c.envPrefix}_TOPICS`]:
            c.kind === 'sub'
              ? topicList('sub')({
                  desc: 'topics to subscribe to',
                  example: 'camera.cmd,camera.',
                })
              : topicList('pub')({
                  desc: 'topics this socket publishes',
                  example: 'camera.frame,camera.heartbeat',
                  default: undefined,
                }),
        }),
    [`${c.envPrefix}_CLASS`]: oneOf(LATENCY_CLASSES)({
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
    ...(c.kind === 'rep'
      ? {}
      : { [`${c.envPrefix}_ENVELOPE`]: flag({ default: false, example: 'true' }) }),
    ...(c.kind === 'pub'
      ? {}
      : {
          // Linux nice of the receive thread: below the process's own needs CAP_SYS_NICE.
          [`${c.envPrefix}_NICE`]: integer(-20, 19)({ default: undefined, example: '5' }),
          // Scheduler slice of the receive thread in us (Linux 6.12+); 0: the kernel's own.
          [`${c.envPrefix}_SLICE_US`]: sliceUs({ default: undefined, example: '100' }),
        }),
    ...(c.kind === 'sub'
      ? {
          [`${c.envPrefix}_DEADLINE_MS`]: integer(
            1,
            MAX_MS,
            'ms',
          )({ default: undefined, example: '3000' }),
          [`${c.envPrefix}_POOL_THREADS`]: integer(0, 256)({ default: 0, example: '2' }),
          [`${c.envPrefix}_POOL_QUEUE`]: integer(1, 1_000_000)({ default: 1000, example: '1000' }),
          [`${c.envPrefix}_POOL_DROP`]: oneOf(['newest', 'oldest'])({
            default: 'newest',
            example: 'oldest',
          }),
        }
      : {}),
    ...(c.kind === 'pub'
      ? {
          [`${c.envPrefix}_LATEST_TOPICS`]: topicList('pub')({
            default: undefined,
            example: 'camera.config',
          }),
          [`${c.envPrefix}_MIN_SUBSCRIBERS`]: integer(0, 1_000_000)({ default: 0, example: '1' }),
          [`${c.envPrefix}_SUBSCRIBER_TIMEOUT_MS`]: integer(
            0,
            MAX_MS,
            'ms',
          )({
            default: 5000,
            example: '5000',
          }),
        }
      : {}),
  }
}

/**
 * The SocketSpec of `c` from the validated values, or undefined when one of its required
 * variables failed (that failure is already an issue). CURVE problems are added to `issues`.
 */
export function socketFrom(
  c: Candidate,
  cleaned: Record<string, unknown>,
  issues: ConfigIssue[],
): SocketSpec | undefined {
  const value = <T>(key: string) => cleaned[`${c.envPrefix}_${key}`] as T | undefined
  const endpoints = value<Endpoint[]>('ENDPOINT')
  const topics = value<string[]>('TOPICS')
  const latencyClass = value<LatencyClass>('CLASS') ?? defaultClass(c)
  if (!endpoints || !latencyClass) return undefined
  if (c.kind === 'sub' && !topics) return undefined
  return {
    kind: c.kind,
    name: c.name,
    envPrefix: c.envPrefix,
    latencyClass,
    endpoints,
    topics: topics ?? [],
    curve: curveFor(c.envPrefix, endpoints, (k) => value<string>(k), issues),
    pool: poolFor(c, cleaned),
    minSubscribers: value<number>('MIN_SUBSCRIBERS') ?? 0,
    subscriberTimeoutMs: value<number>('SUBSCRIBER_TIMEOUT_MS') ?? 0,
    // Issue 16's keys appear only when set, so a spec without them reads as before.
    ...(value<boolean>('ENVELOPE') ? { envelope: true } : {}),
    ...optional('latestTopics', value<string[]>('LATEST_TOPICS')),
    ...optional('deadlineMs', value<number>('DEADLINE_MS')),
    nice: value<number>('NICE'),
    ...optional('sliceUs', value<number>('SLICE_US')),
  }
}

function optional<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>)
}

function poolFor(c: Candidate, cleaned: Record<string, unknown>): PoolConfig | undefined {
  const threads = cleaned[`${c.envPrefix}_POOL_THREADS`] as number | undefined
  if (c.kind !== 'sub' || !threads) return undefined
  return {
    threads,
    queue: cleaned[`${c.envPrefix}_POOL_QUEUE`] as number,
    drop: cleaned[`${c.envPrefix}_POOL_DROP`] as 'newest' | 'oldest',
  }
}
