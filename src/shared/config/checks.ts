// Checks between values that are each valid alone: across tunables, and across sockets.
import type { ConfigIssue } from '../errors'
import type { SocketSpec } from './types'

/** Checks between tunables that are each valid alone. */
export function tunableCheck(cleaned: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const atLeast = (variable: string, other: string) => {
    if ((cleaned[variable] as number) < (cleaned[other] as number))
      issues.push({
        variable,
        problem: `must not be below ${other} (${cleaned[other]})`,
        example: String(cleaned[other]),
      })
  }
  atLeast('ZMQ_RECONNECT_IVL_MAX_MS', 'ZMQ_RECONNECT_IVL_MS')
  atLeast('ZC_RESTART_BACKOFF_MAX_MS', 'ZC_RESTART_BACKOFF_MS')
  for (const variable of ['ZMQ_HEARTBEAT_TIMEOUT_MS', 'ZMQ_HEARTBEAT_TTL_MS']) {
    if (cleaned[variable] !== undefined && cleaned.ZMQ_HEARTBEAT_IVL_MS === 0)
      issues.push({
        variable,
        problem: 'has no effect while ZMQ_HEARTBEAT_IVL_MS is 0 (heartbeats off)',
        example: '3000',
      })
  }
  return issues
}

/** Checks across sockets: the seed's "latency classes must not share sockets" (2.2) and more. */
export function crossCheck(sockets: readonly SocketSpec[]): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const classByAddress = new Map<string, SocketSpec>()
  const binders = new Map<string, SocketSpec>()
  for (const s of sockets) {
    for (const e of s.endpoints) {
      // Each `:*` bind gets a port of its own; such addresses are never shared.
      if (e.address.endsWith(':*')) continue
      const other = classByAddress.get(e.address)
      if (other && other.latencyClass !== s.latencyClass) {
        issues.push({
          variable: `${s.envPrefix}_ENDPOINT`,
          problem: `${e.address} carries ${s.latencyClass}, but ${other.envPrefix}_ENDPOINT uses it for ${other.latencyClass}; latency classes must not share an endpoint`,
          example: s.kind === 'pub' ? 'tcp://*:5556' : 'tcp://camera:5556',
        })
      }
      classByAddress.set(e.address, other ?? s)
      if (e.action === 'bind') {
        const binder = binders.get(e.address)
        if (binder) {
          issues.push({
            variable: `${s.envPrefix}_ENDPOINT`,
            problem: `binds ${e.address}, which ${binder.envPrefix}_ENDPOINT binds too`,
            example: 'tcp://*:5556',
          })
        }
        binders.set(e.address, s)
      }
    }
  }
  // Receiving sockets share one namespace (metrics labels, restarts, counters by name).
  const receivers = new Map<string, SocketSpec>()
  for (const s of sockets.filter((x) => x.kind !== 'pub')) {
    const other = receivers.get(s.name)
    if (other) {
      issues.push({
        variable: `${s.envPrefix}_ENDPOINT`,
        problem: `names a socket "${s.name}", which ${other.envPrefix}_ENDPOINT names too; SUB and REP sockets need distinct names`,
        example: '',
      })
    }
    receivers.set(s.name, s)
  }
  const declaredBy = new Map<string, SocketSpec>()
  for (const s of sockets.filter((x) => x.kind === 'pub')) {
    for (const t of s.topics) {
      const other = declaredBy.get(t)
      if (other) {
        issues.push({
          variable: `${s.envPrefix}_TOPICS`,
          problem: `declares ${t}, which ${other.envPrefix}_TOPICS declares too; a topic belongs to one PUB socket`,
          example: 'camera.frame',
        })
      }
      declaredBy.set(t, s)
    }
  }
  return issues
}
