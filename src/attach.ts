import type { Socket } from 'zeromq'
import type { Config, SocketSpec } from './config'
import { ZcError } from './errors'

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
        await socket.bind(e.address)
        resolved.push(socket.lastEndpoint ?? e.address)
      } else {
        socket.connect(e.address)
        resolved.push(e.address)
      }
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error)
      throw new ZcError(
        'ZC_ERR_BIND_FAILED',
        `${spec.envPrefix}_ENDPOINT: cannot ${e.action} ${e.address}: ${problem}`,
        {
          cause: error,
        },
      )
    }
  }
  return resolved
}

/** Options every container socket gets from the environment (linger, reconnect, heartbeats). */
export function commonSocketOptions(config: Config) {
  const hb = config.heartbeat
  return {
    linger: config.lingerMs,
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
