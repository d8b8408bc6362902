import { ZcError } from './errors'

/** The seed's limit (3.1): a topic is at most 64 characters. */
export const MAX_TOPIC_LENGTH = 64

// `<component>.<message_type>`: ASCII alphanumeric segments joined by single dots.
const TOPIC_RE = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+$/
// A subscription may also end in `.`: an explicit prefix (`camera.` takes every camera topic).
const SUBSCRIPTION_RE = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*\.?$/

/** Why a string is not a valid topic, or undefined when it is one. */
export function topicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'is empty'
  if (topic.length > MAX_TOPIC_LENGTH)
    return `is ${topic.length} characters, the limit is ${MAX_TOPIC_LENGTH}`
  if (!TOPIC_RE.test(topic))
    return 'must be <component>.<message_type>: ASCII letters and digits joined by single dots'
  return undefined
}

export function subscriptionProblem(subscription: string): string | undefined {
  if (subscription.length === 0) return 'is empty'
  if (subscription.length > MAX_TOPIC_LENGTH)
    return `is ${subscription.length} characters, the limit is ${MAX_TOPIC_LENGTH}`
  if (!SUBSCRIPTION_RE.test(subscription) || subscription === '.')
    return 'must be a topic, or a prefix ending in "." such as camera.'
  return undefined
}

/** Throws ZC_ERR_TOPIC_INVALID unless `topic` follows the topic rules. */
export function validateTopic(topic: string): string {
  const problem = topicProblem(topic)
  if (problem !== undefined)
    throw new ZcError('ZC_ERR_TOPIC_INVALID', `invalid topic ${JSON.stringify(topic)}: ${problem}`)
  return topic
}

export function isPrefixSubscription(subscription: string): boolean {
  return subscription.endsWith('.')
}

const DOT = 0x2e

/**
 * True when `bytes` are a valid topic: checked on the raw frame so a hostile or binary topic is
 * rejected without decoding it (every valid topic is ASCII, so it is also valid UTF-8).
 */
export function isTopicBytes(bytes: Uint8Array): boolean {
  const n = bytes.length
  if (n === 0 || n > MAX_TOPIC_LENGTH) return false
  let segmentLength = 0
  let dots = 0
  for (let i = 0; i < n; i++) {
    const c = bytes[i] as number
    if (c === DOT) {
      if (segmentLength === 0) return false
      segmentLength = 0
      dots++
    } else if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
      segmentLength++
    } else {
      return false
    }
  }
  return dots > 0 && segmentLength > 0
}

/**
 * ZeroMQ subscriptions match by prefix: subscribing `camera.cmd` also delivers `camera.cmdx`.
 * This matcher restores exact matching, keeping prefix matching only for subscriptions that ask
 * for it by ending in `.`.
 */
export class TopicMatcher {
  /** Exact subscriptions, each with its index in the list given. */
  readonly #exact: ReadonlyMap<string, number>
  readonly #prefixes: ReadonlyArray<readonly [string, number]>
  /**
   * The same subscriptions as bytes, for matching a received topic frame without decoding it
   * first: exact ones grouped by length, indexed by it (most frames are ruled out by their
   * length alone; a subscription is at most MAX_TOPIC_LENGTH bytes).
   */
  readonly #exactBytesByLength: ReadonlyArray<ReadonlyArray<readonly [Buffer, number]> | undefined>
  readonly #prefixBytes: ReadonlyArray<readonly [Buffer, number]>
  /** By index: the subscription when it is an exact one, else undefined (see exactTopicAt). */
  readonly #exactAt: ReadonlyArray<string | undefined>

  constructor(subscriptions: readonly string[]) {
    const exact = new Map<string, number>()
    const prefixes: Array<[string, number]> = []
    subscriptions.forEach((s, i) => {
      if (isPrefixSubscription(s)) prefixes.push([s, i])
      else if (!exact.has(s)) exact.set(s, i)
    })
    this.#exact = exact
    this.#prefixes = prefixes
    this.#exactAt = subscriptions.map((s) => (isPrefixSubscription(s) ? undefined : s))
    const byLength: Array<Array<[Buffer, number]> | undefined> = []
    for (const [s, i] of exact) {
      // Only a topic the rules allow: a frame that matched one is taken as valid without a scan
      // (exactIndexOfBytes). The container's subscriptions all are (containerSubscriptionProblem
      // in config/validators.ts); a tool's bare `camera` is matched by indexOf alone.
      if (topicProblem(s) !== undefined) continue
      const bytes = Buffer.from(s, 'latin1')
      const group = byLength[bytes.length] ?? []
      group.push([bytes, i])
      byLength[bytes.length] = group
    }
    this.#exactBytesByLength = byLength
    this.#prefixBytes = prefixes.map(([s, i]) => [Buffer.from(s, 'latin1'), i] as const)
  }

  /**
   * As {@link indexOf}, on a topic frame's raw bytes (already checked by isTopicBytes, so ASCII).
   * Matching on bytes spares the hot path a string per message: an exact match's topic string
   * is the subscription's own ({@link exactTopicAt}); only a prefix match needs decoding.
   */
  indexOfBytes(topic: Uint8Array): number {
    const exact = this.exactIndexOfBytes(topic)
    if (exact !== -1) return exact
    for (const [prefix, i] of this.#prefixBytes)
      if (prefix.length <= topic.length && startsWithBytes(topic, prefix)) return i
    return -1
  }

  /**
   * The index of the exact subscription whose bytes `topic` is, or -1. Any bytes may be given:
   * a match is a subscription, so it follows the topic rules (checked where subscriptions enter).
   */
  exactIndexOfBytes(topic: Uint8Array): number {
    const group = this.#exactBytesByLength[topic.length]
    if (group !== undefined)
      for (const [bytes, i] of group) if (startsWithBytes(topic, bytes)) return i
    return -1
  }

  /** The subscription at `index` when it is an exact one (the topic it matched), else undefined. */
  exactTopicAt(index: number): string | undefined {
    return this.#exactAt[index]
  }

  matches(topic: string): boolean {
    return this.indexOf(topic) !== -1
  }

  /** The index of the subscription that takes `topic` (exact first, then a prefix), or -1. */
  indexOf(topic: string): number {
    const exact = this.#exact.get(topic)
    if (exact !== undefined) return exact
    for (const [prefix, i] of this.#prefixes) if (topic.startsWith(prefix)) return i
    return -1
  }
}

/** Whether `bytes` begins with `prefix` (`prefix` no longer than `bytes`); compared from the end,
 * where topics sharing a component differ. A loop: for topics this short it beats a native call. */
function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let k = prefix.length - 1; k >= 0; k--) if (bytes[k] !== prefix[k]) return false
  return true
}
