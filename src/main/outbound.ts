import type { XPublisher } from 'zeromq'
import type { ChurnLog } from '../shared/churn-log'
import type { SocketSpec } from '../shared/config'
import type { Payload } from '../shared/service'
import type { SocketEvent } from '../shared/shared-state'
import type { Monitor } from '../shared/zmq/socket-monitor'

/**
 * One PUB socket's state, shared by publishers.ts (routing, sending, the backlog) and
 * subscriptions.ts (its XPUB's subscription frames), and what /metrics shows of it.
 */

export type PublishDropReason = 'queue_full' | 'closed' | 'hwm'

/** Label for topics a socket did not declare, so metric labels stay bounded. */
export const OTHER_TOPIC = 'other'

export interface PublisherStats {
  readonly socket: string
  readonly latencyClass: string
  /** Addresses as libzmq resolved them (a bound `*` port shows the real port). */
  readonly endpoints: readonly string[]
  /** Messages handed to libzmq, by declared topic (others under `other`). */
  readonly publishedByTopic: Readonly<Record<string, number>>
  readonly published: number
  /**
   * Not sent: too many sends in flight (`queue_full`), publishing had stopped (`closed`), or a
   * subscriber's high-water mark was full with ZMQ_XPUB_NODROP on (`hwm`).
   */
  readonly dropped: Readonly<Record<PublishDropReason, number>>
  /** send() rejected by libzmq. */
  readonly failed: number
  /** Subscribers attached per declared topic (others under `other`), from subscription frames. */
  readonly subscribers: Readonly<Record<string, number>>
  readonly events: Readonly<Record<SocketEvent, number>>
}

export interface Outbound {
  readonly spec: SocketSpec
  readonly socket: XPublisher
  endpoints: string[]
  /** Subscribers per subscription prefix, as seen in the XPUB's subscription frames. */
  readonly subscribers: Map<string, number>
  readonly publishedByTopic: Map<string, number>
  readonly dropped: Record<PublishDropReason, number>
  readonly events: Record<SocketEvent, number>
  failed: number
  inFlight: number
  /** Messages accepted while zeromq.js was busy, sent on the next turn of the event loop. */
  readonly backlog: Outgoing[]
  monitor: Monitor | undefined
  /** Subscriber attached/detached lines, summarized when peers come and go fast. */
  readonly churn: ChurnLog
  /** Wakes a start-up wait for subscribers. */
  onSubscribers: (() => void) | undefined
}

export interface Outgoing {
  readonly topic: string
  readonly payload: Payload
  /** The metric label: the declared topic, or `other`. */
  readonly label: string
}

/** What /metrics shows of one PUB socket. */
export function statsOf(o: Outbound): PublisherStats {
  const declared = new Set(o.spec.topics)
  const subscribers: Record<string, number> = {}
  for (const t of o.spec.topics) subscribers[t] = 0
  for (const [prefix, n] of o.subscribers) {
    const label = declared.has(prefix) ? prefix : OTHER_TOPIC
    subscribers[label] = Math.max(subscribers[label] ?? 0, n)
  }
  return {
    socket: o.spec.name,
    latencyClass: o.spec.latencyClass,
    endpoints: o.endpoints,
    // Declared topics appear from the start, at 0, so a rate over them is defined at once.
    publishedByTopic: {
      ...Object.fromEntries(o.spec.topics.map((t) => [t, 0])),
      ...Object.fromEntries(o.publishedByTopic),
    },
    published: [...o.publishedByTopic.values()].reduce((a, b) => a + b, 0),
    dropped: { ...o.dropped },
    failed: o.failed,
    subscribers,
    events: { ...o.events },
  }
}
