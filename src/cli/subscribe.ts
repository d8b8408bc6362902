import { Subscriber, type XPublisher } from 'zeromq'
import { type Endpoint, isIpv6Address } from '../shared/endpoints'
import { watchConnection } from './connection-status'
import { type CurveOptions, curveNote } from './curve-env'
import { type CliIo, note } from './io'

/** A tool's SUB socket and the watcher that reports its connection state on stderr. */
export interface Subscription {
  readonly socket: Subscriber
  /** Ends the connection watcher; call it after closing the socket. */
  readonly stopWatching: () => void
}

/**
 * A SUB socket on `endpoint` with `subscriptions` (`''` is everything). Returns undefined after
 * saying why when the bind fails (a connect never fails: libzmq retries in the background).
 */
export async function openSubscriber(
  io: CliIo,
  command: string,
  endpoint: Endpoint,
  subscriptions: readonly string[],
  report?: (text: string) => void,
  curve: CurveOptions = {},
): Promise<Subscription | undefined> {
  const socket = new Subscriber({ linger: 0, ...curve })
  for (const s of subscriptions) socket.subscribe(s)
  // Before the connect, so its first events are seen.
  const stopWatching = watchConnection(io, command, socket, endpoint, report)
  const address = await attach(io, command, socket, endpoint)
  if (address === undefined) {
    stopWatching()
    return undefined
  }
  const what = subscriptions.includes('') ? 'every topic' : subscriptions.join(', ')
  note(io, command, `${endpoint.action} ${address}, subscribed to ${what}${curveNote(curve)}`)
  return { socket, stopWatching }
}

/** Binds or connects; a bind prints the resolved address (the real port of `:*`). */
export async function attach(
  io: CliIo,
  command: string,
  socket: Subscriber | XPublisher,
  endpoint: Endpoint,
): Promise<string | undefined> {
  try {
    // The container's rule (see isIpv6Address): libzmq takes an IPv6 literal only with this on.
    if (isIpv6Address(endpoint.address)) socket.ipv6 = true
    if (endpoint.action === 'connect') {
      socket.connect(endpoint.address)
      return endpoint.address
    }
    await socket.bind(endpoint.address)
    return socket.lastEndpoint ?? endpoint.address
  } catch (error) {
    socket.close()
    note(io, command, `cannot ${endpoint.action} ${endpoint.address}: ${(error as Error).message}`)
    return undefined
  }
}

/**
 * Calls `onMessage` for each message until it returns false or `signal` aborts. Aborting closes
 * the socket, which ends the pending receive at once; the socket is closed on return either way.
 */
export async function receiveUntil(
  { socket, stopWatching }: Subscription,
  signal: AbortSignal,
  onMessage: (frames: Buffer[]) => boolean,
): Promise<void> {
  const close = () => {
    if (!socket.closed) socket.close()
  }
  signal.addEventListener('abort', close, { once: true })
  try {
    while (!signal.aborted) {
      let frames: Buffer[]
      try {
        frames = await socket.receive()
      } catch (error) {
        if (socket.closed) return
        throw error
      }
      if (!onMessage(frames)) return
    }
  } finally {
    signal.removeEventListener('abort', close)
    close()
    // The socket first, then its monitor (see shared/zmq/socket-monitor.ts).
    stopWatching()
  }
}
