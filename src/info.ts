import { hostname } from 'node:os'
import type { Config, SocketSpec } from './config'
import { type CounterSnapshot, DURATION_BUCKETS } from './counters'
import { type Readiness, readinessStatus } from './health'
import type { PublisherStats } from './publishers'

/**
 * The /info document: what this container is and does, for `zmq-container graph --live` and
 * `zmq-container top`. Counts are totals since start (a restarted worker keeps them); a reader
 * gets rates from two documents and their `timeMs`.
 */
export interface InfoDocument {
  readonly name: 'zmq-container'
  readonly version: string
  /** ZC_SERVICE, or `logging` for the built-in service. */
  readonly service: string
  readonly hostname: string
  /** Wall clock of this document (ms since the epoch): rates divide by its difference. */
  readonly timeMs: number
  readonly uptimeMs: number
  readonly readiness: { status: string; reasons: string[]; degraded: string[] }
  readonly sockets: InfoSocket[]
}

export interface InfoSocket {
  readonly kind: SocketSpec['kind']
  readonly name: string
  readonly envPrefix: string
  readonly class: string
  /** As configured; `bound` has the addresses libzmq resolved (the real port of `:*`). */
  readonly endpoints: ReadonlyArray<{ address: string; action: 'bind' | 'connect' }>
  readonly bound?: readonly string[]
  /** SUB: subscriptions; PUB: declared topics. */
  readonly topics: readonly string[]
  readonly curve: 'server' | 'client' | null
  /** SUB/REP: connected peers (socket monitor; null without one). PUB: most subscribers of a topic. */
  readonly peers: number | null
  /** SUB/REP: the receive worker's state (up, restarting, ...); PUB: always `up`. */
  readonly state: string
  readonly restarts: number
  /** SUB/REP: received, handled and dropped by reason. */
  readonly received?: number
  readonly handled?: number
  readonly dropped?: Readonly<Record<string, number>>
  /**
   * SUB: messages received per subscription (a prefix such as `camera.` counts every topic it
   * takes), after the topic checks: the container's per-topic inbound counts.
   */
  readonly receivedByTopic?: Readonly<Record<string, number>>
  /** SUB/REP: p99 handler time over the last 10 s, in ms (null: no runs in that window). */
  readonly p99Ms?: number | null
  /** PUB: messages handed to libzmq, in total and per declared topic; not sent, by reason. */
  readonly published?: number
  readonly publishedByTopic?: Readonly<Record<string, number>>
  readonly subscribersByTopic?: Readonly<Record<string, number>>
}

/** What the supervisor hands over to build an {@link InfoDocument}. */
export interface InfoSource {
  readonly config: Config
  readonly version: string
  readonly uptimeMs: number
  readonly readiness: Readiness
  readonly receivers: ReadonlyArray<{
    readonly socket: SocketSpec
    readonly state: string
    readonly counters: CounterSnapshot & {
      restarts: number
      peers: number | null
      receivedBySubscription: readonly number[]
    }
    /** Seconds; undefined with no handler runs in the window. */
    readonly p99: number | undefined
  }>
  readonly publishers: readonly PublisherStats[]
}

export function buildInfo(source: InfoSource): InfoDocument {
  const { config, readiness } = source
  const sockets = config.sockets.map((spec): InfoSocket => {
    const base = {
      kind: spec.kind,
      name: spec.name,
      envPrefix: spec.envPrefix,
      class: spec.latencyClass,
      endpoints: spec.endpoints.map((e) => ({ address: e.address, action: e.action })),
      topics: spec.topics,
      curve: spec.curve?.role ?? null,
    }
    if (spec.kind === 'pub') {
      const stats = source.publishers.find((p) => p.socket === spec.name)
      const subscribers = stats?.subscribers ?? {}
      return {
        ...base,
        bound: stats?.endpoints ?? [],
        peers: Math.max(0, ...Object.values(subscribers)),
        state: 'up',
        restarts: 0,
        published: stats?.published ?? 0,
        publishedByTopic: stats?.publishedByTopic ?? {},
        subscribersByTopic: subscribers,
        dropped: { ...(stats?.dropped ?? {}), failed: stats?.failed ?? 0 },
      }
    }
    const receiver = source.receivers.find((r) => r.socket.name === spec.name)
    const c = receiver?.counters
    return {
      ...base,
      peers: c?.peers ?? null,
      state: receiver?.state ?? 'unknown',
      restarts: c?.restarts ?? 0,
      received: c?.received ?? 0,
      handled: c?.handled ?? 0,
      dropped: c?.dropped ?? {},
      ...(spec.kind === 'sub'
        ? {
            receivedByTopic: Object.fromEntries(
              spec.topics.map((t, i) => [t, c?.receivedBySubscription[i] ?? 0]),
            ),
          }
        : {}),
      p99Ms: receiver?.p99 === undefined ? null : p99Ms(receiver.p99),
    }
  })
  return {
    name: 'zmq-container',
    version: source.version,
    service: config.service ?? 'logging',
    hostname: hostname(),
    timeMs: Date.now(),
    uptimeMs: Math.round(source.uptimeMs),
    readiness: {
      status: readinessStatus(readiness.ready, readiness.degraded),
      reasons: readiness.reasons,
      degraded: readiness.degraded,
    },
    sockets,
  }
}

/** JSON has no Infinity: past the histogram's last bound (10 s) shows as that bound, a floor. */
function p99Ms(seconds: number): number {
  return (Number.isFinite(seconds) ? seconds : (DURATION_BUCKETS.at(-1) as number)) * 1000
}
