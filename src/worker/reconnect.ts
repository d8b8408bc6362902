import type { Reply, Subscriber } from 'zeromq'
import type { SocketSpec } from '../shared/config'
import type { Log } from '../shared/log'

export interface ReconnectOptions {
  readonly spec: SocketSpec
  readonly reconnectIntervalMs: number
  readonly reconnectIntervalMaxMs: number
  readonly log: Log
  /** The socket to re-arm, or undefined while there is none (or it is closing). */
  readonly socket: () => Subscriber | Reply | undefined
}

/**
 * libzmq reconnects a lost connection by itself, and says so at once with a `connect:retry`
 * event. After a protocol error, such as a message over ZMQ_MAXMSGSIZE, it never does. So a
 * disconnect with no retry soon after is re-armed here: disconnect, then connect again, with
 * exponential backoff until a handshake succeeds. Fed by the socket monitor's events.
 */
export class Reconnect {
  readonly #options: ReconnectOptions
  /** Resolved addresses this socket bound: their disconnects are peers leaving, not ours to re-arm. */
  readonly #bound = new Set<string>()
  /** Endpoints that lost their connection and that libzmq is not retrying. */
  readonly #rearm = new Map<string, { timer: NodeJS.Timeout | undefined; attempt: number }>()
  #stopped = false

  constructor(options: ReconnectOptions) {
    this.#options = options
  }

  /** After attach: the addresses libzmq resolved for the socket's endpoints, in their order. */
  attached(endpoints: readonly string[]): void {
    this.#options.spec.endpoints.forEach((e, i) => {
      if (e.action === 'bind') this.#bound.add(endpoints[i] ?? e.address)
    })
  }

  /** The monitor saw a connection end. */
  disconnected(address: string): void {
    if (this.#stopped) return
    for (const endpoint of this.#connectEndpointsFor(address)) this.#schedule(endpoint)
  }

  /** libzmq is retrying by itself (`connected` false), or the handshake succeeded (true). */
  cancel(address: string, connected = false): void {
    for (const endpoint of this.#connectEndpointsFor(address)) {
      const entry = this.#rearm.get(endpoint)
      if (!entry) continue
      clearTimeout(entry.timer)
      if (connected) this.#rearm.delete(endpoint)
      else entry.timer = undefined
    }
  }

  /** The socket is closing: no timer may touch it again. */
  stop(): void {
    this.#stopped = true
    for (const entry of this.#rearm.values()) clearTimeout(entry.timer)
    this.#rearm.clear()
  }

  #schedule(endpoint: string): void {
    const { reconnectIntervalMs, reconnectIntervalMaxMs } = this.#options
    const entry = this.#rearm.get(endpoint) ?? { timer: undefined, attempt: 0 }
    clearTimeout(entry.timer)
    const delayMs = Math.min(reconnectIntervalMaxMs, reconnectIntervalMs * 2 ** entry.attempt)
    // A retry event, if libzmq is retrying, arrives well within one interval plus this slack.
    entry.timer = setTimeout(() => this.#rearmNow(endpoint), delayMs + 50)
    entry.timer.unref()
    this.#rearm.set(endpoint, entry)
  }

  #rearmNow(endpoint: string): void {
    const socket = this.#options.socket()
    const entry = this.#rearm.get(endpoint)
    if (!socket || socket.closed || this.#stopped || !entry) return
    entry.attempt++
    this.#options.log.warn(
      { address: endpoint, attempt: entry.attempt },
      'reconnecting: libzmq gave up on this connection',
    )
    try {
      socket.disconnect(endpoint)
    } catch {
      // Already gone from libzmq's list: connecting again is all that is needed.
    }
    socket.connect(endpoint)
    this.#schedule(endpoint)
  }

  /** Our connect endpoints an event address refers to (libzmq may report a resolved address). */
  #connectEndpointsFor(address: string): string[] {
    const connects = this.#options.spec.endpoints
      .filter((e) => e.action === 'connect')
      .map((e) => e.address)
    if (connects.includes(address)) return [address]
    // libzmq may report a connect endpoint by its resolved address (tcp://camera:5555 as
    // tcp://172.18.0.3:5555). Only a lone connect endpoint can be matched that way safely; with
    // several, or for the address of a bound endpoint, re-arming would disturb healthy peers.
    return connects.length === 1 && !this.#bound.has(address) ? connects : []
  }
}
