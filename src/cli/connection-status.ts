import { type Event, Observer, type Socket } from 'zeromq'
import type { Endpoint } from '../shared/endpoints'
import { type CliIo, note } from './io'

/** How long a tool waits for its first peer before it says why there is none. */
export const FIRST_PEER_GRACE_MS = 1000

/**
 * Shows on stderr what tap and hz would otherwise hide: "no connection" looks exactly like "no
 * messages" on stdout. After {@link FIRST_PEER_GRACE_MS} with no peer, one line says what the
 * socket is doing (retrying, handshake failed, waiting for a peer to connect); after that, every
 * change of state (connected, lost, handshake failed) gets one line (`report` may put it
 * elsewhere, such as hz's table on a terminal). Returns a stop function to
 * call after the socket is closed (the monitor's receive ends with its socket).
 */
export function watchConnection(
  io: CliIo,
  command: string,
  socket: Socket,
  endpoint: Endpoint,
  report: (text: string) => void = (text) => note(io, command, text),
): () => void {
  let observer: Observer
  try {
    observer = new Observer(socket)
  } catch {
    // A monitor libzmq cannot start now (see shared/zmq/socket-monitor.ts): the tool works without it.
    return () => {}
  }
  let peers = 0
  let state: string | undefined
  let lastSaid: string | undefined
  const say = (text: string) => {
    if (text === lastSaid) return
    lastSaid = text
    report(text)
  }
  // A bound `:*` shows its real port.
  const where = () =>
    endpoint.action === 'bind' ? (socket.lastEndpoint ?? endpoint.address) : endpoint.address
  const timer = setTimeout(() => {
    if (peers > 0) return
    say(
      state ??
        (endpoint.action === 'bind'
          ? `no peer has connected to ${where()} yet`
          : `no connection to ${where()} yet (still connecting)`),
    )
  }, FIRST_PEER_GRACE_MS)
  timer.unref()
  const graceOver = () => performance.now() - startedAt >= FIRST_PEER_GRACE_MS
  const startedAt = performance.now()
  const update = (event: Event) => {
    switch (event.type) {
      case 'handshake':
        peers++
        state = undefined
        say(`connected: ${peers} peer${peers === 1 ? '' : 's'} on ${where()}`)
        return
      case 'disconnect':
        if (peers === 0) return
        peers--
        state = `connection lost: ${peers} peer${peers === 1 ? '' : 's'} on ${where()}${endpoint.action === 'connect' ? '; retrying' : ''}`
        say(state)
        return
      case 'connect:retry':
        state = `no connection to ${where()}: refused or unreachable, retrying (is anything listening there?)`
        break
      case 'handshake:error:protocol':
      case 'handshake:error:auth':
      case 'handshake:error:other':
        state = `handshake with ${where()} failed: ${event.error.message} (a ZeroMQ peer of the right type, without CURVE?)`
        break
      default:
        return
    }
    if (graceOver() && peers === 0) say(state)
  }
  void (async () => {
    while (!observer.closed) {
      try {
        update(await observer.receive())
      } catch {
        return
      }
    }
  })()
  return () => {
    clearTimeout(timer)
    if (!observer.closed) observer.close()
  }
}
