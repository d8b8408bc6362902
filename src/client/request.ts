import { Request } from 'zeromq'
import { isIpv6Address } from '../shared/endpoints'
import { ZcError } from '../shared/errors'
import type { Payload } from '../shared/service'

export interface RequestOptions {
  /** How long one attempt waits for its reply. */
  readonly timeoutMs?: number
  /** Attempts after the first; each on a fresh socket. */
  readonly retries?: number
  /** CURVE client keys and the server's public key, Z85. */
  readonly curve?: {
    readonly publicKey: string
    readonly secretKey: string
    readonly serverKey: string
  }
  /** Told about each retry (for logging). */
  readonly onRetry?: (attempt: number, error: Error) => void
}

/**
 * A REQ client in the "Lazy Pirate" pattern of the ZeroMQ guide: a request that gets no reply
 * within `timeoutMs` is retried on a new socket, up to `retries` times, so a lost reply or a
 * restarted server never wedges the client (a REQ socket that missed its reply cannot send
 * again). Requests are sent one at a time, in call order.
 *
 * Use it from the main thread (a service's `start`): a pending receive in a receive worker
 * would make that worker unsafe to terminate at shutdown.
 */
export class RequestClient {
  readonly endpoint: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #options: RequestOptions
  #socket: Request | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(endpoint: string, options: RequestOptions = {}) {
    this.endpoint = endpoint
    this.#timeoutMs = options.timeoutMs ?? 1000
    this.#retries = options.retries ?? 3
    this.#options = options
  }

  /**
   * Sends `payload` and resolves with the reply's payload. Rejects with ZC_ERR_REQUEST_FAILED
   * when the server answered with an error, ZC_ERR_REQUEST_TIMEOUT when no attempt got a reply.
   */
  request(payload: Payload): Promise<Buffer> {
    const result = this.#queue.then(() => this.#attempts(payload))
    this.#queue = result.catch(() => undefined)
    return result
  }

  async #attempts(payload: Payload): Promise<Buffer> {
    let lastError: Error | undefined
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (this.#closed)
        throw new ZcError('ZC_ERR_REQUEST_TIMEOUT', `client for ${this.endpoint} is closed`)
      if (attempt > 0 && lastError) this.#options.onRetry?.(attempt, lastError)
      try {
        const socket = this.#open()
        await socket.send(payload)
        const [status, body = Buffer.alloc(0)] = await socket.receive()
        if (String(status) === 'OK') return body
        throw new ZcError('ZC_ERR_REQUEST_FAILED', `${this.endpoint} answered: ${String(body)}`)
      } catch (error) {
        if (error instanceof ZcError) throw error
        // No reply in time (EAGAIN) or a send that could not go out: this socket is spent.
        lastError = error instanceof Error ? error : new Error(String(error))
        this.#discard()
      }
    }
    throw new ZcError(
      'ZC_ERR_REQUEST_TIMEOUT',
      `no reply from ${this.endpoint} after ${this.#retries + 1} attempt${this.#retries === 0 ? '' : 's'} of ${this.#timeoutMs} ms`,
      { cause: lastError },
    )
  }

  #open(): Request {
    if (this.#socket) return this.#socket
    const socket = new Request()
    // Stored first, so a bad key or endpoint below still gets the socket closed (#discard).
    this.#socket = socket
    socket.linger = 0
    socket.receiveTimeout = this.#timeoutMs
    socket.sendTimeout = this.#timeoutMs
    const curve = this.#options.curve
    if (curve) {
      socket.curvePublicKey = curve.publicKey
      socket.curveSecretKey = curve.secretKey
      socket.curveServerKey = curve.serverKey
    }
    if (isIpv6Address(this.endpoint)) socket.ipv6 = true
    socket.connect(this.endpoint)
    return socket
  }

  #discard(): void {
    if (this.#socket && !this.#socket.closed) this.#socket.close()
    this.#socket = undefined
  }

  /** Closes the socket; pending and later requests fail. */
  close(): void {
    this.#closed = true
    this.#discard()
  }
}

/** One request with the Lazy Pirate retries, on a client made and closed for it. */
export async function request(
  endpoint: string,
  payload: Payload,
  options?: RequestOptions,
): Promise<Buffer> {
  const client = new RequestClient(endpoint, options)
  try {
    return await client.request(payload)
  } finally {
    client.close()
  }
}
