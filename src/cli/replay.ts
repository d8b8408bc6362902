import { RecordingError } from '../recording/reader'
import { NoSubscriberError, replayInto } from '../recording/replay'
import { errorCode } from '../shared/errors'
import { endpointArgument, integerOption, numberOption, topicArgument, UsageError } from './args'
import { defineCommand } from './command'
import { toolCurve } from './curve-env'
import { fixed } from './format'
import { CLI_EXIT, note } from './io'

const HELP = `Usage: zmq-container replay FILE.mcap ENDPOINT [--rate X] [--loop] [--topics T,...]
                            [--start S] [--end S] [--wait-subscribers N] [--wait-timeout MS]

Publishes the messages of a recording on ENDPOINT with their recorded timing: the topic and
payload frames exactly as recorded. Prints a summary on stderr at the end.

ENDPOINT binds by default, like the container's PUB (a subscriber connects to it); > connects
instead (to a SUB that binds).

A publisher drops messages until a subscriber has joined (the slow joiner, seed 2.4). With
--wait-subscribers N, replay waits until N subscriptions that match a replayed topic have
arrived (a subscriber to one topic or prefix counts once) before the first message.

Options:
  --rate X              speed factor: 1 as recorded (default), 2 twice as fast, 0 as fast as
                        possible
  --loop                play again from the start until Ctrl-C
  --topics T,...        only these topics (exact, comma-separated)
  --start S, --end S    play only from S to E seconds after the recording's first message
  --wait-subscribers N  wait for N matching subscriptions before sending (default 0)
  --wait-timeout MS     give up waiting after MS (default 10000; 0: no limit)
  -h, --help            show this help

Security: with ZMQ_PUB_CURVE_PUBLIC_KEY and ZMQ_PUB_CURVE_SECRET_KEY set (or their _FILE
forms), replay binds as a CURVE server, like the container's PUB.

Exit codes: 0 replayed (or stopped by Ctrl-C); 64 bad arguments; 65 the file is damaged or not
MCAP; 66 the file cannot be read; 69 not enough subscribers within --wait-timeout; 70 the
bind failed; 78 bad CURVE variables.

Examples:
  zmq-container replay camera.mcap tcp://127.0.0.1:5555 --wait-subscribers 1
  zmq-container replay camera.mcap tcp://*:5555 --rate 0 --topics camera.frame
  zmq-container replay camera.mcap tcp://*:5555 --loop --start 2 --end 5`

export const replay = defineCommand({
  name: 'replay',
  summary: 'publish a recording with its recorded timing',
  help: HELP,
  options: {
    rate: { type: 'string' },
    loop: { type: 'boolean' },
    topics: { type: 'string' },
    start: { type: 'string' },
    end: { type: 'string' },
    'wait-subscribers': { type: 'string' },
    'wait-timeout': { type: 'string' },
  },
  positionals: { required: ['FILE', 'ENDPOINT'] },
  async run({ values, positionals }, io) {
    const [file = '', rawEndpoint = ''] = positionals
    const endpoint = endpointArgument(rawEndpoint, 'bind')
    const rate = values.rate === undefined ? 1 : numberOption('--rate', values.rate, 0, 1e6)
    const topics = values.topics?.split(',').map((t) => topicArgument(t.trim()))
    const startS =
      values.start === undefined ? undefined : numberOption('--start', values.start, 0, 1e9)
    const endS = values.end === undefined ? undefined : numberOption('--end', values.end, 0, 1e9)
    if (startS !== undefined && endS !== undefined && endS < startS)
      throw new UsageError(`--end ${endS} is before --start ${startS}`)
    const waitSubscribers =
      values['wait-subscribers'] === undefined
        ? 0
        : integerOption('--wait-subscribers', values['wait-subscribers'], 0, 1_000_000)
    const waitTimeoutMs =
      values['wait-timeout'] === undefined
        ? 10_000
        : integerOption('--wait-timeout', values['wait-timeout'], 0)
    const socketOptions = toolCurve(io, 'replay', 'ZMQ_PUB', [endpoint])
    if (!socketOptions) return CLI_EXIT.CONFIG_INVALID

    try {
      const summary = await replayInto(file, endpoint, {
        rate,
        loops: values.loop ? 0 : 1,
        topics,
        startS,
        endS,
        waitSubscribers,
        waitTimeoutMs,
        signal: io.signal,
        socketOptions,
        onAttached: (address) => {
          note(io, 'replay', `${endpoint.action} ${address}`)
          if (waitSubscribers > 0)
            note(io, 'replay', `waiting for ${waitSubscribers} subscriber(s)`)
        },
      })
      const perTopic = [...summary.byTopic].map(([t, n]) => `${t}: ${n}`).join(', ')
      note(
        io,
        'replay',
        `${summary.interrupted ? 'interrupted; ' : ''}sent ${summary.sent} message(s), ${summary.bytes} B, in ${fixed(summary.elapsedMs / 1000, 3)} s (recorded span ${fixed(summary.recordedMs / 1000, 3)} s, ${summary.loops} loop(s), rate ${rate === 0 ? 'max' : rate})${perTopic ? `; ${perTopic}` : ''}`,
      )
      return CLI_EXIT.OK
    } catch (error) {
      if (error instanceof RecordingError) {
        note(io, 'replay', error.message)
        return error.unreadable ? CLI_EXIT.NO_INPUT : CLI_EXIT.DATA_ERROR
      }
      if (error instanceof NoSubscriberError) {
        note(io, 'replay', error.message)
        return CLI_EXIT.UNAVAILABLE
      }
      if (errorCode(error)?.startsWith('E')) {
        note(
          io,
          'replay',
          `cannot ${endpoint.action} ${endpoint.address}: ${(error as Error).message}`,
        )
        return CLI_EXIT.SOCKET_FAILED
      }
      throw error
    }
  },
})
