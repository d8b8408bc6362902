// A TCP gate that routes like a Kubernetes Service: a new connection reaches the target only
// while the target's /readyz answers 200 (kube-proxy routes only to ready endpoints, and a
// Service with none refuses new connections). Connections already routed stay up until either
// side closes them, as conntrack keeps them.
import { createConnection, createServer, type Server, type Socket } from 'node:net'

/** Where the gate routes now: the target's port and its health port; undefined: nowhere. */
export interface GateTarget {
  readonly port: number
  readonly healthPort: number
}

export class ReadinessGate {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** New connections routed to a ready target, and refused for want of one. */
  routed = 0
  refused = 0

  private constructor(target: () => GateTarget | undefined) {
    this.#server = createServer({ pauseOnConnect: true }, (client) => {
      this.#track(client)
      void this.#route(client, target())
    })
  }

  /** A gate on an ephemeral 127.0.0.1 port, asking `target()` anew for each connection. */
  static async open(target: () => GateTarget | undefined): Promise<ReadinessGate> {
    const gate = new ReadinessGate(target)
    await new Promise<void>((resolve, reject) => {
      gate.#server.once('error', reject)
      gate.#server.listen(0, '127.0.0.1', () => resolve())
    })
    return gate
  }

  get port(): number {
    const address = this.#server.address()
    if (!address || typeof address === 'string') throw new Error('gate is not listening')
    return address.port
  }

  /** `tcp://127.0.0.1:<port>`: what a peer connects to instead of the Service name. */
  get endpoint(): string {
    return `tcp://127.0.0.1:${this.port}`
  }

  close(): void {
    this.#server.close()
    for (const socket of this.#sockets) socket.destroy()
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    // A peer that resets is routine here (a container stopping); it must not crash the test.
    socket.on('error', () => {})
  }

  async #route(client: Socket, target: GateTarget | undefined): Promise<void> {
    if (!target || !(await isReady(target.healthPort))) {
      this.refused++
      client.destroy()
      return
    }
    this.routed++
    const upstream = createConnection({ host: '127.0.0.1', port: target.port })
    this.#track(upstream)
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.pipe(client)
    client.pipe(upstream)
    client.resume()
  }
}

async function isReady(healthPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${healthPort}/readyz`, {
      signal: AbortSignal.timeout(1000),
    })
    await response.arrayBuffer()
    return response.status === 200
  } catch {
    return false
  }
}
