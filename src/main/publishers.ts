import { XPublisher } from 'zeromq'
import { ChurnLog } from '../shared/churn-log'
import type { Config, SocketSpec } from '../shared/config'
import { EnvelopeStamper } from '../shared/envelope'
import { errorCode, ZcError } from '../shared/errors'
import { LogThrottle, reportHeldBack } from '../shared/log-throttle'
import type { Logger } from '../shared/logger'
import type { Payload, PublishOptions } from '../shared/service'
import { SOCKET_EVENTS, type SocketEvent } from '../shared/shared-state'
import { validateTopic } from '../shared/topics'
import { attach, createSocket, socketOptions } from '../shared/zmq/attach'
import { monitorSocket } from '../shared/zmq/socket-monitor'
import { LatestValues } from './latest-value'
import { OTHER_TOPIC, type Outbound, type Outgoing, type PublisherStats, statsOf } from './outbound'
import { attachedTo, waitForSubscribers, watchSubscriptions } from './subscriptions'

export { OTHER_TOPIC, type PublishDropReason, type PublisherStats } from './outbound'

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
  readonly #throttle: LogThrottle
  #closed = false
  #rejected = 0

  private constructor(config: Config, log: Logger) {
    this.#config = config
    this.#log = log
    this.#throttle = new LogThrottle({ flush: reportHeldBack(log) })
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
    // attached (logged, counted, and the basis of the subscriber gate).
    const socket = createSocket(
      XPublisher,
      {
        ...socketOptions(this.#config, spec),
        verbosity: 'allSubsUnsubs',
        noDrop: this.#config.xpubNoDrop,
      },
      spec,
    )
    const log = this.#log.child({ socket: spec.name, class: spec.latencyClass })
    const out: Outbound = {
      spec,
      socket,
      endpoints: [],
      subscribers: new Map(),
      publishedByTopic: new Map(),
      dropped: { queue_full: 0, closed: 0, hwm: 0 },
      events: Object.fromEntries(SOCKET_EVENTS.map((e) => [e, 0])) as Record<SocketEvent, number>,
      failed: 0,
      inFlight: 0,
      backlog: [],
      monitor: undefined,
      churn: new ChurnLog(log),
      onSubscribers: undefined,
      // The identity: name and configured endpoints, so two PUBs of one host that feed one SUB
      // differ (their binds cannot be equal), and a restarted one is recognized.
      stamper: spec.envelope
        ? new EnvelopeStamper(
            `${spec.name} ${spec.endpoints.map((e) => `${e.action} ${e.address}`).join(',')}`,
          )
        : undefined,
      latest: new LatestValues(spec.latestTopics ?? []),
    }
    this.#outbound.set(spec.name, out)
    if (this.#config.monitor)
      out.monitor = monitorSocket(socket, log, { count: (kind) => out.events[kind]++ })
    out.endpoints = await attach(socket, spec)
    for (const t of spec.topics) this.#byTopic.set(t, out)
    // Latest value: a new subscriber gets the last message of its topics at once.
    void watchSubscriptions(out, log, (prefix) => {
      if (!this.#closed)
        for (const message of out.latest.forSubscription(prefix)) this.#enqueue(out, message)
    })
    log.info(
      {
        endpoints: spec.endpoints.map((e, i) => `${e.action} ${out.endpoints[i]}`),
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
      out.dropped.closed++
      return false
    }
    // Bounded: the backlog of messages zeromq.js could not take yet (it takes one send at a
    // time, and defers after 512 in one turn). A PUB send completes at once unless libzmq is
    // busy, so this limit is only reached under a flood.
    if (out.backlog.length >= this.#config.publishQueueLimit) {
      out.dropped.queue_full++
      const suppressed = this.#throttle.admit(`full:${out.spec.name}`)
      if (suppressed !== undefined) {
        this.#log.warn(
          { socket: out.spec.name, topic, suppressed, limit: this.#config.publishQueueLimit },
          'publish dropped: queue full',
        )
      }
      return false
    }
    const message: Outgoing = {
      topic,
      payload,
      label: this.#byTopic.get(topic) === out ? topic : OTHER_TOPIC,
      envelope: out.stamper?.next(topic),
    }
    out.latest.remember(topic, message)
    this.#enqueue(out, message)
    if (!this.#firstPublish.has(topic)) {
      this.#firstPublish.add(topic)
      this.#log.info({ socket: out.spec.name, topic, bytes: payload.length }, 'publishing')
    }
    return true
  }

  #enqueue(out: Outbound, message: Outgoing): void {
    // Order is kept: once anything waits in the backlog, new messages wait behind it.
    if (out.backlog.length > 0 || !this.#trySend(out, message)) {
      if (out.backlog.length === 0) this.#scheduleFlush(out)
      out.backlog.push(message)
    }
  }

  /**
   * Hands one message to libzmq. Returns false when zeromq.js is busy: after 512 sends in one
   * turn of the event loop it defers the rest and throws EBUSY for any further send that turn.
   * The message is then not lost, it waits for the next turn (see #scheduleFlush).
   */
  #trySend(out: Outbound, message: Outgoing): boolean {
    out.inFlight++
    try {
      const frames = message.envelope
        ? [message.topic, message.payload, message.envelope]
        : [message.topic, message.payload]
      out.socket.send(frames).then(
        () => {
          out.inFlight--
          out.publishedByTopic.set(
            message.label,
            (out.publishedByTopic.get(message.label) ?? 0) + 1,
          )
        },
        (error: unknown) => {
          out.inFlight--
          this.#sendFailed(out, error)
        },
      )
      return true
    } catch (error) {
      out.inFlight--
      if (errorCode(error) === 'EBUSY') return false
      this.#sendFailed(out, error)
      return true
    }
  }

  #scheduleFlush(out: Outbound): void {
    setImmediate(() => {
      if (this.#closed) return
      while (out.backlog.length > 0) {
        if (!this.#trySend(out, out.backlog[0] as Outgoing)) return this.#scheduleFlush(out)
        out.backlog.shift()
      }
    })
  }

  #sendFailed(out: Outbound, error: unknown): void {
    // With ZMQ_XPUB_NODROP a full high-water mark rejects the send at once with EAGAIN.
    const hwm = errorCode(error) === 'EAGAIN'
    if (hwm) out.dropped.hwm++
    else out.failed++
    const suppressed = this.#throttle.admit(`${hwm ? 'hwm' : 'failed'}:${out.spec.name}`)
    if (suppressed === undefined) return
    if (hwm)
      this.#log.warn(
        { socket: out.spec.name, suppressed },
        'publish dropped: a subscriber is at its high-water mark',
      )
    else this.#log.error({ socket: out.spec.name, err: error, suppressed }, 'publish failed')
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
      this.#log.warn(
        { socket: out.spec.name, topic, declared: out.spec.topics },
        `topic not declared in ${out.spec.envPrefix}_TOPICS`,
      )
    }
    return out
  }

  /** Subscribers of a socket (see {@link attachedTo}). */
  attached(socket: string): number {
    const out = this.#outbound.get(socket)
    return out ? attachedTo(out) : 0
  }

  /** Whether every socket with `_MIN_SUBSCRIBERS` has that many attached. */
  gateUnmet(): Array<{ socket: string; attached: number; required: number }> {
    return [...this.#outbound.values()]
      .filter((o) => attachedTo(o) < o.spec.minSubscribers)
      .map((o) => ({
        socket: o.spec.name,
        attached: attachedTo(o),
        required: o.spec.minSubscribers,
      }))
  }

  /** See {@link waitForSubscribers}. */
  waitForSubscribers(): Promise<string[]> {
    return waitForSubscribers([...this.#outbound.values()], this.#log)
  }

  /** Publishes refused with an error: invalid topic, or no socket for it. */
  get rejected(): number {
    return this.#rejected
  }

  stats(): PublisherStats[] {
    return [...this.#outbound.values()].map(statsOf)
  }

  /** Closes every PUB socket with the configured linger. Idempotent. */
  close(): void {
    this.#closed = true
    for (const out of this.#outbound.values()) {
      // Accepted but never handed to libzmq: counted, not lost silently.
      out.dropped.closed += out.backlog.length
      out.backlog.length = 0
      if (!out.socket.closed) out.socket.close()
      // After the socket, never before (see Monitor).
      out.monitor?.close()
    }
  }
}
