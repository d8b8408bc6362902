import { Subscriber, XPublisher } from 'zeromq'

/**
 * A test-side publisher on an ephemeral loopback port. It is an XPUB, so the test knows a
 * subscriber is attached when its subscription frame arrives, instead of sleeping past the
 * slow joiner.
 */
export class TestPublisher {
  readonly socket = new XPublisher({ linger: 0 })
  endpoint = ''

  async bind(address = 'tcp://127.0.0.1:*'): Promise<this> {
    await this.socket.bind(address)
    this.endpoint = this.socket.lastEndpoint as string
    return this
  }

  /** Waits until a subscription for every one of `topics` has arrived (frames `\x01topic`). */
  async subscribed(...topics: string[]): Promise<void> {
    const missing = new Set(topics)
    while (missing.size > 0) {
      const [frame] = await this.socket.receive()
      if (frame && frame[0] === 1) missing.delete(frame.subarray(1).toString())
    }
  }

  send(frames: Array<string | Buffer>): Promise<void> {
    return this.socket.send(frames)
  }

  close(): void {
    this.socket.close()
  }
}

/** A test-side subscriber with a receive timeout, so a missing message fails instead of hanging. */
export class TestSubscriber {
  readonly socket: Subscriber

  constructor(endpoint: string, topics: string[], receiveTimeoutMs = 5000) {
    this.socket = new Subscriber({ linger: 0, receiveTimeout: receiveTimeoutMs })
    this.socket.connect(endpoint)
    for (const t of topics) this.socket.subscribe(t)
  }

  async receive(): Promise<[string, Buffer]> {
    const frames = await this.socket.receive()
    return [String(frames[0]), frames[1] as Buffer]
  }

  close(): void {
    this.socket.close()
  }
}
