import { performance } from 'node:perf_hooks'
import type { MessagePort } from 'node:worker_threads'
import { Reply, type Subscriber } from 'zeromq'
// The types module, not the config index: that would load envalid into every receive thread.
import { LATENCY_BUDGET_MS, type PoolConfig } from '../shared/config/types'
import type { Envelope } from '../shared/envelope'
import { errorCode } from '../shared/errors'
import type { Log } from '../shared/log'
import { LogThrottle, reportHeldBack } from '../shared/log-throttle'
import { post, type WorkerInit } from '../shared/protocol'
import type { Handler, HandlerContext, ReplyHandler } from '../shared/service'
import { type DropReason, type SocketCounters, WorkerState } from '../shared/shared-state'
import type { TopicMatcher } from '../shared/topics'
import { isPayloadDecodeError } from '../shared/typed-topics'
import { EnvelopeInbound } from './envelope-inbound'
import { classifyFrames, exactSubscriptionIndex } from './frames'
import { PoolDispatcher } from './pool-dispatch'
import type { RecordCapture } from './record-capture'

export interface ReceiveLoopOptions {
  readonly init: WorkerInit
  readonly counters: SocketCounters
  readonly log: Log
  readonly capture: RecordCapture | undefined
  /** True once the worker was told to stop (the loop ends before its next receive). */
  readonly stopping: () => boolean
  /**
   * Runs after every message, with the loop's last clock reading (`performance.now()`): a
   * handler that allocates fast would outrun the liveness tick.
   */
  readonly afterMessage: (nowMs: number) => void
}

/**
 * The receive thread's hot path: receive with a bounded timeout, check the frames, run the
 * handler (or queue it to a piscina pool, or answer a REP request), count the outcome. Every
 * message received is handled or counted as dropped with a reason.
 */
export class ReceiveLoop {
  readonly #options: ReceiveLoopOptions
  readonly #port: MessagePort
  readonly #counters: SocketCounters
  readonly #log: Log
  readonly #throttle: LogThrottle
  readonly #budgetSeconds: number
  #pool: PoolDispatcher | undefined
  /** Issue 16: envelope (loss, duplicates, age) and deadline, when the socket has either. */
  readonly #inbound: EnvelopeInbound | undefined
  /**
   * The loop's latest clock reading: a message's receive time, then its handler's end. The
   * per-message checks reuse it instead of reading the clock again (issue 14: a message costs
   * one read on receipt and, once handled, one for the handler's duration).
   */
  #nowMs = 0

  constructor(options: ReceiveLoopOptions) {
    this.#options = options
    this.#port = options.init.port
    this.#counters = options.counters
    this.#log = options.log
    this.#throttle = new LogThrottle({ flush: reportHeldBack(options.log) })
    this.#budgetSeconds = LATENCY_BUDGET_MS[options.init.socket.latencyClass] / 1000
    const { socket } = options.init
    this.#inbound = EnvelopeInbound.wanted(socket)
      ? new EnvelopeInbound(socket, this.#counters, this.#log, this.#throttle)
      : undefined
  }

  /** Handlers run in a piscina pool from now on; the receive thread only queues. */
  startPool(config: PoolConfig): void {
    const { socket, servicePath, config: containerConfig } = this.#options.init
    this.#pool = new PoolDispatcher(
      config,
      {
        servicePath,
        socket,
        logLevel: containerConfig.logLevel,
        logFormat: containerConfig.logFormat,
      },
      {
        done: (item, result) => {
          if (result.decodeError !== undefined) {
            this.#timed(item.receivedAt, item.topic, item.ageSeconds)
            this.#drop('decode_error', () => ({ topic: item.topic, err: result.decodeError }))
            return
          }
          for (const p of result.publishes) post(this.#port, { type: 'publish', ...p })
          for (const data of result.messages) post(this.#port, { type: 'service', data })
          this.#timed(item.receivedAt, item.topic, item.ageSeconds)
          this.#counters.add('handled')
        },
        failed: (item, error) => {
          this.#timed(item.receivedAt, item.topic, item.ageSeconds)
          this.#drop(handlerDropReason(error), () => ({ topic: item.topic, err: error }))
        },
        dropped: (item, reason) =>
          this.#drop(reason, () => ({ topic: item.topic, policy: config.drop })),
      },
    )
  }

  /**
   * After the loop: tasks already running finish (bounded by the supervisor's join deadline,
   * like any handler in flight); messages still waiting are counted as dropped.
   */
  async drainPool(): Promise<void> {
    this.#pool?.discardWaiting()
    await this.#pool?.drained()
  }

  async closePool(): Promise<void> {
    // The deadline watch's timer too: nothing is received any more (it is unref'd anyway).
    this.#inbound?.close()
    await this.#pool?.close()
  }

  /** Receives until the socket closes or a stop is requested. */
  async run(
    socket: Subscriber | Reply,
    handler: Handler | ReplyHandler,
    matcher: TopicMatcher,
    ctx: HandlerContext,
  ): Promise<void> {
    const counters = this.#counters
    const { capture, afterMessage } = this.#options
    for (;;) {
      // State first, then the stop flag: the supervisor sets the flag, then reads the state, so
      // one of the two always sees the other's write and never terminates mid-receive.
      counters.state = WorkerState.Receiving
      if (this.#options.stopping() || counters.stopRequested) break
      let frames: Buffer[]
      try {
        frames = await socket.receive()
      } catch (error) {
        // close() and a receive timeout both reject with EAGAIN; `closed` tells them apart.
        if (socket.closed) break
        if (errorCode(error) === 'EAGAIN') continue
        throw error
      }
      counters.state = WorkerState.Handling
      counters.add('received')
      const receivedAt = this.#clock()
      capture?.add(frames, receivedAt)
      if (socket instanceof Reply) {
        await this.#answer(socket, frames, handler as ReplyHandler, ctx, receivedAt)
      } else {
        const pending = this.#dispatch(frames, handler as Handler, matcher, ctx, receivedAt)
        // Only an async handler costs an await; a sync one goes straight back to receive.
        if (pending) await pending
      }
      afterMessage(this.#nowMs)
    }
  }

  /**
   * One REQ/REP round: every request gets exactly one reply, `['OK', value]` or
   * `['ERR', message]`, so a client never waits on silence (REP is lockstep).
   */
  async #answer(
    socket: Reply,
    frames: Buffer[],
    handler: ReplyHandler,
    ctx: HandlerContext,
    receivedAt: number,
  ): Promise<void> {
    const spec = this.#options.init.socket
    let reply: Array<string | Buffer | Uint8Array>
    const [payload] = frames
    if (frames.length !== 1 || !payload) {
      this.#drop('bad_frames', () => ({ frames: frames.length }))
      reply = ['ERR', `a request is one frame, got ${frames.length}`]
    } else {
      try {
        const value = await handler(
          { topic: '', payload, socket: spec.name, latencyClass: spec.latencyClass, receivedAt },
          ctx,
        )
        // Plain data that is not bytes or text goes out as JSON, not as "[object Object]".
        const bytes =
          typeof value === 'string' || value instanceof Uint8Array
            ? value
            : JSON.stringify(value ?? '')
        reply = ['OK', bytes]
        this.#counters.add('handled')
      } catch (error) {
        // Not a drop: the request was answered, with the error. Handled, and a handler error.
        this.#counters.add('handled')
        this.#counters.add('errorReplies')
        const suppressed = this.#throttle.admit('error_reply')
        if (suppressed !== undefined)
          this.#log.error({ err: error, suppressed }, 'reply handler failed; error reply sent')
        reply = ['ERR', error instanceof Error ? error.message : String(error)]
      }
      this.#timed(receivedAt, '')
    }
    if (socket.closed) return
    // A send is native work in flight too.
    this.#counters.state = WorkerState.Receiving
    try {
      await socket.send(reply)
    } catch (error) {
      if (!socket.closed) throw error
    }
  }

  /** Checks the frames and runs the handler; returns a promise only for an async handler. */
  #dispatch(
    frames: Buffer[],
    handler: Handler,
    matcher: TopicMatcher,
    ctx: HandlerContext,
    receivedAt: number,
  ): Promise<void> | undefined {
    const spec = this.#options.init.socket
    let topic: string
    let payload: Buffer
    let subscription = exactSubscriptionIndex(frames, matcher)
    let envelope: Envelope | undefined
    if (subscription !== -1) {
      // The common case: a topic this socket subscribed to exactly. Nothing to decode or check.
      topic = matcher.exactTopicAt(subscription) as string
      payload = frames[1] as Buffer
    } else {
      const verdict = classifyFrames(frames, matcher, spec.envelope === true)
      if (!verdict.ok) return this.#drop(verdict.reason, verdict.details)
      ;({ topic, payload, subscription, envelope } = verdict)
    }
    // Per-subscription counts for /info: one add to the pending counts (the matcher found the
    // index anyway).
    this.#counters.addForSubscription(subscription)
    // Issue 16 hook: sequence (loss, duplicate, restart), age, deadline.
    const inbound = this.#inbound?.accept(topic, subscription, envelope)
    if (inbound?.duplicate) return this.#drop('duplicate', () => ({ topic }))
    const ageSeconds = inbound?.ageSeconds ?? 0
    if (this.#pool) {
      // The receive thread only queues: it is back at receive() at once, whatever the handler costs.
      this.#pool.submit({ topic, payload, receivedAt, envelope: inbound?.fields, ageSeconds })
      return undefined
    }
    let result: void | Promise<void>
    try {
      // Without an envelope, a plain literal: a spread of nothing still costs a runtime call.
      const message = inbound
        ? {
            topic,
            payload,
            socket: spec.name,
            latencyClass: spec.latencyClass,
            receivedAt,
            ...inbound.fields,
          }
        : { topic, payload, socket: spec.name, latencyClass: spec.latencyClass, receivedAt }
      result = handler(message, ctx)
    } catch (error) {
      this.#timed(receivedAt, topic, ageSeconds)
      return this.#drop(handlerDropReason(error), () => ({ topic, err: error }))
    }
    if (typeof (result as Promise<void> | undefined)?.then !== 'function') {
      this.#timed(receivedAt, topic, ageSeconds)
      this.#counters.add('handled')
      return undefined
    }
    return (result as Promise<void>).then(
      () => {
        this.#timed(receivedAt, topic, ageSeconds)
        this.#counters.add('handled')
      },
      (error: unknown) => {
        this.#timed(receivedAt, topic, ageSeconds)
        this.#drop(handlerDropReason(error), () => ({ topic, err: error }))
      },
    )
  }

  /**
   * Time from receive to handler completion: histogram, and the latency class's budget. With an
   * envelope the budget is judged on the whole age (`ageSeconds`: send to receive, plus this).
   */
  #timed(receivedAt: number, topic: string, ageSeconds = 0): void {
    const handlerSeconds = (this.#clock() - receivedAt) / 1000
    this.#counters.observeDuration(handlerSeconds)
    const seconds = handlerSeconds + ageSeconds
    if (seconds <= this.#budgetSeconds) return
    this.#counters.add('overruns')
    const suppressed = this.#throttle.admit('overrun')
    if (suppressed !== undefined) {
      this.#log.warn(
        {
          topic,
          durationMs: Number((seconds * 1000).toFixed(3)),
          ...(ageSeconds > 0 ? { ageMs: Number((ageSeconds * 1000).toFixed(3)) } : {}),
          budgetMs: this.#budgetSeconds * 1000,
          suppressed,
        },
        'latency budget exceeded',
      )
    }
  }

  #clock(): number {
    this.#nowMs = performance.now()
    return this.#nowMs
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
}

/** A typed service's decode failure is its own drop reason; anything else a handler threw is its error. */
function handlerDropReason(error: unknown): DropReason {
  return isPayloadDecodeError(error) ? 'decode_error' : 'handler_error'
}
