import { isPrefixSubscription, TopicMatcher } from '../../shared/topics'
import {
  describeSocket,
  isExclusiveBind,
  publishersOf,
  pubSub,
  type SocketRef,
  subscribersOf,
  type Topology,
} from './model'

/** A problem between containers. Errors make `check` exit 78, warnings 2. */
export interface TopologyFinding {
  readonly severity: 'error' | 'warning'
  readonly kind:
    | 'unreached-connect'
    | 'kind-mismatch'
    | 'no-publisher'
    | 'class-mismatch'
    | 'duplicate-bind'
    | 'unsubscribed-topic'
    | 'prefix-matches-nothing'
    | 'envelope-unread'
  /** The container's label: its file (and compose service). */
  readonly file: string
  readonly variable: string
  readonly message: string
}

/** Every check between containers; each container's own checks are `check`'s as before. */
export function topologyFindings(topology: Topology): TopologyFinding[] {
  return [
    ...unreachedConnects(topology),
    ...kindMismatches(topology),
    ...duplicateBinds(topology),
    ...classMismatches(topology),
    ...missingPublishers(topology),
    ...unsubscribedTopics(topology),
    ...prefixesMatchingNothing(topology),
    ...envelopesUnread(topology),
  ]
}

function finding(
  severity: TopologyFinding['severity'],
  kind: TopologyFinding['kind'],
  ref: SocketRef,
  suffix: string,
  message: string,
): TopologyFinding {
  return {
    severity,
    kind,
    file: ref.container.label,
    variable: `${ref.socket.envPrefix}_${suffix}`,
    message,
  }
}

function unreachedConnects(topology: Topology): TopologyFinding[] {
  return topology.unreached.map(({ from, address }) =>
    finding(
      'error',
      'unreached-connect',
      from,
      'ENDPOINT',
      `connects to ${address}, which no container in the set binds: nothing arrives there. Check the host name (a compose service or the env file's directory name) and the port against the peer's bind.`,
    ),
  )
}

const COMPATIBLE = new Set(['sub-pub', 'pub-sub'])

function kindMismatches(topology: Topology): TopologyFinding[] {
  return topology.links
    .filter((l) => {
      const pair = `${l.connector.socket.kind}-${l.binder.socket.kind}`
      // A REP's clients are services' request clients, not sockets of the env.
      return !COMPATIBLE.has(pair)
    })
    .map((l) =>
      finding(
        'error',
        'kind-mismatch',
        l.connector,
        'ENDPOINT',
        `connects to ${l.address}, where ${describeSocket(l.binder)} binds: a ${l.connector.socket.kind.toUpperCase()} cannot talk to a ${l.binder.socket.kind.toUpperCase()} (libzmq refuses the handshake). A SUB pairs with a PUB.`,
      ),
    )
}

function duplicateBinds(topology: Topology): TopologyFinding[] {
  const first = new Map<string, SocketRef>()
  const found: TopologyFinding[] = []
  for (const container of topology.containers) {
    for (const socket of container.sockets) {
      for (const e of socket.endpoints) {
        if (e.action !== 'bind' || !isExclusiveBind(e.address)) continue
        const earlier = first.get(e.address)
        if (!earlier) {
          first.set(e.address, { container, socket })
          continue
        }
        if (earlier.container === container) continue // check's own duplicate-endpoint
        found.push(
          finding(
            'error',
            'duplicate-bind',
            { container, socket },
            'ENDPOINT',
            `binds ${e.address}, which ${describeSocket(earlier)} (${earlier.container.label}) binds too: the second to start fails (exit 69). Give each container its own port or path.`,
          ),
        )
      }
    }
  }
  return found
}

function classMismatches(topology: Topology): TopologyFinding[] {
  const found: TopologyFinding[] = []
  for (const link of topology.links) {
    const ends = pubSub(link)
    if (!ends || ends.sub.socket.latencyClass === ends.pub.socket.latencyClass) continue
    found.push(
      finding(
        'error',
        'class-mismatch',
        ends.sub,
        'CLASS',
        `is ${ends.sub.socket.latencyClass}, but its publisher ${describeSocket(ends.pub)} (${ends.pub.container.label}, via ${link.address}) is ${ends.pub.socket.latencyClass}: one socket carries one latency class (seed 2.2), so the subscriber's budget does not fit what arrives. Set both ${ends.sub.socket.envPrefix}_CLASS and ${ends.pub.socket.envPrefix}_CLASS to the same class.`,
      ),
    )
  }
  return found
}

/** A publisher that declares no topics may carry anything: nothing can be said about it. */
function declaredTopics(pubs: readonly SocketRef[]): string[] | undefined {
  if (pubs.some((p) => p.socket.topics.length === 0)) return undefined
  return pubs.flatMap((p) => p.socket.topics)
}

function subscribers(topology: Topology): SocketRef[] {
  return topology.containers.flatMap((container) =>
    container.sockets.filter((s) => s.kind === 'sub').map((socket) => ({ container, socket })),
  )
}

function missingPublishers(topology: Topology): TopologyFinding[] {
  const found: TopologyFinding[] = []
  const allPublished = new Map<string, SocketRef>()
  for (const container of topology.containers)
    for (const socket of container.sockets)
      if (socket.kind === 'pub')
        for (const t of socket.topics) allPublished.set(t, { container, socket })
  for (const sub of subscribers(topology)) {
    const pubs = publishersOf(topology, sub)
    // A connect that reaches nothing is already an error of its own.
    const connects = sub.socket.endpoints.some((e) => e.action === 'connect')
    if (pubs.length === 0 && connects) continue
    const declared = pubs.length === 0 ? [] : declaredTopics(pubs)
    if (declared === undefined) continue
    for (const topic of sub.socket.topics) {
      if (isPrefixSubscription(topic) || declared.includes(topic)) continue
      const elsewhere = allPublished.get(topic)
      found.push(
        finding(
          'error',
          'no-publisher',
          sub,
          'TOPICS',
          elsewhere
            ? `subscribes to ${topic}, which ${describeSocket(elsewhere)} (${elsewhere.container.label}) publishes, but this socket is not connected to it. Add its endpoint to ${sub.socket.envPrefix}_ENDPOINT.`
            : `subscribes to ${topic}, which no publisher in the set declares: nothing will arrive. Check the spelling against the publishers' _TOPICS${pubs.length > 0 ? ` (${declared.join(', ')})` : ''}.`,
        ),
      )
    }
  }
  return found
}

function unsubscribedTopics(topology: Topology): TopologyFinding[] {
  const found: TopologyFinding[] = []
  for (const container of topology.containers) {
    for (const socket of container.sockets) {
      if (socket.kind !== 'pub') continue
      const pub = { container, socket }
      const matchers = subscribersOf(topology, pub).map((s) => new TopicMatcher(s.socket.topics))
      for (const topic of socket.topics) {
        if (matchers.some((m) => m.matches(topic))) continue
        found.push(
          finding(
            'warning',
            'unsubscribed-topic',
            pub,
            'TOPICS',
            `declares ${topic}, but no subscriber in the set takes it: whatever is published there goes nowhere. Fine if a tool or a container outside the set listens; else drop it.`,
          ),
        )
      }
    }
  }
  return found
}

function prefixesMatchingNothing(topology: Topology): TopologyFinding[] {
  const found: TopologyFinding[] = []
  for (const sub of subscribers(topology)) {
    const declared = declaredTopics(publishersOf(topology, sub))
    for (const topic of sub.socket.topics) {
      if (!isPrefixSubscription(topic) || declared === undefined || declared.length === 0) continue
      if (declared.some((t) => t.startsWith(topic))) continue
      found.push(
        finding(
          'warning',
          'prefix-matches-nothing',
          sub,
          'TOPICS',
          `subscribes to the prefix ${topic}, but no topic its publishers declare starts with it (${declared.join(', ')}): nothing will arrive.`,
        ),
      )
    }
  }
  return found
}

/**
 * An enveloped PUB (`_ENVELOPE=true`) sends three frames; a SUB without `_ENVELOPE` (ours, or a
 * seed-style peer reading exactly two) drops every one as `bad_frames`. Judged per link, on the
 * topics the SUB takes from that PUB. Only what the env files say: a live container's /info
 * does not report the envelope, and a peer outside the set cannot be seen.
 */
function envelopesUnread(topology: Topology): TopologyFinding[] {
  const found: TopologyFinding[] = []
  for (const link of topology.links) {
    const ends = pubSub(link)
    if (ends?.pub.socket.envelope !== true || ends.sub.socket.envelope !== false) continue
    const matcher = new TopicMatcher(ends.sub.socket.topics)
    const topics = ends.pub.socket.topics.filter((t) => matcher.matches(t))
    // A PUB that declares nothing may carry anything the SUB takes.
    if (ends.pub.socket.topics.length > 0 && topics.length === 0) continue
    found.push(
      finding(
        'warning',
        'envelope-unread',
        ends.sub,
        'ENVELOPE',
        `reads ${topics.length > 0 ? topics.join(', ') : 'topics'} from ${describeSocket(ends.pub)} (${ends.pub.container.label}, via ${link.address}), which sends the envelope as a third frame: without ${ends.sub.socket.envPrefix}_ENVELOPE=true this socket drops every such message (bad_frames), as a seed-style two-frame subscriber would. Set it, or publish these topics on a PUB without the envelope.`,
      ),
    )
  }
  return found
}
