import { XPublisher } from 'zeromq'
import { attach } from './attach'
import type { Config, SocketSpec } from './config'
import { ZcError } from './errors'
import { type Logger, LogThrottle } from './logger'
import type { Payload, PublishOptions } from './service'
import { validateTopic } from './topics'

export interface PublisherStats {
  readonly socket: string
  /** Addresses as libzmq resolved them (a bound `*` port shows the real port). */
  readonly endpoints: readonly string[]
  published: number
  /** Dropped because too many sends were in flight, or publishing had stopped. */
  dropped: number
  /** send() rejected by libzmq. */
  failed: number
}

interface Outbound {
  readonly spec: SocketSpec
  readonly socket: XPublisher
  readonly stats: PublisherStats
  /** Subscribers per subscription prefix, as seen in the XPUB's subscription frames. */
  readonly subscribers: Map<string, number>
  inFlight: number
  /** Settle callbacks of a send, made once per socket rather than per message. */
  readonly sent: () => void
  readonly failed: (error: unknown) => void
}

/**
 * The PUB sockets, all owned by the main thread: workers forward their publishes here, so no
 * socket is ever touched by two threads. Each topic goes to the socket that declares it.
 */
export class Publishers {
  readonly #config: Config
  readonly #log: Logger
  readonly #outbound = new Map<string, Outbound>()
  readonly #byTopic = new Map<string, Outbound>()
  readonly #warnedUndeclared = new Set<string>()
  readonly #firstPublish = new Set<string>()
  readonly #throttle = new LogThrottle()
  #closed = false
  #rejected = 0

  private constructor(config: Config, log: Logger) {
    this.#config = config
    this.#log = log
  }

  /** Creates and binds (or connects) every PUB socket of `config`. */
  static async open(config: Config, log: Logger): Promise<Publishers> {
    const publishers = new Publishers(config, log)
    try {
      for (const spec of config.sockets.filter((s) => s.kind === 'pub')) await publishers.#add(spec)
    } catch (error) {
      publishers.close()
      throw error
    }
    return publishers
  }

  get size(): number {
    return this.#outbound.size
  }

  async #add(spec: SocketSpec): Promise<void> {
    // An XPUB rather than a PUB: it sends the same, and its subscription frames show who is
    // attached (logged, and the basis of waiting for subscribers before publishing).
    const socket = new XPublisher({ linger: this.#config.lingerMs, verbosity: 'allSubsUnsubs' })
    const stats: PublisherStats = {
      socket: spec.name,
      endpoints: [],
      published: 0,
      dropped: 0,
      failed: 0,
    }
    const outbound: Outbound = {
      spec,
      socket,
      stats,
      subscribers: new Map(),
      inFlight: 0,
      sent: () => {
        outbound.inFlight--
        stats.published++
      },
      failed: (error) => {
        outbound.inFlight--
        this.#sendFailed(outbound, error)
      },
    }
    this.#outbound.set(spec.name, outbound)
    const endpoints = await attach(socket, spec)
    Object.assign(stats, { endpoints })
    for (const t of spec.topics) this.#byTopic.set(t, outbound)
    void this.#watchSubscriptions(outbound)
    this.#log.info(
      {
        socket: spec.name,
        class: spec.latencyClass,
        endpoints: spec.endpoints.map((e, i) => `${e.action} ${endpoints[i]}`),
        topics: spec.topics,
      },
      'publisher ready',
    )
  }

  /**
   * Sends `[topic, payload]`. Throws ZC_ERR_TOPIC_INVALID or ZC_ERR_NO_PUBLISHER (counted); returns
   * false when the message was dropped (too many sends in flight, or publishing has stopped).
   */
  publish(topic: string, payload: Payload, options?: PublishOptions): boolean {
    const out = this.#route(topic, options)
    if (this.#closed) {
      out.stats.dropped++
      return false
    }
    // zeromq.js allows a bounded number of sends in flight per socket (EBUSY past 512); a PUB
    // send resolves at once unless libzmq is busy, so this limit is only reached under a flood.
    if (out.inFlight >= this.#config.publishQueueLimit) {
      out.stats.dropped++
      const suppressed = this.#throttle.admit(`full:${out.spec.name}`)
      if (suppressed !== undefined)
        this.#log.warn(
          { socket: out.spec.name, topic, suppressed, limit: this.#config.publishQueueLimit },
          'publish dropped: queue full',
        )
      return false
    }
    out.inFlight++
    try {
      out.socket.send([topic, payload]).then(out.sent, out.failed)
    } catch (error) {
      // zeromq.js throws EBUSY synchronously past 512 sends in flight.
      out.inFlight--
      this.#sendFailed(out, error)
      return false
    }
    if (!this.#firstPublish.has(topic)) {
      this.#firstPublish.add(topic)
      this.#log.info({ socket: out.spec.name, topic, bytes: payload.length }, 'publishing')
    }
    return true
  }

  #sendFailed(out: Outbound, error: unknown): void {
    out.stats.failed++
    const suppressed = this.#throttle.admit(`failed:${out.spec.name}`)
    if (suppressed !== undefined)
      this.#log.error({ socket: out.spec.name, err: error, suppressed }, 'publish failed')
  }

  #route(topic: string, options?: PublishOptions): Outbound {
    const declared = this.#byTopic.get(topic)
    if (declared && (!options?.socket || options.socket === declared.spec.name)) return declared
    try {
      validateTopic(topic)
    } catch (error) {
      this.#rejected++
      throw error
    }
    let out: Outbound | undefined
    if (options?.socket) out = this.#outbound.get(options.socket)
    else if (this.#outbound.size === 1) out = this.#outbound.values().next().value
    if (!out) {
      this.#rejected++
      const why = options?.socket
        ? `there is no PUB socket named "${options.socket}"`
        : this.#outbound.size === 0
          ? 'no PUB socket is configured'
          : 'no PUB socket declares it in ZMQ_PUB_*_TOPICS; pass { socket } to choose one'
      throw new ZcError('ZC_ERR_NO_PUBLISHER', `cannot publish ${topic}: ${why}`)
    }
    if (!this.#warnedUndeclared.has(topic) && !declared) {
      this.#warnedUndeclared.add(topic)
      if (out.spec.topics.length > 0)
        this.#log.warn(
          { socket: out.spec.name, topic, declared: out.spec.topics },
          `topic not declared in ${out.spec.envPrefix}_TOPICS`,
        )
    }
    return out
  }

  /** Publishes refused with an error: invalid topic, or no socket for it. */
  get rejected(): number {
    return this.#rejected
  }

  /** Reads subscription frames (`\x01topic` / `\x00topic`) until the socket closes. */
  async #watchSubscriptions(out: Outbound): Promise<void> {
    for (;;) {
      let frames: Buffer[]
      try {
        frames = await out.socket.receive()
      } catch {
        // Only close() ends this loop: an XPUB has no receive timeout set.
        return
      }
      const frame = frames[0]
      if (!frame || frame.length === 0 || (frame[0] !== 0 && frame[0] !== 1)) continue
      const prefix = frame.subarray(1).toString('latin1')
      const before = out.subscribers.get(prefix) ?? 0
      const after = frame[0] === 1 ? before + 1 : Math.max(0, before - 1)
      if (after === 0) out.subscribers.delete(prefix)
      else out.subscribers.set(prefix, after)
      this.#log.info(
        { socket: out.spec.name, subscription: prefix, subscribers: after },
        frame[0] === 1 ? 'subscriber attached' : 'subscriber detached',
      )
    }
  }

  /** Subscribers attached per subscription prefix, by PUB socket name. */
  subscribers(): Record<string, Record<string, number>> {
    return Object.fromEntries(
      [...this.#outbound].map(([name, o]) => [name, Object.fromEntries(o.subscribers)]),
    )
  }

  stats(): PublisherStats[] {
    return [...this.#outbound.values()].map((o) => ({ ...o.stats }))
  }

  /** Closes every PUB socket with the configured linger. Idempotent. */
  close(): void {
    this.#closed = true
    for (const out of this.#outbound.values()) if (!out.socket.closed) out.socket.close()
  }
}
