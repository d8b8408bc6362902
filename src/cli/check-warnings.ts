import { existsSync } from 'node:fs'
import path from 'node:path'
import {
  type Config,
  describeUnknownVariable,
  type SocketSpec,
  unknownVariables,
} from '../shared/config'
import type { Endpoint } from '../shared/endpoints'
import { isPrefixSubscription, TopicMatcher } from '../shared/topics'

/** Something the container accepts but that is probably not what was meant. */
export interface CheckWarning {
  readonly kind:
    | 'prefix-collision'
    | 'duplicate-endpoint'
    | 'role'
    | 'undeclared-topics'
    | 'curve-unused'
    | 'unknown-variable'
    | 'ipc-directory'
  /** The variable to change. */
  readonly variable: string
  readonly message: string
}

type Env = Readonly<Record<string, string | undefined>>

/**
 * The warnings of `zmq-container check`, for a configuration that loadConfig accepted. Errors
 * (what the container refuses to run) stay in shared/config; this only looks for the seed's
 * "no messages" causes (section 6) that are still valid configuration.
 */
export function findWarnings(config: Config, env: Env): CheckWarning[] {
  return [
    ...prefixCollisions(config.sockets),
    ...duplicateEndpoints(config.sockets),
    ...roleSurprises(config.sockets),
    ...undeclaredTopics(config.sockets),
    ...curveUnused(env),
    ...unknownVariables(env).map((u) => ({
      kind: 'unknown-variable' as const,
      variable: u.variable,
      message: describeUnknownVariable(u),
    })),
    ...ipcDirectories(config.sockets),
  ]
}

/**
 * An ipc endpoint is a file: its directory must exist where the container runs. A bind there
 * fails at start-up (exit 69); a connect retries in silence until some peer creates it.
 */
function ipcDirectories(sockets: readonly SocketSpec[]): CheckWarning[] {
  const warnings: CheckWarning[] = []
  for (const spec of sockets) {
    for (const e of spec.endpoints) {
      if (!e.address.startsWith('ipc://')) continue
      const dir = path.dirname(e.address.slice('ipc://'.length))
      if (existsSync(dir)) continue
      warnings.push({
        kind: 'ipc-directory',
        variable: `${spec.envPrefix}_ENDPOINT`,
        message:
          e.action === 'bind'
            ? `binds ${e.address}, but directory ${dir} does not exist here, so start-up would fail (exit 69). Create it, or mount a volume there.`
            : `connects to ${e.address}, but directory ${dir} does not exist here: nothing arrives until a peer creates it. Check the path, or the volume shared with the peer.`,
      })
    }
  }
  return warnings
}

/**
 * libzmq matches a subscription as a byte prefix: a socket subscribed to `nav.pose` also gets
 * `nav.pose2`. The container then drops it by exact matching, so a topic that another socket
 * subscribes to reaches this one too, only to be dropped. Within one socket both are wanted and
 * nothing is dropped, so only pairs across sockets count.
 */
function prefixCollisions(sockets: readonly SocketSpec[]): CheckWarning[] {
  const warnings: CheckWarning[] = []
  const subs = sockets.filter((s) => s.kind === 'sub')
  for (const s of subs) {
    const matcher = new TopicMatcher(s.topics)
    for (const t of s.topics.filter((x) => !isPrefixSubscription(x))) {
      for (const other of subs) {
        if (other === s) continue
        for (const u of other.topics) {
          if (u === t || !u.startsWith(t) || matcher.matches(u)) continue
          warnings.push({
            kind: 'prefix-collision',
            variable: `${s.envPrefix}_TOPICS`,
            message: `${t} is a prefix of ${u} (${other.envPrefix}_TOPICS). libzmq matches subscriptions by prefix, so this socket also receives ${u} from any peer that publishes it, and exact matching drops every one (counted as unsubscribed, logged as "message dropped"). Rename one so that neither is a prefix of the other, such as ${t}.a and ${t}.b.`,
          })
        }
      }
    }
  }
  return warnings
}

/**
 * shared/config refuses two binds of one address and two latency classes on one address; what is
 * left is legal but rarely meant: two sockets connecting to the same peer address, or a SUB
 * connecting to an address that one of this container's own PUBs binds.
 */
function duplicateEndpoints(sockets: readonly SocketSpec[]): CheckWarning[] {
  const warnings: CheckWarning[] = []
  const firstUse = new Map<string, { spec: SocketSpec; endpoint: Endpoint }>()
  for (const spec of sockets) {
    for (const endpoint of spec.endpoints) {
      // Each `:*` bind gets a port of its own, so the text repeating is no duplicate.
      if (endpoint.address.endsWith(':*')) continue
      const first = firstUse.get(endpoint.address)
      if (!first) {
        firstUse.set(endpoint.address, { spec, endpoint })
        continue
      }
      const self = first.endpoint.action !== endpoint.action
      warnings.push({
        kind: 'duplicate-endpoint',
        variable: `${spec.envPrefix}_ENDPOINT`,
        message: self
          ? `${endpoint.action}s ${endpoint.address}, which ${first.spec.envPrefix}_ENDPOINT ${first.endpoint.action}s too: the container talks to itself there. Give each socket its own endpoint.`
          : `connects to ${endpoint.address}, like ${first.spec.envPrefix}_ENDPOINT: both sockets get their own copy of every message they both subscribe to. Keep one socket per peer and latency class.`,
      })
    }
  }
  return warnings
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '[::]', '[::0]', '[0:0:0:0:0:0:0:0]'])
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/

function tcpHost(address: string): string | undefined {
  const m = /^tcp:\/\/(.*):[^:]+$/.exec(address)
  return m?.[1]
}

/**
 * The parser reverses a socket's role only on an explicit `@` or `>`, so a PUB never connects and
 * a SUB never binds without one. What does slip through is an unmarked address written for the
 * other role: a SUB "connecting" to a bind-all address, or a PUB "binding" a peer's host name
 * (libzmq binds only to `*`, an IP, `localhost` or an interface name, and fails with ENODEV).
 */
function roleSurprises(sockets: readonly SocketSpec[]): CheckWarning[] {
  const warnings: CheckWarning[] = []
  for (const spec of sockets) {
    for (const e of spec.endpoints) {
      if (e.explicit) continue
      const host = tcpHost(e.address)
      if (host === undefined) continue
      if (spec.kind === 'sub' && WILDCARD_HOSTS.has(host)) {
        warnings.push({
          kind: 'role',
          variable: `${spec.envPrefix}_ENDPOINT`,
          message: `connects to ${e.address}, an address for binding (every interface); a SUB connects unless marked. To bind it (fan-in, seed 2.3) write @${e.address}; to reach a peer, name its host.`,
        })
      }
      const isName =
        host !== '*' && host !== 'localhost' && !IPV4_RE.test(host) && !host.startsWith('[')
      if (spec.kind === 'pub' && isName) {
        warnings.push({
          kind: 'role',
          variable: `${spec.envPrefix}_ENDPOINT`,
          message: `binds ${e.address}, but ${host} looks like a peer's host name; a PUB binds unless marked, and libzmq binds only to *, an IP address, localhost or an interface name (otherwise "No such device" at start). To connect to ${host} (seed 2.3) write >${e.address}.`,
        })
      }
    }
  }
  return warnings
}

/** Seed 3.2 calls the list informational, but without it nobody can tell what the socket carries. */
function undeclaredTopics(sockets: readonly SocketSpec[]): CheckWarning[] {
  return sockets
    .filter((s) => s.kind === 'pub' && s.topics.length === 0)
    .map((s) => ({
      kind: 'undeclared-topics' as const,
      variable: `${s.envPrefix}_TOPICS`,
      message: `is not set, so this PUB socket declares no topics. The seed calls the list informational, but the container routes publishes by it (with several PUB sockets, a publish reaches this one only when the service names the socket), and no reader of the env can tell what the socket carries. List its topics, such as ${s.envPrefix}_TOPICS=camera.frame,camera.heartbeat.`,
    }))
}

/**
 * The container reads CURVE keys per socket (`ZMQ_PUB_CURVE_SECRET_KEY`) and one shared client
 * allowlist (`ZMQ_CURVE_ALLOW`). A key under any other `ZMQ_CURVE_*` name (keygen's default
 * output, pasted as is) is ignored, and the socket it was meant for stays plaintext.
 */
function curveUnused(env: Env): CheckWarning[] {
  return Object.keys(env)
    .filter((v) => /^ZMQ_CURVE_/.test(v) && !/^ZMQ_CURVE_ALLOW(_FILE)?$/.test(v))
    .sort()
    .map((variable) => ({
      kind: 'curve-unused' as const,
      variable,
      message: `is not read by the container: CURVE keys are set per socket, such as ZMQ_PUB_CURVE_PUBLIC_KEY and ZMQ_PUB_CURVE_SECRET_KEY (zmq-container keygen --prefix ZMQ_PUB prints them so). The socket it was meant for runs without CURVE.`,
    }))
}
