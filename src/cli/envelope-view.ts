import { decodeEnvelope, publisherId, wallClockNs } from '../shared/envelope'
import { SequenceTracker } from '../shared/sequence-tracker'
import { RunningStats } from './running-stats'

/** What `tap` and `hz` show of a message's envelope (ZMQ_PUB_ENVELOPE, issue 16). */
export interface EnvelopeReading {
  readonly seq: bigint
  readonly publisher: string
  /** Send (sender's wall clock) to now (ours), ms: the two clocks' offset included. */
  readonly delayMs: number
  /** Messages of this publisher and topic that did not arrive before this one. */
  readonly lost: number
  readonly restart: boolean
  readonly duplicate: boolean
}

/** Reads `[topic, payload, envelope]` messages, tracking each stream's sequence as a SUB does. */
export class EnvelopeView {
  readonly #tracker = new SequenceTracker()

  /** The reading of a 3-frame message whose third frame is an envelope, else undefined. */
  read(topic: string, frames: readonly Buffer[]): EnvelopeReading | undefined {
    const frame = frames.length === 3 ? frames[2] : undefined
    if (!frame) return undefined
    const envelope = decodeEnvelope(frame)
    if ('invalid' in envelope) return undefined
    const verdict = this.#tracker.observe(topic, envelope)
    return {
      seq: envelope.seq,
      publisher: publisherId(envelope),
      delayMs: Number(wallClockNs() - envelope.sentAtNs) / 1e6,
      lost: verdict.kind === 'gap' ? verdict.lost : 0,
      restart: verdict.kind === 'restart',
      duplicate: verdict.kind === 'duplicate',
    }
  }
}

/** hz's per-topic delay and loss, for the interval and the whole run. */
export class EnvelopeStats {
  recent = new RunningStats()
  readonly total = new RunningStats()
  lost = 0

  add(reading: EnvelopeReading): void {
    this.recent.add(reading.delayMs)
    this.total.add(reading.delayMs)
    this.lost += reading.lost
  }

  /** The interval's delay, then a new interval. */
  roll(): RunningStats {
    const recent = this.recent
    this.recent = new RunningStats()
    return recent
  }
}
