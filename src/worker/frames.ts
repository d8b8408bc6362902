import { isUtf8 } from 'node:buffer'
import { decodeEnvelope, type Envelope } from '../shared/envelope'
import type { DropReason } from '../shared/shared-state'
import { isTopicBytes, type TopicMatcher } from '../shared/topics'

/** What the receive path makes of one multipart message, before any handler runs. */
export type FrameVerdict =
  | {
      readonly ok: true
      readonly topic: string
      readonly payload: Buffer
      /** The index of the subscription that took it, for the per-subscription counts. */
      readonly subscription: number
      /** The third frame, on a socket with ZMQ_SUB_ENVELOPE (undefined for a 2-frame message). */
      readonly envelope: Envelope | undefined
    }
  | {
      readonly ok: false
      readonly reason: Exclude<DropReason, 'handler_error'>
      readonly details: () => Record<string, unknown>
    }

/**
 * The common message, decided without scanning or allocating: two frames, whose topic is byte
 * for byte one of the socket's exact subscriptions. Such a topic follows the topic rules already
 * (subscriptions are checked where they enter), so {@link classifyFrames} would accept it as it
 * is. Returns that subscription's index, or -1 for classifyFrames to judge the message.
 */
export function exactSubscriptionIndex(frames: readonly Buffer[], matcher: TopicMatcher): number {
  return frames.length === 2 ? matcher.exactIndexOfBytes(frames[0] as Buffer) : -1
}

/**
 * Checks a received message: exactly `[topic, payload]`, a topic that follows the topic rules
 * (checked on the raw bytes, so hostile input is never decoded), and a topic this socket
 * subscribed to exactly (ZeroMQ only matched a prefix). Pure, and never throws.
 * Details for the log are built lazily: only lines the throttle lets through pay for them.
 * With `envelope`, `[topic, payload, envelope]` is accepted too (see shared/envelope.ts).
 */
export function classifyFrames(
  frames: readonly Buffer[],
  matcher: TopicMatcher,
  envelope = false,
): FrameVerdict {
  if (frames.length !== 2 && !(envelope && frames.length === 3))
    return {
      ok: false,
      reason: 'bad_frames',
      details: () => ({
        frames: frames.length,
        // The commonest cause: an enveloped publisher, read by a socket without the envelope.
        ...(frames.length === 3
          ? { hint: 'set _ENVELOPE=true on this SUB to read a 3rd frame' }
          : {}),
      }),
    }
  const [topicFrame, payload, envelopeFrame] = frames as [Buffer, Buffer, Buffer | undefined]
  const decoded = envelopeFrame === undefined ? undefined : decodeEnvelope(envelopeFrame)
  if (decoded !== undefined && 'invalid' in decoded) {
    const problem = decoded.invalid
    return { ok: false, reason: 'bad_frames', details: () => ({ frames: 3, problem }) }
  }
  if (!isTopicBytes(topicFrame)) {
    return {
      ok: false,
      reason: 'invalid_topic',
      details: () => ({
        utf8: isUtf8(topicFrame),
        bytes: topicFrame.length,
        topicHex: topicFrame.subarray(0, 32).toString('hex'),
      }),
    }
  }
  // Matched on the bytes: an exact subscription's own string is the topic, so the common case
  // decodes nothing; a prefix match, or a drop's log line, decodes the frame.
  const subscription = matcher.indexOfBytes(topicFrame)
  if (subscription === -1)
    return {
      ok: false,
      reason: 'unsubscribed',
      details: () => ({ topic: topicFrame.toString('latin1') }),
    }
  const topic = matcher.exactTopicAt(subscription) ?? topicFrame.toString('latin1')
  return { ok: true, topic, payload, subscription, envelope: decoded }
}
