import type { Envelope } from './envelope'

/** What one enveloped message means for its stream (publisher + topic). */
export type SequenceVerdict =
  | { readonly kind: 'first' }
  | { readonly kind: 'next' }
  /** `lost` messages of this stream never arrived (a gap in the sequence). */
  | { readonly kind: 'gap'; readonly lost: number }
  /** Seen before (a latest-value resend, or a replay): dropped as `duplicate`. */
  | { readonly kind: 'duplicate' }
  /** Same source, new epoch: the publisher restarted; its sequence starts again, no loss counted. */
  | { readonly kind: 'restart' }

interface Stream {
  epoch: number
  last: bigint
}

/**
 * Streams kept at most; past it the oldest goes (first seen, not least recently: reordering the
 * map on every message would cost more than the rest of the tracking).
 */
const MAX_STREAMS = 10_000

/**
 * Per publisher and topic, the last sequence seen: gaps are loss, a number at or below the last
 * is a duplicate, and a new epoch of a known source is a restart (not loss). Bounded memory: an
forgotten stream that comes back counts as `first`, losing no message but any gap at that point.
 */
export class SequenceTracker {
  readonly #streams = new Map<string, Stream>()

  observe(topic: string, envelope: Envelope): SequenceVerdict {
    const key = `${envelope.source}:${topic}`
    const stream = this.#streams.get(key)
    if (!stream) {
      this.#remember(key, { epoch: envelope.epoch, last: envelope.seq })
      return { kind: 'first' }
    }
    if (stream.epoch !== envelope.epoch) {
      stream.epoch = envelope.epoch
      stream.last = envelope.seq
      return { kind: 'restart' }
    }
    if (envelope.seq <= stream.last) return { kind: 'duplicate' }
    const lost = Number(envelope.seq - stream.last - 1n)
    stream.last = envelope.seq
    return lost === 0 ? { kind: 'next' } : { kind: 'gap', lost }
  }

  #remember(key: string, stream: Stream): void {
    if (this.#streams.size >= MAX_STREAMS) {
      const oldest = this.#streams.keys().next().value
      if (oldest !== undefined) this.#streams.delete(oldest)
    }
    this.#streams.set(key, stream)
  }
}
