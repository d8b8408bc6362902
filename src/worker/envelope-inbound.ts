import type { SocketSpec } from '../shared/config'
import { type Envelope, type EnvelopeFields, publisherId } from '../shared/envelope'
import type { Log } from '../shared/log'
import type { LogThrottle } from '../shared/log-throttle'
import { SequenceTracker } from '../shared/sequence-tracker'
import type { SocketCounters } from '../shared/shared-state'
import { DeadlineWatch } from './deadline-watch'

export type InboundVerdict =
  | { readonly duplicate: true }
  | {
      readonly duplicate: false
      readonly fields: EnvelopeFields | undefined
      /** Send to now, in seconds (0 without an envelope): the latency budget counts it. */
      readonly ageSeconds: number
    }

const NOT_ENVELOPED: InboundVerdict = { duplicate: false, fields: undefined, ageSeconds: 0 }

/**
 * The receive side of issue 16 for one SUB socket: per publisher and topic, loss, duplicates and
 * restarts from the envelope's sequence; the age histogram from its send time; and the deadline
 * watch (`_DEADLINE_MS`). The receive loop calls `accept` once per message that passed the frame
 * checks, and nothing else.
 */
export class EnvelopeInbound {
  readonly #spec: SocketSpec
  readonly #counters: SocketCounters
  readonly #log: Log
  readonly #throttle: LogThrottle
  readonly #tracker = new SequenceTracker()
  readonly #deadline: DeadlineWatch | undefined
  #timer: NodeJS.Timeout | undefined
  /** The last publisher's id string, kept: one publisher usually sends many messages in a row. */
  #lastPublisher: { source: number; epoch: number; id: string } | undefined

  constructor(spec: SocketSpec, counters: SocketCounters, log: Log, throttle: LogThrottle) {
    this.#spec = spec
    this.#counters = counters
    this.#log = log
    this.#throttle = throttle
    const { deadlineMs } = spec
    if (deadlineMs !== undefined) {
      const topic = (i: number) => spec.topics[i]
      this.#deadline = new DeadlineWatch(spec.topics.length, deadlineMs, {
        missed: (i, silentMs) => {
          counters.addDeadlineMissed(i)
          counters.addDeadlinesMissing(1)
          log.warn({ topic: topic(i), silentMs, deadlineMs }, 'deadline missed')
        },
        recovered: (i, silentMs) => {
          counters.addDeadlinesMissing(-1)
          log.info({ topic: topic(i), silentMs, deadlineMs }, 'deadline recovered')
        },
      })
      const every = this.#deadline.checkEveryMs
      this.#timer = setInterval(() => this.#deadline?.check(Date.now()), every)
      this.#timer.unref()
    }
  }

  /** Whether this socket needs accept() at all (envelope or deadline configured). */
  static wanted(spec: SocketSpec): boolean {
    return spec.kind === 'sub' && (spec.envelope === true || spec.deadlineMs !== undefined)
  }

  /** One message that passed the frame checks. */
  accept(topic: string, subscription: number, envelope: Envelope | undefined): InboundVerdict {
    const nowMs = performance.timeOrigin + performance.now()
    this.#deadline?.seen(subscription, nowMs)
    if (!this.#spec.envelope) return NOT_ENVELOPED
    if (envelope === undefined) {
      this.#counters.add('unenveloped')
      return NOT_ENVELOPED
    }
    const verdict = this.#tracker.observe(topic, envelope)
    const publisher = this.#publisherOf(envelope)
    switch (verdict.kind) {
      case 'duplicate':
        return { duplicate: true }
      case 'gap': {
        this.#counters.addLost(subscription, verdict.lost)
        const suppressed = this.#throttle.admit(`lost:${topic}`)
        if (suppressed !== undefined)
          this.#log.warn(
            { topic, publisher, lost: verdict.lost, seq: Number(envelope.seq), suppressed },
            'messages lost',
          )
        break
      }
      case 'restart':
        this.#counters.add('publisherRestarts')
        this.#log.info({ topic, publisher, seq: Number(envelope.seq) }, 'publisher restarted')
        break
      default:
    }
    const sentAt = Number(envelope.sentAtNs) / 1e6
    const ageSeconds = (nowMs - sentAt) / 1000
    this.#counters.observeAge(ageSeconds)
    return {
      duplicate: false,
      fields: { seq: Number(envelope.seq), sentAt, publisher },
      ageSeconds: Math.max(0, ageSeconds),
    }
  }

  #publisherOf(envelope: Envelope): string {
    const last = this.#lastPublisher
    if (last?.source === envelope.source && last.epoch === envelope.epoch) return last.id
    const id = publisherId(envelope)
    this.#lastPublisher = { source: envelope.source, epoch: envelope.epoch, id }
    return id
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
