import { isTopicBytes } from '../shared/topics'
import { endpointArgument, numberOption, subscriptionArguments } from './args'
import { defineCommand } from './command'
import { toolCurve } from './curve-env'
import { clock, fitWidth, fixed } from './format'
import { CLI_EXIT, type CliIo } from './io'
import { TopicRate, type Window } from './running-stats'
import { openSubscriber, receiveUntil } from './subscribe'

const HELP = `Usage: zmq-container hz ENDPOINT [TOPIC...] [--interval S]

Subscribes to ENDPOINT and shows, per topic, the message rate (msg/s), the mean payload size and
the inter-arrival jitter (standard deviation of the intervals between messages, in ms). On a
terminal the table is redrawn in place every interval; when stdout is a pipe or a file, each
interval adds one line per topic. Ctrl-C prints a summary over the whole run and exits 0.

ENDPOINT and TOPIC work as for tap: connect by default, @ to bind; no TOPIC subscribes to
everything. Topics are counted as they arrive (prefix matches included, each under its own name).

Options:
  --interval S   seconds between updates, from 0.05 (default 1)
  -h, --help     show this help

Summary columns: count (messages), rate (1 / mean interval, msg/s), size (mean payload bytes),
jitter (standard deviation of the intervals, ms). Memory stays constant however long it runs.

Security: with ZMQ_SUB_CURVE_PUBLIC_KEY, ZMQ_SUB_CURVE_SECRET_KEY and ZMQ_SUB_CURVE_SERVER_KEY
(or their _FILE forms) set, hz connects as a CURVE client, like the container's SUB; with @
it binds as a CURVE server (public and secret key only).

Exit codes: 0 on Ctrl-C (after the summary); 64 bad arguments; 70 the bind failed; 78 bad
CURVE variables.

Examples:
  zmq-container hz tcp://127.0.0.1:5555
  zmq-container hz tcp://camera:5555 camera.frame --interval 5
  zmq-container hz tcp://camera:5555 camera. > rates.log   # a file: Ctrl-C would end a pipe too`

/** Past this many topics, new ones are counted together, so a flood of names stays bounded. */
export const MAX_TOPICS = 100
const OTHER = '(other topics)'
const INVALID = '(invalid topic)'

export const hz = defineCommand({
  name: 'hz',
  summary: 'live per-topic rate, mean size and jitter; summary on Ctrl-C',
  help: HELP,
  options: { interval: { type: 'string' } },
  positionals: { required: ['ENDPOINT'], max: Number.POSITIVE_INFINITY },
  async run({ values, positionals }, io) {
    const [rawEndpoint = '', ...rawTopics] = positionals
    const endpoint = endpointArgument(rawEndpoint, 'connect')
    const subscriptions = subscriptionArguments(rawTopics)
    const intervalS =
      values.interval === undefined ? 1 : numberOption('--interval', values.interval, 0.05, 86400)

    const curve = toolCurve(io, 'hz', 'ZMQ_SUB', [endpoint])
    if (!curve) return CLI_EXIT.CONFIG_INVALID
    const display = new Display(io, `${endpoint.action} ${endpoint.address}`, intervalS)
    const subscription = await openSubscriber(
      io,
      'hz',
      endpoint,
      subscriptions,
      display.reporter(),
      curve,
    )
    if (!subscription) return CLI_EXIT.SOCKET_FAILED

    const topics = new Map<string, TopicRate>()
    const startedAt = performance.now()
    let windowStart = startedAt
    const timer = setInterval(() => {
      const now = performance.now()
      display.update(topics, (now - windowStart) / 1000)
      windowStart = now
    }, intervalS * 1000)
    display.start()

    await receiveUntil(subscription, io.signal, (frames) => {
      const at = performance.now()
      const [topic = Buffer.alloc(0), ...rest] = frames
      let size = 0
      for (const f of rest) size += f.length
      const name = isTopicBytes(topic) ? topic.toString('latin1') : INVALID
      let rate = topics.get(name)
      if (!rate) {
        const key = topics.size < MAX_TOPICS ? name : OTHER
        rate = topics.get(key) ?? new TopicRate()
        topics.set(key, rate)
      }
      rate.add(at, size)
      return true
    })
    clearInterval(timer)
    display.summary(topics, (performance.now() - startedAt) / 1000)
    return CLI_EXIT.OK
  },
})

/** The live view: a table redrawn in place on a terminal, or appended lines elsewhere. */
class Display {
  readonly #io: CliIo
  readonly #title: string
  readonly #intervalS: number
  readonly #tty: boolean
  #drawn = 0
  #status: string | undefined

  constructor(io: CliIo, title: string, intervalS: number) {
    this.#io = io
    this.#title = title
    this.#intervalS = intervalS
    this.#tty = io.stdout.isTTY === true
  }

  /**
   * Where connection-state lines go: stderr, except under the in-place table on a terminal,
   * where a line on stderr would break the redraw; there it is a line of the table.
   */
  reporter(): ((text: string) => void) | undefined {
    if (!this.#tty) return undefined
    return (text) => {
      this.#status = text
    }
  }

  start(): void {
    if (this.#tty) this.#draw([this.#heading(), 'waiting for messages...'])
  }

  update(topics: ReadonlyMap<string, TopicRate>, seconds: number): void {
    const rows = [...topics].map(([name, rate]) => ({
      name,
      total: rate.total,
      recent: rate.roll(),
    }))
    const width = Math.max(5, ...rows.map((r) => r.name.length))
    if (!this.#tty) {
      const time = clock(Date.now())
      if (rows.length === 0) this.#io.stdout.write(`${time}  no messages yet\n`)
      for (const r of rows) {
        const rate = fixed(r.recent.messages / seconds, 1)
        this.#io.stdout.write(
          `${time}  ${r.name.padEnd(width)}  rate=${rate}/s  ${sizeAndJitter(r.recent)}  total=${r.total.messages}\n`,
        )
      }
      return
    }
    const lines = [
      this.#heading(),
      `${'topic'.padEnd(width)}  ${'rate/s'.padStart(9)}  ${'mean size'.padStart(11)}  ${'jitter ms'.padStart(9)}  ${'total'.padStart(9)}`,
    ]
    for (const r of rows) {
      lines.push(
        `${r.name.padEnd(width)}  ${fixed(r.recent.messages / seconds, 1).padStart(9)}  ${(r.recent.messages === 0 ? '-' : `${Math.round(r.recent.meanSize)} B`).padStart(11)}  ${(r.recent.intervals.count < 2 ? '-' : fixed(r.recent.intervals.stddev, 2)).padStart(9)}  ${String(r.total.messages).padStart(9)}`,
      )
    }
    if (rows.length === 0) lines.push('waiting for messages...')
    if (this.#status) lines.push(this.#status)
    this.#draw(lines)
  }

  summary(topics: ReadonlyMap<string, TopicRate>, seconds: number): void {
    const width = Math.max(5, ...[...topics.keys()].map((n) => n.length))
    const lines = [`summary: ${fixed(seconds, 1)} s, ${topics.size} topic(s)`]
    for (const [name, rate] of topics) {
      const t = rate.total
      lines.push(
        `${name.padEnd(width)}  count=${t.messages}  rate=${fixed(t.arrivalRate, 1)}/s  ${sizeAndJitter(t)}`,
      )
    }
    // On a terminal the ^C echo sits on the current line; start below it.
    this.#io.stdout.write(`${this.#tty ? '\n' : ''}${lines.join('\n')}\n`)
  }

  #heading(): string {
    return `zmq-container hz: ${this.#title}, every ${this.#intervalS} s; Ctrl-C for the summary`
  }

  /** Moves up over the previous drawing and clears it: ESC[nA (up), CR, ESC[J (clear below). */
  #draw(lines: readonly string[]): void {
    const columns = this.#io.stdout.columns
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A\r\x1b[J` : ''
    this.#io.stdout.write(`${up}${lines.map((l) => fitWidth(l, columns)).join('\n')}\n`)
    this.#drawn = lines.length
  }
}

function sizeAndJitter(w: Window): string {
  const size = w.messages === 0 ? '-' : `${Math.round(w.meanSize)}B`
  return `size=${size}  jitter=${jitter(w)}`
}

/** A spread needs two intervals; with fewer, say so rather than print 0. */
function jitter(w: Window): string {
  return w.intervals.count < 2 ? '-' : `${fixed(w.intervals.stddev, 2)}ms`
}
