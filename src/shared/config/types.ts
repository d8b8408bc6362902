// The shapes loadConfig produces: plain frozen data, so a Config can be posted to every thread.
import type { Endpoint } from '../endpoints'

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
  /**
   * PUB: every message gets the envelope frame (src/shared/envelope.ts). SUB: 3-frame messages
   * are accepted and their envelope read (2-frame ones still pass). Optional: absent is off.
   */
  readonly envelope?: boolean
  /** PUB: topics whose last message is sent again when a new subscription for them arrives. */
  readonly latestTopics?: readonly string[]
  /** SUB: a subscription silent this long after its first message has missed its deadline. */
  readonly deadlineMs?: number | undefined
  /**
   * SUB/REP: the receive thread's nice value (`_NICE`), absolute; undefined takes the class's
   * default offset from the process's own nice (see THREAD_NICE_OFFSET).
   */
  readonly nice: number | undefined
  /**
   * SUB/REP: the receive thread's scheduler slice in µs (`_SLICE_US`, Linux 6.12+); 0 or absent
   * leaves the kernel's own (see worker/thread-priority.ts).
   */
  readonly sliceUs?: number
}

/**
 * How much nicer than the process each class's receive thread runs by default: raising a
 * thread's nice needs no privilege, so these work everywhere, and on saturated cores the
 * scheduler then favours control over telemetry over logging.
 */
export const THREAD_NICE_OFFSET: Readonly<Record<LatencyClass, number>> = {
  control: 0,
  telemetry: 5,
  logging: 10,
}

/** The kernel clamps a requested slice to this range (sched_setattr's sched_runtime). */
export const SLICE_US_RANGE = { min: 100, max: 100_000 } as const

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
  /**
   * Every received frame copied into an ordinary Buffer, where zeromq.js would hand a frame over
   * 128 bytes over without a copy (shared/zmq/receive-copies.ts). Process-wide.
   */
  readonly receiveCopy: boolean
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
  /** /readyz lists a SUB with a topic past its `_DEADLINE_MS` under `degraded` (still 200). */
  readonly readyOnDeadline?: boolean
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
  /** ZC_THREAD_PRIORITY: receive threads get a nice value from their class or `_NICE`. */
  readonly threadPriority: boolean
}

/** Container recording (ZMQ_RECORD_*); see src/main/container-recorder.ts. */
export interface RecordConfig {
  readonly file: string
  /** Bytes received and not yet written, across all sockets, before messages overflow. */
  readonly bufferBytes: number
  readonly compression: 'none' | 'zstd'
}
/** The environment as loadConfig reads it (process.env, or a test's plain object). */
export type Env = Readonly<Record<string, string | undefined>>
