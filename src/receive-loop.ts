import { isUtf8 } from 'node:buffer'
import { performance } from 'node:perf_hooks'
import type { MessagePort } from 'node:worker_threads'
import { Subscriber } from 'zeromq'
import { attach } from './attach'
import { type DropReason, SocketCounters, WorkerState } from './counters'
import { serializeError } from './errors'
import { createLogger, type Logger, LogThrottle } from './logger'
import { assertNever, type FromWorker, type ToWorker, type WorkerInit } from './protocol'
import { type Handler, type HandlerContext, handlerFor, loadService, type Payload } from './service'
import { isTopicBytes, TopicMatcher, validateTopic } from './topics'

/**
 * The body of a receive worker: owns one SUB socket, receives with a bounded timeout, checks
 * frames and runs the service's handler. Lives in src/ so workers/ holds only thread entries.
 *
 * Shutdown rule (zeromq.js#411): terminate() or process.exit() while a receive is pending aborts
 * the whole process. So this thread closes its own socket as soon as it is told to stop, which
 * rejects the pending receive at once, and then simply ends; it never calls process.exit.
 */
export async function runReceiveWorker(init: WorkerInit): Promise<void> {
  const worker = new ReceiveWorker(init)
  await worker.run()
}

class ReceiveWorker {
  readonly #init: WorkerInit
  readonly #port: MessagePort
  readonly #counters: SocketCounters
  readonly #log: Logger
  readonly #throttle = new LogThrottle()
  #socket: Subscriber | undefined
  #stopping = false

  constructor(init: WorkerInit) {
    this.#init = init
    this.#port = init.port
    this.#counters = new SocketCounters(init.counters)
    const { socket } = init
    this.#log = createLogger(init.config.logLevel, {
      socket: socket.name,
      class: socket.latencyClass,
    })
    // The control channel first, so a shutdown sent during start-up is never missed.
    this.#port.on('message', (message: ToWorker) => this.#onControl(message))
    // An error escaping a timer or a stray promise must not kill the thread with a receive
    // pending (that aborts the process): report it, close the socket, and end in order.
    process.on('uncaughtException', (error) => this.#fail(error))
    process.on('unhandledRejection', (error) => this.#fail(error))
  }

  async run(): Promise<void> {
    const spec = this.#init.socket
    let handler: Handler
    try {
      handler = handlerFor(await loadService(this.#init.servicePath), spec.name)
      this.#socket = await this.#openSocket()
    } catch (error) {
      // A shutdown during start-up closes the socket under a pending bind: not a failure.
      if (!this.#stopping)
        this.#post({ type: 'failed', error: serializeError(error), phase: 'start' })
      return this.#finish()
    }
    if (this.#stopping) return this.#finish()
    this.#post({ type: 'ready' })
    try {
      await this.#receiveLoop(this.#socket, handler, new TopicMatcher(spec.topics), this.#context())
    } catch (error) {
      this.#fail(error)
    }
    this.#finish()
  }

  async #openSocket(): Promise<Subscriber> {
    const { socket: spec, config } = this.#init
    const socket = new Subscriber({
      receiveTimeout: config.receiveTimeoutMs,
      linger: config.lingerMs,
    })
    // Stored at once so a shutdown during a slow bind still closes it.
    this.#socket = socket
    try {
      const endpoints = await attach(socket, spec, () => {
        this.#counters.state = WorkerState.Binding
      })
      this.#counters.state = WorkerState.Loading
      // ZeroMQ filters by prefix; exact matching happens in TopicMatcher.
      for (const t of spec.topics) socket.subscribe(t)
      this.#log.info(
        {
          endpoints: spec.endpoints.map((e, i) => `${e.action} ${endpoints[i]}`),
          topics: spec.topics,
        },
        'subscribed',
      )
    } catch (error) {
      this.#closeSocket()
      throw error
    }
    return socket
  }

  async #receiveLoop(
    socket: Subscriber,
    handler: Handler,
    matcher: TopicMatcher,
    ctx: HandlerContext,
  ) {
    const counters = this.#counters
    for (;;) {
      // State first, then the stop flag: the supervisor sets the flag, then reads the state, so
      // one of the two always sees the other's write and never terminates mid-receive.
      counters.state = WorkerState.Receiving
      if (this.#stopping || counters.stopRequested) break
      let frames: Buffer[]
      try {
        frames = await socket.receive()
      } catch (error) {
        // close() and a receive timeout both reject with EAGAIN; `closed` tells them apart.
        if (socket.closed) break
        if ((error as { code?: string }).code === 'EAGAIN') continue
        throw error
      }
      counters.state = WorkerState.Handling
      counters.add('received')
      const pending = this.#dispatch(frames, handler, matcher, ctx)
      // Only an async handler costs an await; a sync one goes straight back to receive.
      if (pending) await pending
    }
  }

  /** Checks the frames and runs the handler; returns a promise only for an async handler. */
  #dispatch(
    frames: Buffer[],
    handler: Handler,
    matcher: TopicMatcher,
    ctx: HandlerContext,
  ): Promise<void> | undefined {
    const receivedAt = performance.now()
    if (frames.length !== 2) return this.#drop('bad_frames', () => ({ frames: frames.length }))
    const [topicFrame, payload] = frames as [Buffer, Buffer]
    if (!isTopicBytes(topicFrame)) {
      return this.#drop('invalid_topic', () => ({
        utf8: isUtf8(topicFrame),
        bytes: topicFrame.length,
        topicHex: topicFrame.subarray(0, 32).toString('hex'),
      }))
    }
    const topic = topicFrame.toString('latin1')
    if (!matcher.matches(topic)) return this.#drop('unsubscribed', () => ({ topic }))
    const spec = this.#init.socket
    let result: void | Promise<void>
    try {
      result = handler(
        { topic, payload, socket: spec.name, latencyClass: spec.latencyClass, receivedAt },
        ctx,
      )
    } catch (error) {
      return this.#drop('handler_error', () => ({ topic, err: error }))
    }
    if (typeof (result as Promise<void> | undefined)?.then !== 'function') {
      this.#counters.add('handled')
      return undefined
    }
    return (result as Promise<void>).then(
      () => this.#counters.add('handled'),
      (error: unknown) => this.#drop('handler_error', () => ({ topic, err: error })),
    )
  }

  /** Counts a drop; builds the log details only for lines the throttle lets through. */
  #drop(reason: DropReason, details: () => Record<string, unknown>): undefined {
    this.#counters.add(reason)
    const suppressed = this.#throttle.admit(reason)
    if (suppressed === undefined) return undefined
    const level = reason === 'handler_error' ? 'error' : 'warn'
    this.#log[level]({ reason, ...details(), suppressed }, 'message dropped')
    return undefined
  }

  #context(): HandlerContext {
    const counters = this.#counters
    return {
      publish: (topic: string, payload: Payload, options) => {
        try {
          validateTopic(topic)
        } catch (error) {
          counters.add('publishRejected')
          throw error
        }
        const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
        this.#post({ type: 'publish', topic, payload: bytes, socket: options?.socket })
      },
      toMain: (data) => this.#post({ type: 'service', data }),
      log: this.#log,
      socket: this.#init.socket,
    }
  }

  #onControl(message: ToWorker): void {
    switch (message.type) {
      case 'shutdown':
        this.#log.debug({ reason: message.reason }, 'shutdown requested')
        this.#stop()
        return
      default:
        assertNever(message.type)
    }
  }

  /** Closing the socket rejects a pending receive at once; a handler in flight runs to its end. */
  #stop(): void {
    if (this.#stopping) return
    this.#stopping = true
    this.#closeSocket()
  }

  #closeSocket(): void {
    if (this.#socket && !this.#socket.closed) this.#socket.close()
    this.#counters.state = WorkerState.Closed
  }

  #fail(error: unknown): void {
    this.#log.error({ err: error }, 'uncaught error in receive worker')
    this.#post({ type: 'failed', error: serializeError(error), phase: 'run' })
    this.#stop()
  }

  #finish(): void {
    this.#closeSocket()
    this.#post({ type: 'stopped' })
    this.#port.close()
  }

  #post(message: FromWorker): void {
    this.#port.postMessage(message)
  }
}
