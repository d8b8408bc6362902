import type { SocketSpec } from './config'

/**
 * The /info document (a JSON contract between a container and the tools that read it): what this container is and does, for `zmq-container graph --live` and
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
