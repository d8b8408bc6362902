import { Router } from 'zeromq'
import { LogThrottle, reportHeldBack } from '../shared/log-throttle'
import type { Logger } from '../shared/logger'

/** libzmq asks for authentication on this address, in the context every thread shares. */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01'
const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#'

/** Z85-encodes a 32-byte key (ZeroMQ RFC 32), to compare with the configured allowlist. */
export function z85Encode(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 4) {
    let value =
      ((bytes[i] ?? 0) * 2 ** 24 +
        ((bytes[i + 1] ?? 0) << 16) +
        ((bytes[i + 2] ?? 0) << 8) +
        (bytes[i + 3] ?? 0)) >>>
      0
    let chunk = ''
    for (let j = 0; j < 5; j++) {
      chunk = (Z85[value % 85] as string) + chunk
      value = Math.floor(value / 85)
    }
    out += chunk
  }
  return out
}

export interface ZapStats {
  accepted: number
  rejected: number
}

/**
 * The ZAP handler (ZeroMQ RFC 27): libzmq sends it every CURVE handshake on a server socket of
 * any thread, and it answers 200 or 400. With an allowlist only listed client keys get in;
 * without one every client that completes the CURVE handshake does (encryption, no
 * authentication). Rejections are logged, throttled, with the peer address, and counted.
 */
export class ZapHandler {
  readonly stats: ZapStats = { accepted: 0, rejected: 0 }
  readonly #router = new Router({ linger: 0 })
  readonly #allow: ReadonlySet<string> | undefined
  readonly #log: Logger
  readonly #throttle: LogThrottle

  private constructor(allow: readonly string[] | undefined, log: Logger) {
    this.#allow = allow ? new Set(allow) : undefined
    this.#log = log
    this.#throttle = new LogThrottle({ flush: reportHeldBack(log) })
  }

  static async start(allow: readonly string[] | undefined, log: Logger): Promise<ZapHandler> {
    const handler = new ZapHandler(allow, log)
    await handler.#router.bind(ZAP_ENDPOINT)
    if (allow) log.info({ clients: allow.length }, 'CURVE authentication: allowlist of client keys')
    else
      log.warn(
        'CURVE without ZMQ_CURVE_ALLOW: any client with a key pair is accepted (encryption only)',
      )
    void handler.#serve()
    return handler
  }

  async #serve(): Promise<void> {
    for (;;) {
      let frames: Buffer[]
      try {
        frames = await this.#router.receive()
      } catch {
        return // closed
      }
      // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
      const [routingId, , version, requestId, , address, , mechanism, credential] = frames
      if (!routingId || !requestId) continue
      let status = '200'
      let reason = 'OK'
      if (String(version) !== '1.0') {
        status = '400'
        reason = 'unsupported ZAP version'
      } else if (String(mechanism) !== 'CURVE' || !credential || credential.length !== 32) {
        status = '400'
        reason = `mechanism ${String(mechanism)} not allowed`
      } else if (this.#allow && !this.#allow.has(z85Encode(credential))) {
        status = '400'
        reason = 'client key not in ZMQ_CURVE_ALLOW'
      }
      if (status === '200') this.stats.accepted++
      else {
        this.stats.rejected++
        const suppressed = this.#throttle.admit(reason)
        if (suppressed !== undefined) {
          const clientKey = credential?.length === 32 ? z85Encode(credential) : undefined
          this.#log.warn(
            { address: String(address), reason, clientKey, suppressed },
            'CURVE handshake rejected',
          )
        }
      }
      try {
        await this.#router.send([routingId, '', '1.0', requestId, status, reason, '', ''])
      } catch {
        return
      }
    }
  }

  close(): void {
    if (!this.#router.closed) this.#router.close()
  }
}
