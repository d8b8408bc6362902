import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { XPublisher } from 'zeromq'
import type { EndpointAction } from '../shared/endpoints'
import { waitForSubscriptions } from '../shared/zmq/subscription-wait'
import { endpointArgument, integerOption, numberOption, topicArgument, UsageError } from './args'
import { defineCommand } from './command'
import { curveNote, toolCurve } from './curve-env'
import { CLI_EXIT, type CliIo, note } from './io'
import { attach } from './subscribe'

const HELP = `Usage: zmq-container pub ENDPOINT TOPIC [PAYLOAD | --file FILE]
                         [--rate HZ] [--count N] [--wait-timeout MS | --settle MS]

Publishes PAYLOAD (UTF-8 text; empty if left out) or the bytes of FILE on TOPIC, once, or
--count times, or at --rate HZ until --count or Ctrl-C. Messages are [topic, payload], the
container's two frames.

ENDPOINT binds by default, like the container's PUB: peers connect to it, as the camera
connects to the dashboard's tcp://*:6000. > connects instead (to a SUB that binds, fan-in).
TOPIC must be a full topic (camera.cmd), by the container's rules.

A publisher drops messages until a subscriber has joined (the slow joiner, seed 2.4). pub
therefore waits until a subscription that matches TOPIC arrives (pub is an XPUB, which sees
subscriptions), up to --wait-timeout, before it sends the first message. --settle sends after a
fixed pause instead, without looking. Unsent messages get up to 1 s to leave at exit (linger).

Options:
  --file FILE         payload bytes from FILE (- for stdin) instead of PAYLOAD
  --rate HZ           messages per second, from 0.001 (default: as fast as possible)
  --count N           messages to send (default 1; with --rate: until Ctrl-C)
  --wait-timeout MS   wait at most MS for a matching subscriber (default 5000; 0: no limit)
  --settle MS         do not wait for a subscriber; pause MS after bind or connect
  -h, --help          show this help
  Put -- before a PAYLOAD that starts with "-".

Security: with ZMQ_PUB_CURVE_PUBLIC_KEY and ZMQ_PUB_CURVE_SECRET_KEY (or their _FILE forms) set,
pub binds as a CURVE server, like the container's PUB; with > it connects as a CURVE client and
needs ZMQ_PUB_CURVE_SERVER_KEY too.

Exit codes: 0 sent (or stopped by Ctrl-C after sending began); 69 no matching subscriber
within --wait-timeout, nothing sent; 70 the bind failed; 66 FILE cannot be read; 64 bad
arguments; 78 bad CURVE variables; 130/143 SIGINT/SIGTERM before anything was sent.

Examples:
  zmq-container pub tcp://*:6000 camera.cmd '{"cmd":"set_fps","fps":25}'
  zmq-container pub tcp://127.0.0.1:5555 camera.frame --file frame.bin --rate 10 --count 50
  zmq-container pub '>tcp://logger:7000' app.log 'hello' --settle 200`

/** Linger at close: long enough to flush to a live subscriber, short enough not to hang. */
const LINGER_MS = 1000

export const pub = defineCommand({
  name: 'pub',
  summary: 'publish a message once or at a rate, after a subscriber has joined',
  help: HELP,
  options: {
    file: { type: 'string' },
    rate: { type: 'string' },
    count: { type: 'string' },
    'wait-timeout': { type: 'string' },
    settle: { type: 'string' },
  },
  positionals: { required: ['ENDPOINT', 'TOPIC'], max: 3 },
  async run({ values, positionals }, io) {
    const [rawEndpoint = '', rawTopic = '', text] = positionals
    const endpoint = endpointArgument(rawEndpoint, 'bind')
    const topic = topicArgument(rawTopic)
    if (text !== undefined && values.file !== undefined)
      throw new UsageError('give either PAYLOAD or --file, not both')
    if (values.settle !== undefined && values['wait-timeout'] !== undefined)
      throw new UsageError('give either --wait-timeout or --settle, not both')
    const rate =
      values.rate === undefined ? undefined : numberOption('--rate', values.rate, 0.001, 1e6)
    const count =
      values.count === undefined
        ? rate === undefined
          ? 1
          : Number.POSITIVE_INFINITY
        : integerOption('--count', values.count, 1, Number.MAX_SAFE_INTEGER)
    const waitTimeoutMs =
      values['wait-timeout'] === undefined
        ? 5000
        : integerOption('--wait-timeout', values['wait-timeout'], 0)
    const settleMs =
      values.settle === undefined ? undefined : integerOption('--settle', values.settle, 0)

    let payload: Buffer
    if (values.file === undefined) {
      payload = Buffer.from(text ?? '', 'utf8')
    } else {
      try {
        payload = readFileSync(values.file === '-' ? 0 : values.file)
      } catch (error) {
        note(io, 'pub', `cannot read ${values.file}: ${(error as Error).message}`)
        return CLI_EXIT.NO_INPUT
      }
    }

    const curve = toolCurve(io, 'pub', 'ZMQ_PUB', [endpoint])
    if (!curve) return CLI_EXIT.CONFIG_INVALID
    const socket = new XPublisher({ linger: LINGER_MS, ...curve })
    const address = await attach(io, 'pub', socket, endpoint)
    if (address === undefined) return CLI_EXIT.SOCKET_FAILED
    note(io, 'pub', `${endpoint.action} ${address}${curveNote(curve)}`)
    try {
      if (settleMs !== undefined) {
        await sleep(settleMs, undefined, { signal: io.signal }).catch(() => {})
      } else {
        const waited = await waitForSubscriber(io, socket, topic, waitTimeoutMs, endpoint.action)
        if (waited !== CLI_EXIT.OK) return waited
      }
      if (io.signal.aborted) {
        note(io, 'pub', 'interrupted; nothing sent')
        return interruptedCode(io.signal)
      }
      const sent = await sendAll(io, socket, [topic, payload], count, rate)
      note(io, 'pub', `sent ${sent} message(s) on ${topic}, ${payload.length} B each`)
      return CLI_EXIT.OK
    } finally {
      if (!socket.closed) socket.close()
    }
  },
})

/**
 * Reads subscription frames (`\x01prefix`) until one matches `topic` as libzmq would: by
 * prefix, the empty subscription included. The deadline covers the whole wait.
 */
async function waitForSubscriber(
  io: CliIo,
  socket: XPublisher,
  topic: string,
  timeoutMs: number,
  action: EndpointAction,
): Promise<number> {
  note(
    io,
    'pub',
    `waiting ${timeoutMs === 0 ? 'without limit' : `up to ${timeoutMs} ms`} for a subscriber to ${topic}`,
  )
  const wait = await waitForSubscriptions(
    socket,
    (prefix) => topic.startsWith(prefix),
    1,
    timeoutMs,
    io.signal,
  )
  if (wait.interrupted) {
    note(io, 'pub', 'interrupted before a subscriber joined; nothing sent')
    return interruptedCode(io.signal)
  }
  if (wait.seen > 0) {
    const shown = wait.lastPrefix === '' ? 'every topic' : wait.lastPrefix
    note(
      io,
      'pub',
      `subscriber joined (subscription ${shown}) after ${Math.round(wait.elapsedMs)} ms`,
    )
    return CLI_EXIT.OK
  }
  note(
    io,
    'pub',
    `no subscriber to ${topic} within ${timeoutMs} ms; nothing sent. Check that the subscriber ${action === 'bind' ? 'connects to this address' : 'binds this address (@)'} and subscribes to ${topic} or a prefix of it (seed 6: verify bind/connect roles, topics)`,
  )
  return CLI_EXIT.UNAVAILABLE
}

/** Sends on a fixed schedule (start + i / rate), so that slow sends do not make the rate drift. */
async function sendAll(
  io: CliIo,
  socket: XPublisher,
  frames: [string, Buffer],
  count: number,
  rate: number | undefined,
): Promise<number> {
  const startedAt = performance.now()
  let sent = 0
  while (sent < count && !io.signal.aborted) {
    if (rate !== undefined && sent > 0) {
      const wait = startedAt + (sent * 1000) / rate - performance.now()
      if (wait > 0) await sleep(wait, undefined, { signal: io.signal }).catch(() => {})
      if (io.signal.aborted) break
    }
    await socket.send(frames)
    sent++
  }
  return sent
}

function interruptedCode(signal: AbortSignal): number {
  return signal.reason === 'SIGTERM' ? CLI_EXIT.TERMINATED : CLI_EXIT.INTERRUPTED
}
