import { type Config, LATENCY_BUDGET_MS } from '../shared/config'
import { DURATION_BUCKETS } from '../shared/shared-state'
import type { Readiness } from './health'
import { LatencyWindow } from './latency-window'
import type { Publishers } from './publishers'
import type { WorkerSlot } from './worker-slot'

/** What the probes read: the supervisor's phase and the parts it owns. */
export interface ProbeInput {
  readonly config: Config
  /** Shutdown has begun. */
  readonly closing: boolean
  /** start() completed (a closing container may have started or not). */
  readonly started: boolean
  readonly slots: ReadonlyArray<Pick<WorkerSlot, 'socket' | 'counters' | 'state'>>
  readonly latency: Pick<LatencySamples, 'p99'>
  readonly publishers: Pick<Publishers, 'gateUnmet'> | undefined
}

/**
 * Whether the container can serve (/readyz), with the reasons it cannot. Goes false first thing
 * at shutdown (the Kubernetes contract), then the drain begins.
 *
 * A SUB socket with no connected publisher is `degraded`, not a reason: behind a Kubernetes
 * Service, a peer's connection is routed only once this container is ready, so waiting for
 * peers before being ready deadlocks two containers that subscribe to each other. It becomes
 * a reason only with ZC_READY_REQUIRES_PEERS=true.
 */
export function readinessOf(input: ProbeInput): Readiness {
  const { config, started } = input
  const reasons: string[] = []
  const degraded: string[] = []
  if (input.closing) reasons.push('shutting down')
  else if (!started) reasons.push('starting')
  for (const slot of input.slots) {
    const name = slot.socket.name
    if (started && slot.state !== 'up') reasons.push(`receive worker ${name} is ${slot.state}`)
    if (slot.socket.kind === 'sub' && slot.counters.monitored && slot.counters.peers === 0)
      (config.readyRequiresPeers ? reasons : degraded).push(`socket ${name} has no connected peer`)
    if (config.readyOnLatency) {
      const p99 = input.latency.p99(name)
      const budget = LATENCY_BUDGET_MS[slot.socket.latencyClass] / 1000
      if (p99 !== undefined && p99 > budget)
        reasons.push(`socket ${name} p99 handler time above its ${slot.socket.latencyClass} budget`)
    }
  }
  for (const gate of input.publishers?.gateUnmet() ?? [])
    reasons.push(`socket ${gate.socket} has ${gate.attached} of ${gate.required} subscribers`)
  return { ready: reasons.length === 0, reasons, degraded }
}

/**
 * Whether the process is alive (/livez): this thread answers (the caller runs in it), and every
 * running worker's event loop has ticked recently. Never depends on peers.
 */
export function livenessOf(
  config: Config,
  slots: ProbeInput['slots'],
  now = Date.now(),
): { live: boolean; reasons: string[] } {
  const reasons: string[] = []
  for (const slot of slots) {
    if (slot.state !== 'up') continue
    const age = now - slot.counters.lastTickMs
    if (age > config.livenessStaleMs)
      reasons.push(`receive worker ${slot.socket.name} event loop stalled for ${age} ms`)
  }
  return { live: reasons.length === 0, reasons }
}

/** Each receive socket's recent handler times (ZC_READY_ON_LATENCY), sampled once a second. */
export class LatencySamples {
  readonly #windows = new Map<string, LatencyWindow>()
  #timer: NodeJS.Timeout | undefined

  add(socket: string): void {
    // A first sample now, so runs before the first periodic one count in the window too.
    const window = new LatencyWindow()
    window.push(new Array(DURATION_BUCKETS.length + 1).fill(0))
    this.#windows.set(socket, window)
  }

  start(slots: ProbeInput['slots']): void {
    this.#timer = setInterval(() => {
      for (const slot of slots) {
        const h = slot.counters.durationHistogram()
        this.#windows.get(slot.socket.name)?.push([...h.buckets, h.count])
      }
    }, 1000)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  p99(socket: string): number | undefined {
    return this.#windows.get(socket)?.p99()
  }
}
