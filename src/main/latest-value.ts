/**
 * `ZMQ_PUB[_<NAME>]_LATEST_TOPICS`: the last message sent on each such topic, kept so that a new
 * subscription for it (seen by the XPUB) gets it again at once, like ROS 2's transient-local
 * durability with a depth of 1. Pub/sub fans out, so subscribers already attached get the resend
 * too: with the envelope on they drop it by sequence (`duplicate`); without, they see it twice.
 */
export class LatestValues<M> {
  readonly #topics: ReadonlySet<string>
  readonly #last = new Map<string, M>()

  constructor(topics: readonly string[]) {
    this.#topics = new Set(topics)
  }

  /** Keeps `message` if `topic` is a latest-value topic (one entry per topic: bounded). */
  remember(topic: string, message: M): void {
    if (this.#topics.has(topic)) this.#last.set(topic, message)
  }

  /** The messages a new subscription to `prefix` should get again (ZeroMQ matches by prefix). */
  forSubscription(prefix: string): M[] {
    return [...this.#last].filter(([topic]) => topic.startsWith(prefix)).map(([, m]) => m)
  }
}
