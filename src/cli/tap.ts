import { isTopicBytes, TopicMatcher } from '../shared/topics'
import { endpointArgument, integerOption, subscriptionArguments } from './args'
import { defineCommand } from './command'
import { toolCurve } from './curve-env'
import { clock, previewPayload } from './format'
import { CLI_EXIT, note } from './io'
import { openSubscriber, receiveUntil } from './subscribe'

const HELP = `Usage: zmq-container tap ENDPOINT [TOPIC...] [--count N] [--raw] [--exact]

Subscribes to ENDPOINT and prints every message: time, topic, size and a preview of the
payload (pretty JSON for an object or array, UTF-8 text when printable, hex otherwise).

ENDPOINT connects by default, like the container's SUB; @ binds instead (for a publisher that
connects, fan-in). Schemes: tcp://host:port, ipc://path (inproc cannot cross processes).
TOPIC follows the container's rules: camera.cmd, or camera. for every camera topic. No TOPIC
(or '') subscribes to everything.

libzmq matches subscriptions by prefix, so camera.cmd also delivers camera.cmdx. tap shows such
a message marked "prefix-only match; the container drops it", since the container matches
exactly; --exact leaves them out, as the container would. Messages the container would drop for
their frames or topic are shown and marked too.

Options:
  --count N    stop after N messages (0 or missing: until Ctrl-C)
  --raw        write only the payload bytes to stdout, nothing between messages
               (use --count 1 to save one payload to a file)
  --exact      drop prefix-only matches, as the container does
  -h, --help   show this help

Security: with ZMQ_SUB_CURVE_PUBLIC_KEY, ZMQ_SUB_CURVE_SECRET_KEY and ZMQ_SUB_CURVE_SERVER_KEY
(or their _FILE forms) set, tap connects as a CURVE client, like the container's SUB; with @
it binds as a CURVE server (public and secret key only).

Exit codes: 0 after N messages or on Ctrl-C; 64 bad arguments; 70 the bind failed; 78 bad
CURVE variables.

Examples:
  zmq-container tap tcp://127.0.0.1:5555 camera.frame camera.heartbeat
  zmq-container tap tcp://camera:5555 camera. --count 10
  zmq-container tap @tcp://*:6000 camera.cmd --exact
  zmq-container tap tcp://camera:5555 camera.frame --count 1 --raw > frame.bin`

export const tap = defineCommand({
  name: 'tap',
  summary: 'print the messages on an endpoint (time, topic, size, payload preview)',
  help: HELP,
  options: {
    count: { type: 'string' },
    raw: { type: 'boolean' },
    exact: { type: 'boolean' },
  },
  positionals: { required: ['ENDPOINT'], max: Number.POSITIVE_INFINITY },
  async run({ values, positionals }, io) {
    const [rawEndpoint = '', ...rawTopics] = positionals
    const endpoint = endpointArgument(rawEndpoint, 'connect')
    const subscriptions = subscriptionArguments(rawTopics)
    const count = values.count === undefined ? 0 : integerOption('--count', values.count, 0)
    // Subscribing to everything has nothing to match exactly against.
    const matcher = subscriptions.includes('') ? undefined : new TopicMatcher(subscriptions)

    const curve = toolCurve(io, 'tap', 'ZMQ_SUB', [endpoint])
    if (!curve) return CLI_EXIT.CONFIG_INVALID
    const subscription = await openSubscriber(io, 'tap', endpoint, subscriptions, undefined, curve)
    if (!subscription) return CLI_EXIT.SOCKET_FAILED

    let shown = 0
    let skipped = 0
    await receiveUntil(subscription, io.signal, (frames) => {
      const [topicFrame = Buffer.alloc(0), ...rest] = frames
      const payload = rest.length === 1 ? (rest[0] as Buffer) : Buffer.concat(rest)
      const validTopic = isTopicBytes(topicFrame)
      const matched = !matcher || (validTopic && matcher.matches(topicFrame.toString('latin1')))
      if (values.exact && !matched) {
        skipped++
        return true
      }
      shown++
      if (values.raw) {
        io.stdout.write(payload)
      } else {
        const notes: string[] = []
        if (frames.length !== 2)
          notes.push(`${frames.length} frames; the container drops it (bad_frames)`)
        if (!validTopic) notes.push('invalid topic; the container drops it (invalid_topic)')
        else if (!matched) notes.push('prefix-only match; the container drops it (unsubscribed)')
        io.stdout.write(formatMessage(Date.now(), topicFrame, validTopic, payload, notes))
      }
      return count === 0 || shown < count
    })
    if (skipped > 0) note(io, 'tap', `left out ${skipped} prefix-only match(es) (--exact)`)
    return CLI_EXIT.OK
  },
})

function formatMessage(
  at: number,
  topic: Buffer,
  validTopic: boolean,
  payload: Buffer,
  notes: readonly string[],
): string {
  const preview = previewPayload(payload)
  const label = validTopic ? topic.toString('latin1') : JSON.stringify(topic.toString('utf8'))
  const marks = notes.map((n) => `  [${n}]`).join('')
  const header = `${clock(at)}  ${label}  ${payload.length} B  ${preview.kind}`
  if (preview.kind === 'empty') return `${header}${marks}\n`
  if (preview.lines.length === 1) return `${header}  ${preview.lines[0]}${marks}\n`
  return `${header}${marks}\n${preview.lines.map((l) => `  ${l}`).join('\n')}\n`
}
