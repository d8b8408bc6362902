/**
 * Issue 16's figure: what the envelope costs per message, envelope on vs off.
 *
 *   npm run bench:envelope -- [--quick]
 *
 * 1. The hooks alone, in ns per message: stamping on the publisher (EnvelopeStamper.next), and on
 *    the receive thread the frame check with the envelope plus the sequence/age bookkeeping
 *    (EnvelopeInbound.accept) against the plain frame check.
 * 2. Through a container: a test XPUB (ZMQ_XPUB_NODROP, so nothing is lost) floods a container's
 *    SUB over ipc, repetitions interleaved on/off; throughput and ns per message, median of 3.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { XPublisher } from 'zeromq'
import { EnvelopeStamper } from '../src/shared/envelope'
import { errorCode } from '../src/shared/errors'
import { LogThrottle } from '../src/shared/log-throttle'
import { createLogger } from '../src/shared/logger'
import { SocketCounters } from '../src/shared/shared-state'
import { TopicMatcher } from '../src/shared/topics'
import { startContainer } from '../src/testing'
import { EnvelopeInbound } from '../src/worker/envelope-inbound'
import { classifyFrames } from '../src/worker/frames'

const quick = process.argv.includes('--quick')
const HOOK_N = quick ? 200_000 : 2_000_000
const FLOW_N = quick ? 20_000 : 200_000
const REPS = quick ? 1 : 3
const PAYLOAD = Buffer.alloc(64, 1)

function nsPer(n: number, body: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 10_000); i++) body(i) // warm-up
  const startedAt = process.hrtime.bigint()
  for (let i = 0; i < n; i++) body(i)
  return Number(process.hrtime.bigint() - startedAt) / n
}

function hooks(): void {
  const stamper = new EnvelopeStamper('bench')
  const stamp = nsPer(HOOK_N, () => stamper.next('b.data'))
  const matcher = new TopicMatcher(['b.data'])
  const topic = Buffer.from('b.data')
  const plain = [topic, PAYLOAD]
  const spec = {
    kind: 'sub',
    name: 'bench',
    envPrefix: 'ZMQ_SUB_BENCH',
    latencyClass: 'telemetry',
    endpoints: [],
    topics: ['b.data'],
    minSubscribers: 0,
    subscriberTimeoutMs: 0,
    curve: undefined,
    pool: undefined,
    nice: undefined,
    envelope: true,
  } as const
  const log = createLogger('silent', {}, 'json')
  const inbound = new EnvelopeInbound(
    spec,
    new SocketCounters(undefined, 1),
    log,
    new LogThrottle({ flush: () => {} }),
  )
  const off = nsPer(HOOK_N, () => classifyFrames(plain, matcher, false))
  // One envelope frame whose sequence is rewritten in place: gap-free, as on a loss-free wire.
  const frame = new EnvelopeStamper('bench-rx').next('b.data')
  const enveloped = [topic, PAYLOAD, frame]
  let seq = 1n
  const on = nsPer(HOOK_N, () => {
    frame.writeBigUInt64LE(++seq, 16)
    const verdict = classifyFrames(enveloped, matcher, true)
    if (verdict.ok) inbound.accept(verdict.topic, verdict.subscription, verdict.envelope)
  })
  inbound.close()
  process.stdout.write(
    `hooks, ns per message (${HOOK_N} runs):\n  stamp (publisher)            ${stamp.toFixed(0)}\n  frame check, envelope off    ${off.toFixed(0)}\n  frame check + envelope on    ${on.toFixed(0)}  (+${(on - off).toFixed(0)}, one seq write included)\n`,
  )
}

async function flow(envelope: boolean, dir: string, rep: number): Promise<number> {
  const address = `ipc://${dir}/b-${envelope ? 'on' : 'off'}-${rep}`
  const pub = new XPublisher({ linger: 0, noDrop: true, sendTimeout: 0 })
  await pub.bind(address)
  const container = await startContainer({
    service: path.join(__dirname, '..', 'test', 'fixtures', 'services', 'counting.js'),
    env: {
      ZMQ_SUB_ENDPOINT: address,
      ZMQ_SUB_TOPICS: 'b.data',
      ZMQ_SUB_CLASS: 'telemetry',
      ...(envelope ? { ZMQ_SUB_ENVELOPE: 'true' } : {}),
      LOG_LEVEL: 'fatal',
    },
    timeoutMs: 120_000,
  })
  try {
    for (;;) {
      const [frame] = await pub.receive()
      if (frame?.[0] === 1) break
    }
    const stamper = new EnvelopeStamper('bench-flow')
    const startedAt = process.hrtime.bigint()
    for (let i = 0; i < FLOW_N; i++) {
      const frames = envelope ? ['b.data', PAYLOAD, stamper.next('b.data')] : ['b.data', PAYLOAD]
      for (;;) {
        try {
          await pub.send(frames)
          break
        } catch (error) {
          if (errorCode(error) !== 'EAGAIN') throw error
          await nextTurn()
        }
      }
    }
    const counts = await container.waitForMessages(FLOW_N, { timeoutMs: 120_000 })
    const ns = Number(process.hrtime.bigint() - startedAt) / FLOW_N
    if (counts.handled !== FLOW_N) throw new Error(`handled ${counts.handled} of ${FLOW_N}`)
    return ns
  } finally {
    await container.close()
    pub.close()
  }
}

async function main(): Promise<void> {
  hooks()
  const dir = mkdtempSync(path.join(tmpdir(), 'zc-bench-envelope-'))
  const results = { on: [] as number[], off: [] as number[] }
  try {
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 ? ([true, false] as const) : ([false, true] as const)
      for (const on of order) results[on ? 'on' : 'off'].push(await flow(on, dir, rep))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
  const line = (label: string, xs: number[]) => {
    const ns = median(xs)
    return `  envelope ${label}: ${(1e9 / ns).toFixed(0)} msg/s, ${ns.toFixed(0)} ns/msg (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})\n`
  }
  process.stdout.write(
    `through a container (ipc, ${PAYLOAD.length} B payload, ${FLOW_N} messages, median of ${REPS}):\n${line('off', results.off)}${line('on', results.on)}  cost: ${(median(results.on) - median(results.off)).toFixed(0)} ns/msg\n`,
  )
}

void main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
