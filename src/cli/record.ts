import { hostname } from 'node:os'
import { Subscriber } from 'zeromq'
import { COMPRESSIONS, type Compression, nowNs } from '../recording/format'
import { RecordingWriter } from '../recording/writer'
import type { Endpoint } from '../shared/endpoints'
import { isTopicBytes, TopicMatcher } from '../shared/topics'
import {
  endpointArgument,
  expectPositionals,
  integerOption,
  numberOption,
  subscriptionArguments,
  UsageError,
} from './args'
import { defineCommand } from './command'
import { type CurveOptions, curveNote, toolCurve } from './curve-env'
import { fixed } from './format'
import { CLI_EXIT, type CliIo, note } from './io'
import { attach, receiveUntil, type Subscription } from './subscribe'

const HELP = `Usage: zmq-container record --out FILE.mcap ENDPOINT... [TOPIC...]
                            [--duration S] [--count N] [--max-bytes N]
                            [--compression none|zstd] [--json] [--quiet]

Subscribes to each ENDPOINT and writes every message to FILE.mcap (MCAP, the format of ROS 2
bags and Foxglove): a channel per topic, each message's payload bytes exactly as received,
its receive time as the log time, and the endpoints and socket in the metadata. Ctrl-C,
SIGTERM, --duration or --count end the file properly (summary and footer): a stopped
recording is always a complete file. A status line per second goes to stderr.

ENDPOINT connects by default, like the container's SUB; @ binds instead. Give several to
record from several publishers. TOPIC follows the container's rules: camera.cmd exactly, or
camera. for every camera topic; no TOPIC records everything. Messages that are not two frames,
or that match a subscription only by prefix, are left out and counted, as the container does.

Options:
  --out FILE          the recording (required); it is overwritten
  --duration S        stop after S seconds (decimals allowed)
  --count N           stop after N recorded messages
  --max-bytes N       start a new file when one reaches N bytes: FILE_0.mcap, FILE_1.mcap, ...
                      (a file ends at the first chunk past N)
  --compression C     chunk compression: none (default) or zstd. lz4 files from other
                      writers can be read, not written.
  --json              declare the payloads JSON (channel encoding "json"); by default they
                      are opaque bytes ("application/octet-stream")
  --quiet             no status lines, only the summary
  -h, --help          show this help

Security: with ZMQ_SUB_CURVE_PUBLIC_KEY, ZMQ_SUB_CURVE_SECRET_KEY and ZMQ_SUB_CURVE_SERVER_KEY
(or their _FILE forms) set, record connects as a CURVE client, like the container's SUB.

Exit codes: 0 the recording is complete; 64 bad arguments; 70 a bind failed; 73 the file
cannot be created or written; 78 bad CURVE variables.

Examples:
  zmq-container record --out camera.mcap tcp://127.0.0.1:5555 camera. --duration 10
  zmq-container record --out all.mcap tcp://camera:5555 tcp://lidar:5557 --max-bytes 100000000
  zmq-container record --out cmd.mcap @tcp://*:6000 camera.cmd --json --compression zstd`

/** Seconds between status lines. */
const STATUS_INTERVAL_MS = 1000

export const record = defineCommand({
  name: 'record',
  summary: 'record the messages on endpoints to an MCAP file',
  help: HELP,
  options: {
    out: { type: 'string', short: 'o' },
    duration: { type: 'string' },
    count: { type: 'string' },
    'max-bytes': { type: 'string' },
    compression: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  // No `positionals`: a missing --out is said first, then a missing ENDPOINT (below).
  async run({ values, positionals }, io) {
    if (values.out === undefined) throw new UsageError('missing --out FILE.mcap')
    expectPositionals(positionals, ['ENDPOINT'], Number.POSITIVE_INFINITY)
    // Topics are dots and alphanumerics only, so anything with :// is an endpoint.
    const endpoints = positionals
      .filter((p) => p.includes('://'))
      .map((p) => endpointArgument(p, 'connect'))
    if (endpoints.length === 0)
      throw new UsageError('missing ENDPOINT (tcp://host:port, ipc://path)')
    const subscriptions = subscriptionArguments(positionals.filter((p) => !p.includes('://')))
    const durationS =
      values.duration === undefined
        ? undefined
        : numberOption('--duration', values.duration, 0.001, 31 * 86400)
    const count =
      values.count === undefined
        ? undefined
        : integerOption('--count', values.count, 1, Number.MAX_SAFE_INTEGER)
    const maxBytes =
      values['max-bytes'] === undefined
        ? undefined
        : integerOption('--max-bytes', values['max-bytes'], 1024, Number.MAX_SAFE_INTEGER)
    const compression = compressionOption(values.compression)

    const curve = toolCurve(io, 'record', 'ZMQ_SUB', endpoints)
    if (!curve) return CLI_EXIT.CONFIG_INVALID

    const shownEndpoints = endpoints.map((e) => `${e.action} ${e.address}`).join(', ')
    let writer: RecordingWriter
    try {
      writer = await RecordingWriter.open(values.out, {
        source: {
          endpoint: shownEndpoints,
          socket: 'SUB',
          extra: {
            'zmq.subscriptions': subscriptions.join(','),
            'zmq.recorder': `zmq-container record on ${hostname()}`,
          },
        },
        compression,
        encoding: values.json ? 'json' : 'bytes',
        maxBytes,
      })
    } catch (error) {
      note(io, 'record', `cannot create ${values.out}: ${(error as Error).message}`)
      return CLI_EXIT.CANNOT_CREATE
    }

    const socket = await openSubscriber(io, endpoints, subscriptions, curve)
    if (!socket) {
      await writer.close()
      return CLI_EXIT.SOCKET_FAILED
    }
    const stats = new RecordStats()
    const stop = new AbortController()
    const onSignal = () => stop.abort(io.signal.reason)
    io.signal.addEventListener('abort', onSignal, { once: true })
    const durationTimer =
      durationS === undefined
        ? undefined
        : setTimeout(() => stop.abort('duration'), durationS * 1000)
    const statusTimer = values.quiet
      ? undefined
      : setInterval(() => note(io, 'record', stats.status(writer)), STATUS_INTERVAL_MS)
    // Subscribing to everything has nothing to match exactly against.
    const matcher = subscriptions.includes('') ? undefined : new TopicMatcher(subscriptions)
    let writeError: Error | undefined

    await receiveUntil(socket, stop.signal, (frames) => {
      const at = nowNs()
      stats.received++
      const [topic, payload] = frames as [Buffer, Buffer]
      if (frames.length !== 2) {
        stats.skip('not two frames')
        return true
      }
      if (matcher && !(isTopicBytes(topic) && matcher.matches(topic.toString('latin1')))) {
        stats.skip('prefix-only match')
        return true
      }
      stats.add(topic.toString('latin1'), payload.length)
      // The writer keeps order on its own; a failed write stops the recording.
      writer.add(topic, payload, at).catch((error: unknown) => {
        writeError ??= error as Error
        stop.abort('write failed')
      })
      return count === undefined || stats.recorded < count
    })
    clearTimeout(durationTimer)
    clearInterval(statusTimer)
    io.signal.removeEventListener('abort', onSignal)
    try {
      await writer.close()
    } catch (error) {
      writeError ??= error as Error
    }
    if (writeError) {
      note(io, 'record', `cannot write ${writer.currentPath}: ${writeError.message}`)
      return CLI_EXIT.CANNOT_CREATE
    }
    note(io, 'record', stats.summary(writer))
    return CLI_EXIT.OK
  },
})

function compressionOption(value: string | undefined): Compression {
  if (value === undefined) return 'none'
  if ((COMPRESSIONS as readonly string[]).includes(value)) return value as Compression
  if (value === 'lz4')
    throw new UsageError(
      '--compression lz4 cannot be written (no maintained lz4 frame compressor for Node); use zstd',
    )
  throw new UsageError(`--compression is "${value}"; it must be one of ${COMPRESSIONS.join(', ')}`)
}

async function openSubscriber(
  io: CliIo,
  endpoints: readonly Endpoint[],
  subscriptions: readonly string[],
  curve: CurveOptions,
): Promise<Subscription | undefined> {
  const socket = new Subscriber({ linger: 0, ...curve })
  for (const s of subscriptions) socket.subscribe(s)
  const shown: string[] = []
  for (const endpoint of endpoints) {
    const address = await attach(io, 'record', socket, endpoint)
    if (address === undefined) return undefined
    shown.push(`${endpoint.action} ${address}`)
  }
  const what = subscriptions.includes('') ? 'every topic' : subscriptions.join(', ')
  note(io, 'record', `${shown.join(', ')}, subscribed to ${what}${curveNote(curve)}`)
  // No connection watcher (tap's): a socket has one monitor, and record may have several
  // endpoints; the status line shows whether messages arrive.
  return { socket, stopWatching: () => {} }
}

/** Counts for the status line and the summary. */
class RecordStats {
  readonly startedAt = performance.now()
  received = 0
  recorded = 0
  readonly skipped = new Map<string, number>()
  readonly #topics = new Map<string, { messages: number; bytes: number; recent: number }>()
  #lastStatusAt = this.startedAt

  add(topic: string, bytes: number): void {
    this.recorded++
    let t = this.#topics.get(topic)
    if (!t) {
      t = { messages: 0, bytes: 0, recent: 0 }
      this.#topics.set(topic, t)
    }
    t.messages++
    t.bytes += bytes
    t.recent++
  }

  skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1)
  }

  /** One line: totals, then each topic's rate since the last status line. */
  status(writer: RecordingWriter): string {
    const now = performance.now()
    const windowS = (now - this.#lastStatusAt) / 1000
    this.#lastStatusAt = now
    const topics = [...this.#topics]
      .map(([name, t]) => {
        const rate = fixed(t.recent / windowS, 1)
        t.recent = 0
        return `${name} ${rate}/s`
      })
      .join(', ')
    return `${fixed((now - this.startedAt) / 1000, 1)} s, ${this.recorded} msg, ${bytes(writer.bytes)} to ${writer.currentPath}${topics ? `; ${topics}` : ''}`
  }

  summary(writer: RecordingWriter): string {
    const seconds = (performance.now() - this.startedAt) / 1000
    const perTopic = [...this.#topics]
      .map(([name, t]) => `${name}: ${t.messages} (${bytes(t.bytes)})`)
      .join(', ')
    const skipped = [...this.skipped].map(([reason, n]) => `${n} ${reason}`).join(', ')
    return `recorded ${this.recorded} of ${this.received} message(s), ${bytes(writer.bytes)}, in ${fixed(seconds, 1)} s to ${writer.files.join(', ')}${perTopic ? `; ${perTopic}` : ''}${skipped ? `; left out ${skipped}` : ''}`
  }
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${fixed(n / 1024, 1)} KiB`
  return `${fixed(n / 1024 / 1024, 1)} MiB`
}
