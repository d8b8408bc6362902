import { stat } from 'node:fs/promises'
import { CHANNEL_KEYS } from '../recording/format'
import { Recording, RecordingError } from '../recording/reader'
import { defineCommand } from './command'
import { fixed } from './format'
import { CLI_EXIT, note } from './io'

const HELP = `Usage: zmq-container info FILE.mcap

Describes a recording, like \`ros2 bag info\` or \`mcap info\`: writer, source endpoints,
start, end and duration, chunk compression, and per topic the message count, payload bytes,
mean rate and payload encoding. Reads any MCAP file, not only those that record writes.

Exit codes: 0 described; 64 bad arguments; 65 the file is damaged, cut off or not MCAP;
66 the file cannot be read.

Example:
  zmq-container info camera.mcap`

export const info = defineCommand({
  name: 'info',
  summary: 'describe a recording: duration, topics, counts, bytes, rates',
  help: HELP,
  options: {},
  positionals: { required: ['FILE'] },
  async run({ positionals }, io) {
    const [file = ''] = positionals
    let recording: Recording
    try {
      recording = await Recording.open(file)
    } catch (error) {
      if (!(error instanceof RecordingError)) throw error
      note(io, 'info', error.message)
      return error.unreadable ? CLI_EXIT.NO_INPUT : CLI_EXIT.DATA_ERROR
    }
    try {
      io.stdout.write(await describe(recording, (await stat(file)).size))
      return CLI_EXIT.OK
    } catch (error) {
      if (!(error instanceof RecordingError)) throw error
      note(io, 'info', error.message)
      return CLI_EXIT.DATA_ERROR
    } finally {
      await recording.close()
    }
  },
})

async function describe(recording: Recording, fileBytes: number): Promise<string> {
  // Statistics give counts and times but not bytes: one pass over the messages gives all.
  const topics = new Map<
    string,
    { messages: number; bytes: number; firstNs: bigint; lastNs: bigint }
  >()
  let firstNs: bigint | undefined
  let lastNs: bigint | undefined
  let messages = 0
  for await (const m of recording.messages()) {
    messages++
    firstNs ??= m.logTimeNs
    lastNs = m.logTimeNs
    const t = topics.get(m.topic)
    if (t) {
      t.messages++
      t.bytes += m.payload.byteLength
      t.lastNs = m.logTimeNs
    } else {
      topics.set(m.topic, {
        messages: 1,
        bytes: m.payload.byteLength,
        firstNs: m.logTimeNs,
        lastNs: m.logTimeNs,
      })
    }
  }
  const metadata = await recording.metadata()
  const encodings = new Map(recording.channels.map((c) => [c.topic, c.messageEncoding]))
  const durationS =
    firstNs === undefined || lastNs === undefined ? 0 : Number(lastNs - firstNs) / 1e9
  const lines = [
    `file:        ${recording.path} (${fileBytes} B)`,
    `library:     ${recording.library || '(not given)'}`,
  ]
  const source = metadata.get(CHANNEL_KEYS.endpoint)
  if (source)
    lines.push(`source:      ${source} (socket ${metadata.get(CHANNEL_KEYS.socket) ?? '?'})`)
  lines.push(
    `start:       ${firstNs === undefined ? '-' : iso(firstNs)}`,
    `end:         ${lastNs === undefined ? '-' : iso(lastNs)}`,
    `duration:    ${fixed(durationS, 3)} s`,
    `messages:    ${messages}`,
    `compression: ${[...recording.compressions].map(([c, n]) => `${c} (${n} chunk${n === 1 ? '' : 's'})`).join(', ') || 'none (no chunks)'}`,
    `topics:      ${topics.size}`,
  )
  const width = Math.max(5, ...[...topics.keys()].map((t) => t.length))
  for (const [name, t] of [...topics].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const spanS = Number(t.lastNs - t.firstNs) / 1e9
    const rate = t.messages > 1 && spanS > 0 ? `${fixed((t.messages - 1) / spanS, 2)}/s` : '-'
    lines.push(
      `  ${name.padEnd(width)}  ${String(t.messages).padStart(8)} msg  ${String(t.bytes).padStart(10)} B  ${rate.padStart(10)}  ${encodings.get(name) || '(no encoding)'}`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** ISO 8601 in UTC with nanoseconds cut to microseconds. */
function iso(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const micros = Number((ns / 1000n) % 1000n)
  return new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`)
}
