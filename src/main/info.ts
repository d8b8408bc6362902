import { hostname } from 'node:os'
import type { Config, SocketSpec } from '../shared/config'
import type { InfoDocument, InfoSocket } from '../shared/info-document'
import { type CounterSnapshot, DURATION_BUCKETS } from '../shared/shared-state'
import { type Readiness, readinessStatus } from './health'
import type { PublisherStats } from './publishers'

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
