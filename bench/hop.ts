/**
 * Issue 14's "publish from a handler": what the hop from a receive thread to the main thread
 * costs by itself. ctx.publish posts each message to the main thread, which owns the PUB
 * sockets; a bare worker sends on a socket of its own and has no such hop. This measures the
 * hop alone, with nothing else running: a worker sends a timestamped 1 KiB message at a fixed
 * rate and the main thread takes the time on arrival (same clock, process.hrtime), over
 *
 * - a MessagePort (what the container uses: postMessage, the main thread's 'message' event);
 * - a ZeroMQ inproc PUSH -> PULL pair (the same wake-up through an eventfd, no structured clone).
 *
 * Rounds interleaved; figures per round, then medians.
 *
 *   npm run bench:hop -- [--rounds 3] [--seconds 3]
 */
import { cpus, loadavg } from 'node:os'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import { Pull } from 'zeromq'
import { wholeNumber } from './lib/builds'
import { median } from './lib/stats'
import { toolArgs } from './lib/tool-args'

const { values: args } = toolArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' } },
})
const ROUNDS = wholeNumber('rounds', args.rounds, 1)
const SECONDS = wholeNumber('seconds', args.seconds, 1)
const RATES = [1000, 10_000]
const KINDS = ['MessagePort', 'zeromq inproc'] as const
type Kind = (typeof KINDS)[number]

/** The sending thread: paced on absolute deadlines (timer precision), sleeping between sends. */
const SENDER = `
const { workerData } = require('node:worker_threads')
const { setTimeout: sleep } = require('node:timers/promises')
const { kind, rate, count, port, endpoint } = workerData
async function main() {
  let push
  if (kind !== 'MessagePort') {
    const { Push } = require('zeromq')
    push = new Push({ linger: 0 })
    push.connect(endpoint)
  }
  const payload = Buffer.alloc(1024)
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now()
    if (wait > 0) await sleep(wait)
    payload.writeBigUInt64LE(process.hrtime.bigint(), 0)
    // As a string: zeromq.js sends a Buffer over 128 B without a copy, and over inproc the
    // receiving thread would then hold this thread's memory, freed when it ends (an abort, here).
    if (push) await push.send(['relay.data', payload.toString('latin1')])
    else port.postMessage({ type: 'publish', topic: 'relay.data', payload })
  }
  push?.close()
  await sleep(10)
  port.close()
}
main()
`

interface Figures {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

function figures(us: number[]): Figures {
  us.sort((a, b) => a - b)
  const q = (p: number) => us[Math.min(us.length - 1, Math.floor(p * us.length))] as number
  return { p50: q(0.5), p99: q(0.99), max: us[us.length - 1] as number }
}

async function hop(kind: Kind, rate: number): Promise<Figures> {
  const count = rate * SECONDS
  // The first 10% warm the path up and are left out.
  const warmup = Math.floor(count / 10)
  const { port1, port2 } = new MessageChannel()
  const us: number[] = []
  let seen = 0
  const arrived = (sentNs: bigint) => {
    if (seen++ >= warmup) us.push(Number(process.hrtime.bigint() - sentNs) / 1000)
  }
  let pull: Pull | undefined
  const endpoint = `inproc://zc-bench-hop-${process.pid}-${kind.length}-${rate}`
  if (kind === 'zeromq inproc') {
    pull = new Pull({ linger: 0 })
    await pull.bind(endpoint)
  } else {
    port1.on('message', (m: { payload: Uint8Array }) =>
      arrived(Buffer.from(m.payload.buffer, m.payload.byteOffset).readBigUInt64LE(0)),
    )
  }
  const worker = new Worker(SENDER, {
    eval: true,
    workerData: { kind, rate, count, port: port2, endpoint },
    transferList: [port2 as MessagePort],
  })
  if (pull) {
    for (let i = 0; i < count; i++) {
      const [, payload] = (await pull.receive()) as [Buffer, Buffer]
      // The string went out UTF-8 encoded: decode it, back to the bytes it stood for.
      arrived(Buffer.from(payload.toString('utf8'), 'latin1').readBigUInt64LE(0))
    }
  }
  await new Promise((resolve) => worker.once('exit', resolve))
  pull?.close()
  port1.close()
  return figures(us)
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
  process.stdout.write(
    `worker -> main thread hop, 1 KiB, ${SECONDS} s per run, ${ROUNDS} rounds; ${cpus().length} x ${cpus()[0]?.model}; load ${load()}\n`,
  )
  const all = new Map<string, Figures[]>()
  for (let round = 0; round < ROUNDS; round++)
    for (const rate of RATES)
      for (const kind of round % 2 ? [...KINDS].reverse() : KINDS) {
        const f = await hop(kind, rate)
        const key = `${kind} at ${rate / 1000}k msg/s`
        all.set(key, [...(all.get(key) ?? []), f])
        process.stdout.write(
          `  round ${round + 1}, ${key}: p50 ${f.p50.toFixed(0)} us, p99 ${f.p99.toFixed(0)} us, max ${f.max.toFixed(0)} us\n`,
        )
      }
  process.stdout.write('medians of the rounds:\n')
  for (const [key, list] of all) {
    const m = (k: keyof Figures) => median(list.map((f) => f[k])).toFixed(0)
    process.stdout.write(`  ${key}: p50 ${m('p50')} us, p99 ${m('p99')} us, max ${m('max')} us\n`)
  }
  process.stdout.write(`load at end ${load()}\n`)
}

void main()
