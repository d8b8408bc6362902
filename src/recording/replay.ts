import { setTimeout as sleep } from 'node:timers/promises'
import { XPublisher } from 'zeromq'
import { type Endpoint, parseEndpoint } from '../shared/endpoints'
import { waitForSubscriptions } from '../shared/zmq/subscription-wait'
import { type ReadOptions, Recording } from './reader'

export interface ReplayOptions {
  /** Speed factor on the recorded timing: 1 as recorded, 2 twice as fast, 0 no pauses. Default 1. */
  readonly rate?: number
  /** Times to play the file; 0 for until `signal` aborts. Default 1. */
  readonly loops?: number
  /** Only these exact topics. */
  readonly topics?: readonly string[]
  /** Seconds from the recording's first message where playing starts, and where it ends. */
  readonly startS?: number
  readonly endS?: number
  /**
   * Wait until this many subscriptions that match a replayed topic have arrived before the
   * first message (the slow joiner: a PUB drops messages until a subscriber has joined). A
   * subscriber that subscribes to one topic or prefix counts once. Default 0: no wait.
   */
  readonly waitSubscribers?: number
  /** Gives up waiting for subscribers after this long (rejects). Default 10 000; 0: no limit. */
  readonly waitTimeoutMs?: number
  /** Stops the replay early; the summary tells how far it got. */
  readonly signal?: AbortSignal
  /** Extra options for the XPUB socket, such as CURVE keys. */
  readonly socketOptions?: {
    curveServer?: boolean
    curvePublicKey?: string
    curveSecretKey?: string
    curveServerKey?: string
  }
  /** Called once the socket is bound or connected, with the resolved address. */
  readonly onAttached?: (address: string) => void
}

export interface ReplaySummary {
  readonly sent: number
  readonly bytes: number
  readonly byTopic: ReadonlyMap<string, number>
  /** From the first send to the last. */
  readonly elapsedMs: number
  /** The recorded span that was played (last minus first log time, summed over loops). */
  readonly recordedMs: number
  readonly loops: number
  readonly interrupted: boolean
}

/** Subscriptions the wait gave up on. */
export class NoSubscriberError extends Error {
  override readonly name = 'NoSubscriberError'
}

/**
 * Publishes the messages of an MCAP recording on `endpoint` (binds by default, like the
 * container's PUB; `>` connects) with their recorded timing, frames exactly as recorded.
 * The library form of `zmq-container replay`, for tests: replay a recording into a container
 * and assert on what it did.
 *
 * ```ts
 * const summary = await replayInto('examples/recordings/demo.mcap', 'tcp://127.0.0.1:5555', {
 *   rate: 0, waitSubscribers: 1,
 * })
 * ```
 */
export async function replayInto(
  file: string,
  endpoint: string | Endpoint,
  options: ReplayOptions = {},
): Promise<ReplaySummary> {
  const target = typeof endpoint === 'string' ? parsedEndpoint(endpoint) : endpoint
  const recording = await Recording.open(file)
  const socket = new XPublisher({ linger: 1000, verbosity: 'allSubs', ...options.socketOptions })
  try {
    if (target.action === 'bind') await socket.bind(target.address)
    else socket.connect(target.address)
    options.onAttached?.(
      target.action === 'bind' ? (socket.lastEndpoint ?? target.address) : target.address,
    )
    const firstNs = recording.statistics?.messageStartTime ?? 0n
    const read: ReadOptions = {
      topics: options.topics,
      startNs: options.startS === undefined ? undefined : firstNs + seconds(options.startS),
      endNs: options.endS === undefined ? undefined : firstNs + seconds(options.endS),
    }
    const wanted = options.waitSubscribers ?? 0
    if (wanted > 0) {
      const topics = options.topics ?? recording.channels.map((c) => c.topic)
      await waitForSubscribers(
        socket,
        topics,
        wanted,
        options.waitTimeoutMs ?? 10_000,
        options.signal,
      )
    }
    return await play(recording, socket, read, options)
  } finally {
    socket.close()
    await recording.close()
  }
}

function parsedEndpoint(raw: string): Endpoint {
  const parsed = parseEndpoint(raw, 'bind')
  if (!parsed.ok) throw new Error(`endpoint ${raw}: ${parsed.problem}`)
  return parsed.value
}

function seconds(s: number): bigint {
  return BigInt(Math.round(s * 1e9))
}

async function play(
  recording: Recording,
  socket: XPublisher,
  read: ReadOptions,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const rate = options.rate ?? 1
  const loops = options.loops ?? 1
  const byTopic = new Map<string, number>()
  let sent = 0
  let bytes = 0
  let recordedMs = 0
  let played = 0
  const startedAt = performance.now()
  // Each loop keeps the recorded timing from its own first message.
  let loopStartAt = startedAt
  while ((loops === 0 || played < loops) && !options.signal?.aborted) {
    let firstNs: bigint | undefined
    let lastNs: bigint | undefined
    for await (const m of recording.messages(read)) {
      if (options.signal?.aborted) break
      firstNs ??= m.logTimeNs
      lastNs = m.logTimeNs
      if (rate > 0) {
        const dueAt = loopStartAt + Number(m.logTimeNs - firstNs) / 1e6 / rate
        const waitMs = dueAt - performance.now()
        if (waitMs > 0) await sleep(waitMs, undefined, { signal: options.signal }).catch(() => {})
        if (options.signal?.aborted) break
      }
      await socket.send([m.topicFrame, m.payload])
      sent++
      bytes += m.payload.byteLength
      byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1)
    }
    if (firstNs === undefined || lastNs === undefined) break
    recordedMs += Number(lastNs - firstNs) / 1e6
    played++
    loopStartAt = performance.now()
  }
  return {
    sent,
    bytes,
    byTopic,
    elapsedMs: performance.now() - startedAt,
    recordedMs,
    loops: played,
    interrupted: options.signal?.aborted === true,
  }
}

/**
 * Waits until `wanted` subscription frames match a replayed topic the way libzmq matches: by
 * prefix. The socket is verbose, so a second subscriber to the same topic is seen too.
 */
async function waitForSubscribers(
  socket: XPublisher,
  topics: readonly string[],
  wanted: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const wait = await waitForSubscriptions(
    socket,
    (prefix) => topics.some((t) => t.startsWith(prefix)),
    wanted,
    timeoutMs,
    signal,
  )
  if (!wait.interrupted && wait.seen < wanted)
    throw new NoSubscriberError(
      `${wait.seen} of ${wanted} subscriber(s) joined within ${timeoutMs} ms; nothing was replayed`,
    )
}
