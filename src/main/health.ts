import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Logger } from '../shared/logger'

/**
 * What one client may hold of the listener. Probes and scrapes are short requests on fresh
 * connections, so these cost them nothing, while 500 idle connections can no longer stay forever.
 */
export interface HttpLimits {
  /** Time to receive a request's headers (Node's `headersTimeout`). */
  readonly headersTimeoutMs: number
  /** Time to receive a whole request (Node's `requestTimeout`). */
  readonly requestTimeoutMs: number
  /** A connection with no traffic for this long is closed. */
  readonly idleTimeoutMs: number
  /** Connections beyond this are refused at once (Node's `maxConnections`). */
  readonly maxConnections: number
}

export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 5000,
  maxConnections: 256,
}

/** What /readyz answers: ready or not, why not, and what works less well than it could. */
export interface Readiness {
  readonly ready: boolean
  /** Why the container cannot serve; empty when ready. */
  readonly reasons: string[]
  /** What is missing without stopping it from serving, such as a SUB with no publisher yet. */
  readonly degraded: string[]
}

export interface HealthSource {
  readiness(): Readiness
  liveness(): { live: boolean; reasons: string[] }
}

/**
 * The /readyz status word: `not ready` (503), `degraded` (200: serving, with something missing,
 * such as a SUB socket's publisher) or `ok` (200).
 */
export function readinessStatus(ready: boolean, degraded: readonly string[]): string {
  if (!ready) return 'not ready'
  return degraded.length > 0 ? 'degraded' : 'ok'
}

/**
 * The one HTTP listener: GET /metrics (Prometheus text), /livez and /readyz (200 or 503 with a
 * JSON body that says why), /info (the container's sockets and counts, JSON). node:http, no
 * framework: four routes do not need one.
 */
export class HealthServer {
  readonly #server: Server
  readonly #log: Logger

  private constructor(server: Server, log: Logger) {
    this.#server = server
    this.#log = log
  }

  static async listen(
    options: { port: number; host: string },
    source: HealthSource,
    /** The registry: made by the caller on first use (start-up need not load prom-client). */
    metrics: () => Registry,
    log: Logger,
    info?: () => unknown,
    limits: HttpLimits = HTTP_LIMITS,
  ): Promise<HealthServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      const json = (ok: boolean, body: Record<string, unknown>) => {
        response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        response.end(`${JSON.stringify(body)}\n`)
      }
      switch (path) {
        case '/livez': {
          const { live, reasons } = source.liveness()
          return json(live, { status: live ? 'ok' : 'failing', reasons })
        }
        case '/readyz': {
          const { ready, reasons, degraded } = source.readiness()
          return json(ready, { status: readinessStatus(ready, degraded), reasons, degraded })
        }
        case '/info':
          if (!info) break
          return json(true, info() as Record<string, unknown>)
        case '/metrics': {
          const registry = metrics()
          registry.metrics().then(
            (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
            (error: unknown) => {
              log.error({ err: error }, 'metrics collection failed')
              response.writeHead(500).end()
            },
          )
          return
        }
      }
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`not found: try /metrics, /livez, /readyz${info ? ', /info' : ''}\n`)
    })
    // Probes hold no connection open: keep-alive would only delay close() at shutdown.
    server.keepAliveTimeout = 0
    server.headersTimeout = limits.headersTimeoutMs
    server.requestTimeout = limits.requestTimeoutMs
    // With no 'timeout' listener, Node destroys a socket idle this long (one that never sends).
    server.timeout = limits.idleTimeoutMs
    server.maxConnections = limits.maxConnections
    server.listen(options.port, options.host)
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error
      }),
    ])
    const address = server.address() as AddressInfo
    log.info({ host: address.address, port: address.port }, 'http listening')
    return new HealthServer(server, log)
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  /** Stops accepting and ends open connections. */
  async close(): Promise<void> {
    const closed = once(this.#server, 'close')
    this.#server.close()
    this.#server.closeAllConnections()
    await closed
    this.#log.debug('http closed')
  }
}
