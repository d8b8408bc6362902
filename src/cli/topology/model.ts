import type { EndpointAction } from '../../shared/endpoints'

/**
 * One socket of a container, as the topology tools see it: what `check` reads from the env and
 * what a running container reports on /info, so files and live containers draw the same way.
 */
export interface SocketView {
  readonly kind: 'sub' | 'pub' | 'rep'
  readonly name: string
  /** The variable prefix (`ZMQ_SUB`), for findings that name the variable to change. */
  readonly envPrefix: string
  readonly latencyClass: string
  readonly endpoints: ReadonlyArray<{ readonly address: string; readonly action: EndpointAction }>
  /** SUB: subscriptions (exact, or prefix ending in `.`); PUB: declared topics. */
  readonly topics: readonly string[]
  /** `_ENVELOPE=true` (issue 16); unknown (undefined) for a live container's /info. */
  readonly envelope?: boolean
}

export interface ContainerView {
  readonly name: string
  /** How findings and the graph name it: the file (and compose service), or the URL. */
  readonly label: string
  readonly hostNames: readonly string[]
  readonly sockets: readonly SocketView[]
}

export interface SocketRef {
  readonly container: ContainerView
  readonly socket: SocketView
}

/** A connect that reaches a bind: the connecting socket, the binding one, and the address. */
export interface Link {
  readonly connector: SocketRef
  readonly binder: SocketRef
  /** The address as the connector wrote it. */
  readonly address: string
}

export interface Topology {
  readonly containers: readonly ContainerView[]
  readonly links: readonly Link[]
  /** Connects that reach no binder in the set. */
  readonly unreached: ReadonlyArray<{ readonly from: SocketRef; readonly address: string }>
}

const WILDCARD_HOSTS = new Set(['*', '0.0.0.0', '[::]', '[::0]', '[0:0:0:0:0:0:0:0]'])

function tcpParts(address: string): { host: string; port: string } | undefined {
  const m = /^tcp:\/\/(.*):([^:\]]+)$/.exec(address)
  if (!m) return undefined
  // `tcp://eth0;192.168.1.1:5555` (source interface) connects to the part after the `;`.
  const host = (m[1] as string).split(';').at(-1) as string
  return { host, port: m[2] as string }
}

function isAddressLiteral(host: string): boolean {
  return host === 'localhost' || host.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host)
}

/**
 * Whether a connect to `connect` reaches a bind of `bind` in `binder`. A bind to every interface
 * (`*`) is reached by the container's names (compose service, env file's directory) and by any
 * address literal, which the files cannot tell apart; a bind to one address only by that address.
 */
export function reaches(connect: string, bind: string, binder: ContainerView): boolean {
  const c = tcpParts(connect)
  const b = tcpParts(bind)
  if (!c || !b) return connect === bind
  if (c.port !== b.port || b.port === '*') return false
  if (c.host === b.host) return true
  return (
    WILDCARD_HOSTS.has(b.host) && (binder.hostNames.includes(c.host) || isAddressLiteral(c.host))
  )
}

/** True for a bind that can only be one place at a time: an ipc path, or tcp on one address. */
export function isExclusiveBind(address: string): boolean {
  const t = tcpParts(address)
  if (!t) return !address.startsWith('inproc://')
  return t.port !== '*' && !WILDCARD_HOSTS.has(t.host)
}

/** Resolves every connect against every bind in the set. */
export function buildTopology(containers: readonly ContainerView[]): Topology {
  const links: Link[] = []
  const unreached: Array<{ from: SocketRef; address: string }> = []
  for (const container of containers) {
    for (const socket of container.sockets) {
      for (const endpoint of socket.endpoints) {
        if (endpoint.action !== 'connect') continue
        let found = false
        for (const other of containers) {
          for (const target of other.sockets) {
            for (const bind of target.endpoints) {
              if (bind.action !== 'bind' || !reaches(endpoint.address, bind.address, other))
                continue
              found = true
              links.push({
                connector: { container, socket },
                binder: { container: other, socket: target },
                address: endpoint.address,
              })
            }
          }
        }
        if (!found) unreached.push({ from: { container, socket }, address: endpoint.address })
      }
    }
  }
  return { containers, links, unreached }
}

/** The link's SUB end and PUB end, when it joins a subscriber to a publisher. */
export function pubSub(link: Link): { pub: SocketRef; sub: SocketRef } | undefined {
  const { connector, binder } = link
  if (connector.socket.kind === 'sub' && binder.socket.kind === 'pub')
    return { sub: connector, pub: binder }
  if (connector.socket.kind === 'pub' && binder.socket.kind === 'sub')
    return { sub: binder, pub: connector }
  return undefined
}

/** The publishers a SUB socket is linked to. */
export function publishersOf(topology: Topology, sub: SocketRef): SocketRef[] {
  return topology.links.flatMap((l) => {
    const ends = pubSub(l)
    return ends && ends.sub.socket === sub.socket ? [ends.pub] : []
  })
}

/** The subscribers a PUB socket is linked to. */
export function subscribersOf(topology: Topology, pub: SocketRef): SocketRef[] {
  return topology.links.flatMap((l) => {
    const ends = pubSub(l)
    return ends && ends.pub.socket === pub.socket ? [ends.sub] : []
  })
}

/** `camera SUB sub` */
export function describeSocket(ref: SocketRef): string {
  return `${ref.container.name} ${ref.socket.kind.toUpperCase()} ${ref.socket.name}`
}
