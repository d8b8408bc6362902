import { setTimeout as delay } from 'node:timers/promises'
import { Subscriber, XPublisher } from 'zeromq'
import { RequestClient } from '../client/request'
import { createMetrics } from '../main/metrics'
import { type CloseResult, Supervisor } from '../main/supervisor'
import { type ReplayOptions, type ReplaySummary, replayInto } from '../recording/replay'
import { type Config, loadConfig, type SocketSpec } from '../shared/config'
import type { Payload } from '../shared/service'
import type { CounterSnapshot } from '../shared/shared-state'
import { assignEndpoints, type HarnessEndpoint } from './harness-env'
import { type MemoryLog, memoryLog } from './memory-log'

/** What {@link startContainer} runs. */
export interface StartContainerOptions {
  /**
   * The service module, as `ZC_SERVICE` takes it: a path (a `.ts` file needs a TypeScript loader
   * that reaches worker threads, such as `node --require tsx/cjs --test`) or a built-in example
   * name. Overrides `env.ZC_SERVICE`; neither runs the logging service.
   */
  readonly service?: string
  /**
   * The container's environment, as its process would get it. A SUB or PUB socket declared by its
   * `*_TOPICS` alone, or any socket whose `*_ENDPOINT` is `auto`, gets an endpoint from the
   * harness, with the test's peer on the other side.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** How long `receive()` and `request()` wait by default. Default 5000 ms. */
  readonly timeoutMs?: number
}

/** One message the container published, as the test's subscriber got it. */
export interface ReceivedMessage {
  readonly topic: string
  readonly payload: Buffer
}

/** Picks one of the container's sockets by name (`sub`, `pub`, or the lower-cased `<NAME>`). */
export interface SocketChoice {
  /** Needed only when the container has several sockets of that kind. */
  readonly socket?: string
}

/** A container running in this process, and the test's peers wired to it. */
export interface TestContainer {
  readonly config: Config
  readonly supervisor: Supervisor
  /** The main thread's log lines (workers log to stdout at LOG_LEVEL, default `warn` here). */
  readonly logs: MemoryLog
  /** What handlers sent with `ctx.toMain`, in arrival order. */
  readonly messages: ReadonlyArray<{ readonly data: unknown; readonly socket: string }>
  /** Sends `[topic, payload]` into a SUB socket of the container. */
  publish(topic: string, payload: Payload, options?: SocketChoice): Promise<void>
  /**
   * Sends raw frames into a SUB socket: how a test feeds the container bad input (one frame,
   * three frames, a topic that is not UTF-8) and checks it is counted as dropped.
   */
  sendFrames(frames: ReadonlyArray<Payload>, options?: SocketChoice): Promise<void>
  /** The next message the container published on one of its PUB sockets. */
  receive(options?: SocketChoice & { readonly timeoutMs?: number }): Promise<ReceivedMessage>
  /** One request to a REP socket of the container; resolves with the reply's payload. */
  request(
    payload: Payload,
    options?: SocketChoice & { readonly timeoutMs?: number },
  ): Promise<Buffer>
  /** Replays an MCAP recording into a SUB socket, waiting for the socket to be attached first. */
  replay(file: string, options?: ReplayOptions & SocketChoice): Promise<ReplaySummary>
  /** Resolves with the first `ctx.toMain` data, past or future, that `match` accepts. */
  nextMessage(match?: (data: unknown, socket: string) => boolean): Promise<unknown>
  /**
   * Resolves with a socket's counters once `count` messages it received are done with (handled
   * or dropped): how a test knows a handler ran when it publishes nothing. What those handlers
   * sent with `ctx.toMain` is in `messages` by then. Rejects after `timeoutMs` (default: the
   * harness's) with the counts so far.
   */
  waitForMessages(
    count: number,
    options?: { readonly socket?: string; readonly timeoutMs?: number },
  ): Promise<CounterSnapshot>
  /** The receive sockets' counters, by socket name: the numbers /metrics shows. */
  counters(): Record<string, CounterSnapshot>
  /** The Prometheus text /metrics would serve now. */
  metrics(): Promise<string>
  /** Stops the container (as a signal would) and closes the test's peers. Idempotent. */
  close(): Promise<CloseResult>
}

let started = 0
/** How often waitForMessages reads the shared counters. */
const POLL_MS = 5

/**
 * Runs a container in this process, with real worker threads and real sockets, for a service's
 * tests: no child process, no ports.
 *
 * ```ts
 * import { startContainer } from 'zmq-container/testing'
 * const container = await startContainer({
 *   service: require.resolve('../src/service'),
 *   env: { ZMQ_SUB_TOPICS: 'robot.cmd', ZMQ_PUB_TOPICS: 'robot.ack' },
 * })
 * await container.publish('robot.cmd', 'go')
 * const { topic } = await container.receive()
 * await container.close()
 * ```
 *
 * It resolves once every socket is up and every peer attached: the test's publishers have the
 * container's subscriptions, and its subscribers are attached to the PUB sockets, so nothing
 * published afterwards is lost to the slow joiner.
 */
export async function startContainer(options: StartContainerOptions = {}): Promise<TestContainer> {
  const id = `${process.pid}-${started++}`
  const { env, endpoints } = assignEndpoints(
    {
      // Quiet workers, no slow-joiner pause: the harness waits on handshakes instead.
      LOG_LEVEL: 'warn',
      ZMQ_SETTLE_MS: '0',
      ...options.env,
      ...(options.service === undefined ? {} : { ZC_SERVICE: options.service }),
    },
    () => id,
  )
  const config = loadConfig(env)
  const logs = memoryLog()
  const supervisor = new Supervisor(config, { log: logs.log })
  const timeoutMs = options.timeoutMs ?? 5000
  const messages: Array<{ data: unknown; socket: string }> = []
  const waiters = new Set<(entry: { data: unknown; socket: string }) => boolean>()
  supervisor.on('workerMessage', (data, socket) => {
    const entry = { data, socket }
    messages.push(entry)
    for (const waiter of waiters) if (waiter(entry)) waiters.delete(waiter)
  })

  const peers = new Peers(config, endpoints, timeoutMs)
  try {
    await peers.bindPublishers()
    // Subscribers connect before the container binds: inproc accepts that order.
    peers.connectSubscribers()
    if (!(await supervisor.start())) throw new Error('the container was closed while starting')
    await Promise.all([peers.waitForSubscriptions(), peers.waitAttached(logs)])
  } catch (error) {
    await supervisor.close('manual')
    peers.close()
    throw error
  }

  let closing: Promise<CloseResult> | undefined
  return {
    config,
    supervisor,
    logs,
    messages,
    publish: (topic, payload, choice) =>
      peers.publisherFor(choice?.socket).send([topic, payload as Buffer]),
    sendFrames: (frames, choice) => peers.publisherFor(choice?.socket).send(frames as Buffer[]),
    receive: async (choice) => {
      const subscriber = peers.subscriberFor(choice?.socket)
      subscriber.receiveTimeout = choice?.timeoutMs ?? timeoutMs
      const [topic, payload = Buffer.alloc(0)] = await subscriber.receive()
      return { topic: String(topic), payload }
    },
    request: (payload, choice) => peers.requestTo(payload, choice?.socket, choice?.timeoutMs),
    replay: (file, replayOptions) => {
      const target = peers.find('SUB', replayOptions?.socket)
      return replayInto(
        file,
        { address: target.harness.replayEndpoint as string, action: 'bind', explicit: true },
        { waitSubscribers: 1, ...replayOptions },
      )
    },
    nextMessage: (match = () => true) => {
      const found = messages.find((m) => match(m.data, m.socket))
      if (found) return Promise.resolve(found.data)
      return new Promise((resolve) =>
        waiters.add((entry) => {
          if (!match(entry.data, entry.socket)) return false
          resolve(entry.data)
          return true
        }),
      )
    },
    waitForMessages: async (count, choice) => {
      const name = choice?.socket ?? peers.onlyReceiveSocket()
      const deadline = performance.now() + (choice?.timeoutMs ?? timeoutMs)
      for (;;) {
        const counts = supervisor.counters()[name]
        if (!counts) throw new Error(`no receive socket "${name}"`)
        if (counts.handled + counts.droppedTotal >= count) {
          // A handler's ctx.toMain data was posted before its message was counted, but the main
          // thread takes port messages in its poll phase: one turn of the event loop (poll, then
          // this check-phase callback) delivers them to `messages` before the test reads it.
          await new Promise((resolve) => setImmediate(resolve))
          return supervisor.counters()[name] ?? counts
        }
        if (performance.now() >= deadline)
          throw new Error(
            `socket ${name}: ${counts.handled} handled and ${counts.droppedTotal} dropped, not ${count}, within the timeout`,
          )
        // The counters are shared memory the workers add to; no event says they changed.
        await delay(POLL_MS)
      }
    },
    counters: () => supervisor.counters(),
    metrics: () => createMetrics(supervisor, { version: 'test' }).metrics(),
    close: () => {
      closing ??= supervisor.close('manual').finally(() => peers.close())
      return closing
    },
  }
}

interface Wired {
  readonly spec: SocketSpec
  readonly harness: HarnessEndpoint
}

/** The test's side of every socket the harness wired. */
class Peers {
  readonly #wired: Wired[]
  readonly #timeoutMs: number
  readonly #publishers = new Map<string, XPublisher>()
  readonly #subscribers = new Map<string, Subscriber>()
  readonly #clients = new Map<string, RequestClient>()

  readonly #config: Config

  constructor(config: Config, endpoints: readonly HarnessEndpoint[], timeoutMs: number) {
    this.#config = config
    this.#timeoutMs = timeoutMs
    this.#wired = endpoints.map((harness) => {
      const spec = config.sockets.find((s) => s.envPrefix === harness.envPrefix)
      if (!spec) throw new Error(`no socket was configured from ${harness.envPrefix}_*`)
      return { spec, harness }
    })
  }

  find(direction: HarnessEndpoint['direction'], name: string | undefined): Wired {
    const candidates = this.#wired.filter((w) => w.harness.direction === direction)
    const names = candidates.map((w) => w.spec.name).join(', ') || 'none'
    if (name === undefined) {
      if (candidates.length === 1) return candidates[0] as Wired
      throw new Error(
        `the container has several ${direction} sockets the harness wired (${names}): pass { socket }`,
      )
    }
    const found = candidates.find((w) => w.spec.name === name)
    if (!found)
      throw new Error(
        `no ${direction} socket "${name}" wired by the harness; the wired ones are: ${names}`,
      )
    return found
  }

  async bindPublishers(): Promise<void> {
    for (const w of this.#wired.filter((x) => x.harness.direction === 'SUB')) {
      const socket = new XPublisher({ linger: 0 })
      this.#publishers.set(w.spec.name, socket)
      await socket.bind(w.harness.endpoint)
    }
  }

  connectSubscribers(): void {
    for (const w of this.#wired.filter((x) => x.harness.direction === 'PUB')) {
      const socket = new Subscriber({ linger: 0, receiveTimeout: this.#timeoutMs })
      this.#subscribers.set(w.spec.name, socket)
      socket.connect(w.harness.endpoint)
      socket.subscribe()
    }
  }

  /** Each SUB socket's subscriptions reached the test's publisher (an XPUB shows them). */
  async waitForSubscriptions(): Promise<void> {
    await Promise.all(
      this.#wired
        .filter((w) => w.harness.direction === 'SUB')
        .map(async (w) => {
          const socket = this.#publishers.get(w.spec.name) as XPublisher
          const missing = new Set(w.spec.topics)
          while (missing.size > 0) {
            const [frame] = await socket.receive()
            if (frame && frame[0] === 1) missing.delete(frame.subarray(1).toString('latin1'))
          }
        }),
    )
  }

  /** Each PUB socket logged the test's subscriber (its subscription to everything). */
  async waitAttached(logs: MemoryLog): Promise<void> {
    await Promise.all(
      this.#wired
        .filter((w) => w.harness.direction === 'PUB')
        .map((w) =>
          logs.waitFor(
            (l) =>
              l.msg === 'subscriber attached' && l.socket === w.spec.name && l.subscription === '',
          ),
        ),
    )
  }

  /** The name of the container's only receive (SUB or REP) socket; throws when there are several. */
  onlyReceiveSocket(): string {
    const names = this.#config.sockets.filter((s) => s.kind !== 'pub').map((s) => s.name)
    if (names.length === 1) return names[0] as string
    throw new Error(
      `the container has ${names.length} receive sockets (${names.join(', ') || 'none'}): pass { socket }`,
    )
  }

  publisherFor(name: string | undefined): XPublisher {
    return this.#publishers.get(this.find('SUB', name).spec.name) as XPublisher
  }

  subscriberFor(name: string | undefined): Subscriber {
    return this.#subscribers.get(this.find('PUB', name).spec.name) as Subscriber
  }

  requestTo(payload: Payload, name: string | undefined, timeoutMs?: number): Promise<Buffer> {
    const { spec, harness } = this.find('REP', name)
    const key = `${spec.name}:${timeoutMs ?? this.#timeoutMs}`
    let client = this.#clients.get(key)
    if (!client) {
      // No retries: a test wants the first failure, not a slower one.
      client = new RequestClient(harness.endpoint, {
        timeoutMs: timeoutMs ?? this.#timeoutMs,
        retries: 0,
      })
      this.#clients.set(key, client)
    }
    return client.request(payload)
  }

  close(): void {
    for (const socket of [...this.#publishers.values(), ...this.#subscribers.values()])
      socket.close()
    for (const client of this.#clients.values()) client.close()
  }
}
