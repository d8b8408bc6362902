import type { Socket } from 'zeromq'
import type { Config, SocketSpec } from '../config'
import { isIpv6Address } from '../endpoints'
import { errorCode, ZcError } from '../errors'
import { describeAddressFailure } from '../failure-cause'

/**
 * Binds or connects `socket` to every endpoint of `spec`, in order. Returns the addresses as
 * libzmq resolved them (a bound `:*` shows its real port). A failure is ZC_ERR_BIND_FAILED
 * naming the variable and the address; the socket is left for the caller to close.
 */
export async function attach(
  socket: Socket,
  spec: SocketSpec,
  beforeBind?: () => void,
): Promise<string[]> {
  const resolved: string[] = []
  for (const e of spec.endpoints) {
    try {
      if (e.action === 'bind') {
        beforeBind?.()
        await bindOnce(socket, e.address)
        resolved.push(socket.lastEndpoint ?? e.address)
      } else {
        socket.connect(e.address)
        resolved.push(e.address)
      }
    } catch (error) {
      throw new ZcError(
        'ZC_ERR_BIND_FAILED',
        `${spec.envPrefix}_ENDPOINT: cannot ${e.action} ${e.address}: ${describeAddressFailure(error, e.address)}`,
        {
          cause: error,
        },
      )
    }
  }
  return resolved
}

/**
 * One bind, asked twice when libzmq answers EAGAIN. A failed bind reports itself to the socket's
 * monitor before it returns, and that report can overwrite libzmq's errno while the monitor's
 * own connection is still being set up (seen on a loaded machine: a port in use came back as
 * EAGAIN, "Operation was not possible or timed out", instead of EADDRINUSE). The second answer,
 * a moment later, carries the real cause, or succeeds if the address came free.
 */
async function bindOnce(socket: Socket, address: string): Promise<void> {
  try {
    await socket.bind(address)
  } catch (error) {
    if (errorCode(error) !== 'EAGAIN') throw error
    await new Promise((resolve) => setImmediate(resolve))
    await socket.bind(address)
  }
}

/**
 * Options every container socket gets from the environment: linger, reconnect, heartbeats,
 * high-water marks, the socket's CURVE keys and role, and IPv6 for IPv6 endpoints.
 */
export function socketOptions(config: Config, spec: SocketSpec) {
  const hb = config.heartbeat
  const curve = spec.curve
  return {
    linger: config.lingerMs,
    // A SUB only receives; an XPUB sends (and receives subscription frames).
    ...(spec.kind === 'pub'
      ? { sendHighWaterMark: config.sendHwm }
      : { receiveHighWaterMark: config.receiveHwm }),
    ...(curve
      ? {
          curveServer: curve.role === 'server',
          curvePublicKey: curve.publicKey,
          curveSecretKey: curve.secretKey,
          ...(curve.role === 'client'
            ? { curveServerKey: curve.serverKey }
            : // Enforced: with no ZAP handler answering (it closed first at a forced stop, say),
              // libzmq would otherwise let every CURVE client in.
              { zapDomain: 'zmq-container', zapEnforceDomain: true }),
        }
      : {}),
    // Mixed lists work too: with the option on, IPv4 addresses are reached as IPv4-mapped ones.
    ...(spec.endpoints.some((e) => isIpv6Address(e.address)) ? { ipv6: true } : {}),
    reconnectInterval: config.reconnectIntervalMs,
    reconnectMaxInterval: config.reconnectIntervalMaxMs,
    ...(hb
      ? {
          heartbeatInterval: hb.intervalMs,
          heartbeatTimeout: hb.timeoutMs,
          heartbeatTimeToLive: hb.ttlMs,
        }
      : {}),
  }
}

/**
 * Creates a socket and sets its options one by one. zeromq.js sockets whose constructor throws
 * on an option leave a half-built native socket behind that crashes the process (SIGSEGV) when
 * collected; a socket built bare and configured after cannot, and is closed on a bad option.
 */
export function createSocket<S extends Socket>(
  Type: new () => S,
  options: Readonly<Record<string, unknown>>,
  spec: SocketSpec,
): S {
  const socket = new Type()
  for (const [name, value] of Object.entries(options)) {
    try {
      ;(socket as unknown as Record<string, unknown>)[name] = value
    } catch (error) {
      socket.close()
      const problem = error instanceof Error ? error.message : String(error)
      throw new ZcError(
        'ZC_ERR_BIND_FAILED',
        `${spec.envPrefix}: socket option ${name} rejected: ${problem}`,
        { cause: error },
      )
    }
  }
  return socket
}
