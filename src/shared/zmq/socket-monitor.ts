import { type Event, Observer, type Socket } from 'zeromq'
import { ChurnLog } from '../churn-log'
import type { Log } from '../log'
import { LogThrottle, reportHeldBack } from '../log-throttle'
import type { SocketEvent } from '../shared-state'

/** zeromq Observer event types, folded onto the counted kinds (undefined: not counted). */
function countedKind(type: Event['type']): SocketEvent | undefined {
  switch (type) {
    case 'connect':
      return 'connect'
    case 'disconnect':
      return 'disconnect'
    case 'connect:retry':
      return 'connect_retry'
    case 'handshake':
      return 'handshake'
    case 'handshake:error:protocol':
    case 'handshake:error:auth':
    case 'handshake:error:other':
      return 'handshake_error'
    case 'accept':
      return 'accept'
    case 'accept:error':
      return 'accept_error'
    case 'bind:error':
      return 'bind_error'
    case 'close':
      return 'close'
    default:
      return undefined
  }
}

export interface MonitorHooks {
  /** Every counted event. */
  count(kind: SocketEvent): void
  /** A connection finished its ZMTP handshake (+1) or went away (-1). */
  peers?(delta: number): void
  /** A connection on `address` was lost (for the caller's reconnect policy). */
  disconnected?(address: string): void
  /** A connection on `address` is up again. */
  connected?(address: string): void
  /** libzmq scheduled a reconnect of `address` by itself. */
  retrying?(address: string): void
}

/**
 * Watches one socket's monitor: counts every event and logs each change of a connection's state
 * once (up, down, retrying), not every retry. A monitor keeps a native receive in flight for as
 * long as it runs (see shared-state.ts), until its socket closes.
 */
/** Returns undefined when libzmq cannot start a monitor for the socket now (see below). */
export function monitorSocket(socket: Socket, log: Log, hooks: MonitorHooks): Monitor | undefined {
  let observer: Observer
  try {
    observer = new Observer(socket)
  } catch (error) {
    // zeromq.js names a monitor's inproc endpoint after the socket's address in memory; a new
    // socket at the address of one closed moments ago can find that name still taken
    // (EADDRINUSE) until libzmq's reaper releases it. The socket itself works: go on without.
    log.warn({ err: error }, 'socket monitor unavailable')
    return undefined
  }
  const retrying = new Set<string>()
  /** Addresses this socket connects to: losing one of those is ours to worry about. */
  const outbound = new Set<string>()
  /** Connections per address that finished their handshake and have not gone away. */
  const up = new Map<string, number>()
  const throttle = new LogThrottle({ flush: reportHeldBack(log) })
  const churn = new ChurnLog(log)
  const done = (async () => {
    while (!observer.closed) {
      let event: Event
      try {
        event = await observer.receive()
      } catch {
        // Closed with the socket, or by stop(): either way, monitoring is over.
        return
      }
      const kind = countedKind(event.type)
      if (kind) hooks.count(kind)
      const address = 'address' in event ? event.address : undefined
      switch (event.type) {
        case 'connect':
          outbound.add(address ?? '')
          log.debug({ event: event.type, address }, 'socket event')
          break
        case 'handshake':
          up.set(address ?? '', (up.get(address ?? '') ?? 0) + 1)
          hooks.peers?.(1)
          retrying.delete(address ?? '')
          hooks.connected?.(address ?? '')
          if (churn.admit('handshake')) log.info({ event: event.type, address }, 'socket event')
          break
        case 'disconnect': {
          // Still a reconnect matter (libzmq may have given up on it), but libzmq also reports
          // connections that never finished a handshake (a port that is not ZeroMQ, a refused
          // CURVE key): those were never up, so they change no peer count and log quietly.
          hooks.disconnected?.(address ?? '')
          const live = up.get(address ?? '') ?? 0
          if (live === 0) {
            log.debug({ event: event.type, address, handshake: false }, 'socket event')
            break
          }
          up.set(address ?? '', live - 1)
          hooks.peers?.(-1)
          // A peer that connected to us and left (a `req` or `tap` that is done) is routine;
          // a connection we made and lost means our peer went away.
          if (!churn.admit('disconnect')) break
          if (outbound.has(address ?? ''))
            log.warn({ event: event.type, address, direction: 'outbound' }, 'socket event')
          else log.info({ event: event.type, address, direction: 'inbound' }, 'socket event')
          break
        }
        case 'connect:retry':
          hooks.retrying?.(address ?? '')
          if (address !== undefined && !retrying.has(address)) {
            retrying.add(address)
            log.warn({ event: event.type, address, intervalMs: event.interval }, 'socket event')
          }
          break
        case 'handshake:error:protocol':
        case 'handshake:error:auth':
        case 'handshake:error:other':
        case 'accept:error':
        case 'bind:error':
        case 'close:error': {
          const suppressed = throttle.admit(event.type)
          if (suppressed !== undefined)
            log.warn({ event: event.type, address, err: event.error, suppressed }, 'socket event')
          break
        }
        default:
          log.debug({ event: event.type, address }, 'socket event')
      }
    }
  })()
  return {
    done,
    close: () => {
      if (!observer.closed) observer.close()
    },
  }
}

/**
 * A running socket monitor; `done` settles when its receive loop has ended. Close the socket
 * first and the monitor right after: closing the observer first leaves libzmq's reaper blocked
 * in zeromq 6.8 (later closed sockets keep their TCP connections open), and a monitor left to
 * end with its socket takes 150 ms on tcp and never ends on inproc.
 */
export interface Monitor {
  readonly done: Promise<void>
  /** Ends the monitor; call it after closing the socket. */
  close(): void
}
