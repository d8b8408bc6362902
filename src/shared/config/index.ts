// loadConfig: the environment in, a frozen Config or one ConfigError with every issue out.
// The parts: types.ts (the shapes), variables.ts (the catalogue of variables), validators.ts,
// sockets.ts (which sockets exist), curve.ts, checks.ts (cross-checks), secrets.ts (`_FILE`).
import { customCleanEnv, EnvMissingError, type Spec } from 'envalid'
import { ConfigError, type ConfigIssue } from '../errors'
import { crossCheck, tunableCheck } from './checks'
import { resolveFileVariables } from './secrets'
import { findSockets, socketFrom, socketSpecs } from './sockets'
import type { Config, Env, HeartbeatConfig, LogFormat, LogLevel, SocketSpec } from './types'
import { isFileable, RECONNECT_IVL_MAX_DEFAULT_MS, tunableSpecs } from './variables'

export * from './types'
export {
  describeUnknownVariable,
  RECONNECT_IVL_MAX_DEFAULT_MS,
  SOCKET_DIRECTIONS,
  SOCKET_KEYS,
  type SocketDirection,
  socketKeysFor,
  TUNABLE_VARIABLES,
  type UnknownVariable,
  unknownVariables,
} from './variables'

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
    const socket = socketFrom(c, cleaned, issues)
    if (socket) sockets.push(socket)
  }
  if (candidates.length === 0 && issues.length === 0) {
    issues.push({
      variable: 'ZMQ_SUB_ENDPOINT',
      problem: 'no socket is configured: set at least one ZMQ_SUB_* or ZMQ_PUB_* endpoint',
      example: 'tcp://dashboard:6000',
    })
  }
  if (issues.length === 0) issues.push(...crossCheck(sockets), ...tunableCheck(cleaned))
  if (issues.length > 0) throw new ConfigError(linkTypos(issues))

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
    receiveCopy: cleaned.ZMQ_RECEIVE_COPY as boolean,
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
    // Issue 16: present only when on, so a config without it reads as before.
    ...(cleaned.ZC_READY_ON_DEADLINE ? { readyOnDeadline: true } : {}),
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
    threadPriority: cleaned.ZC_THREAD_PRIORITY as boolean,
  })
}

/** The problem of a required variable that is not set. */
const MISSING = 'is required but not set'

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
        const problem = error instanceof EnvMissingError ? MISSING : error.message
        issues.push({ variable, problem, example: String(specs[variable]?.example ?? '') })
      }
    },
  }) as Record<string, unknown>
}

/**
 * A required variable reported missing while a misspelling of it is set (ZMQ_SUB_TOPIC for
 * ZMQ_SUB_TOPICS) says so, so that the two lines read as one mistake.
 */
function linkTypos(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.map((issue) => {
    if (issue.problem !== MISSING) return issue
    const typo = issues.find((other) => other.meant === issue.variable)
    return typo
      ? { ...issue, problem: `${issue.problem} (${typo.variable} is set: a typo?)` }
      : issue
  })
}

function heartbeatFrom(cleaned: Record<string, unknown>): HeartbeatConfig | undefined {
  const intervalMs = cleaned.ZMQ_HEARTBEAT_IVL_MS as number
  if (intervalMs === 0) return undefined
  // libzmq's own defaults when unset: timeout = interval, TTL = none; three missed beats is
  // a common, less trigger-happy choice for the timeout.
  const timeoutMs = (cleaned.ZMQ_HEARTBEAT_TIMEOUT_MS as number | undefined) ?? intervalMs * 3
  const ttlMs = (cleaned.ZMQ_HEARTBEAT_TTL_MS as number | undefined) ?? timeoutMs
  return { intervalMs, timeoutMs, ttlMs }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
