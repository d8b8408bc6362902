import path from 'node:path'
import { errorCode } from './errors'

/**
 * Why a bind, connect or listen failed, in words an operator can act on, instead of libzmq's
 * "No such endpoint" or "Address already in use". `address` is the endpoint as configured
 * (`tcp://127.0.0.1:7001`, `ipc:///run/x/sock`) or a `host:port`.
 */
export function describeAddressFailure(error: unknown, address: string): string {
  const code = errorCode(error)
  const ipcPath = address.startsWith('ipc://') ? address.slice('ipc://'.length) : undefined
  const hostPort = address.replace(/^[a-z]+:\/\//, '')
  switch (code) {
    case 'EADDRINUSE':
      return ipcPath
        ? `${ipcPath} is already in use by another socket`
        : `address ${hostPort} is already in use (another process, or another container, listens there)`
    case 'ENOENT':
      return ipcPath
        ? `directory ${path.dirname(ipcPath)} does not exist (create it, or mount a volume there)`
        : `${hostPort} does not exist`
    case 'EACCES':
    case 'EPERM':
      return ipcPath
        ? `permission denied: this user may not create ${ipcPath} in ${path.dirname(ipcPath)}`
        : `permission denied on ${hostPort} (ports below 1024 need privileges)`
    case 'EADDRNOTAVAIL':
      return `no network interface of this host has the address of ${hostPort}`
    case 'ENODEV':
      return `${hostPort} names no local interface or address; a binding socket needs *, an IP address, localhost or an interface name (to reach a peer, connect with >)`
    default: {
      const message = error instanceof Error ? error.message : String(error)
      return code !== undefined ? `${message} (${code})` : message
    }
  }
}
