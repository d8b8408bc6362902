/**
 * Issue 14's tail question: where do the one-way latency tails at 10k msg/s come from? Runs the
 * latency scenario's stream (1 KiB, paced, C publisher, control class) into the container and the
 * bare zeromq.js worker with BENCH_TRACE=1: each receiving thread records when it handled every
 * message and its own garbage collections (PerformanceObserver 'gc'), on the publisher's clock.
 * A message slower than the run's p99 is "GC" if a collection of its thread overlapped the time
 * from its send to its handling; the rest waited on something else (the OS scheduler, the
 * socket, the event loop). Repetitions interleaved; figures per repetition.
 *
 *   npm run bench:tail -- [--rate 10000] [--seconds 10] [--reps 3] [--semi-space MB] [--record]
 *
 * `--semi-space MB` adds a container run with `node --min-semi-space-size=MB`, for the README's
 * comparison of young-generation sizes ("Tails"). `--record` adds a container that records
 * what it receives (ZMQ_RECORD_FILE), for the README's recording tails ("Record and replay").
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { constants } from 'node:perf_hooks'
import { wholeNumber } from './lib/builds'
import { container, containerWith, type Design, zmqWorker } from './lib/designs'
import { rotate, runOnce } from './lib/flow'
import { prepareTools } from './lib/peers'
import { toolArgs } from './lib/tool-args'

const { values: args } = toolArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    'semi-space': { type: 'string', default: '0' },
    record: { type: 'boolean', default: false },
  },
})
const RATE = wholeNumber('rate', args.rate, 1)
const SECONDS = wholeNumber('seconds', args.seconds, 1)
const REPS = wholeNumber('reps', args.reps, 1)

interface Trace {
  /** Pairs: handled at (hrtime ns), latency (us). */
  readonly handled: number[]
  /** [start ns, duration ms, kind] per collection. */
  readonly gcs: Array<[number, number, number]>
}

/** perf_hooks' `entry.detail.kind` values (constants.NODE_PERFORMANCE_GC_*). */
const GC_KIND: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

function analyse(trace: Trace) {
  const n = trace.handled.length / 2
  const lat: number[] = []
  for (let i = 0; i < n; i++) lat.push(trace.handled[2 * i + 1] as number)
  const sorted = [...lat].sort((a, b) => a - b)
  const p99 = quantile(sorted, 0.99)
  const gcs = trace.gcs.map(([start, ms, kind]) => ({ start, end: start + ms * 1e6, ms, kind }))
  let slow = 0
  let slowGc = 0
  const withoutGc: number[] = []
  for (let i = 0; i < n; i++) {
    const handledNs = trace.handled[2 * i] as number
    const us = lat[i] as number
    const sentNs = handledNs - us * 1000
    const overlaps = gcs.some((g) => g.start < handledNs && g.end > sentNs)
    if (!overlaps) withoutGc.push(us)
    if (us <= p99) continue
    slow++
    if (overlaps) slowGc++
  }
  withoutGc.sort((a, b) => a - b)
  const byKind: Record<string, { count: number; ms: number[] }> = {}
  for (const g of gcs) {
    const k = GC_KIND[g.kind] ?? String(g.kind)
    byKind[k] ??= { count: 0, ms: [] }
    byKind[k].count++
    byKind[k].ms.push(g.ms)
  }
  return {
    n,
    p50: quantile(sorted, 0.5),
    p99,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    slow,
    slowGcShare: slow ? slowGc / slow : 0,
    p99WithoutGc: quantile(withoutGc, 0.99),
    gcs: Object.fromEntries(
      Object.entries(byKind).map(([k, v]) => {
        const ms = v.ms.sort((a, b) => a - b)
        return [k, { count: v.count, medianMs: quantile(ms, 0.5), maxMs: ms[ms.length - 1] }]
      }),
    ),
  }
}

async function main(): Promise<void> {
  const tools = prepareTools()
  const semi = wholeNumber('semi-space', args['semi-space'], 0)
  const designs: Design[] = [container, zmqWorker]
  if (semi > 0)
    designs.push({
      ...container,
      id: 'container-semi',
      label: `container, node --min-semi-space-size=${semi}`,
      start: (plan, tools) =>
        container.start({ ...plan, nodeArgs: [`--min-semi-space-size=${semi}`] }, tools),
    })
  if (args.record) {
    // Removed at exit: each run's recording is some 60-100 MB.
    const dir = mkdtempSync(path.join(tmpdir(), 'zc-bench-tail-'))
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    const file = path.join(dir, 'tail.mcap')
    designs.push(
      containerWith(
        'container-record',
        { ZMQ_RECORD_FILE: file },
        { label: 'container, ZMQ_RECORD_FILE' },
      ),
    )
  }
  process.stdout.write(
    `tail trace: ${RATE} msg/s of 1 KiB for ${SECONDS} s, ${REPS} repetitions; ${cpus().length} x ${cpus()[0]?.model}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  )
  for (let rep = 0; rep < REPS; rep++) {
    for (const design of rotate(designs, rep)) {
      const out = await runOnce({
        design,
        tools,
        streams: [{ topics: ['lat'], size: 1024, rate: RATE, count: RATE * SECONDS, nodrop: true }],
        sockets: ([endpoint]) => [
          { name: 'lat', endpoint: endpoint as string, component: 'lat', latencyClass: 'control' },
        ],
        plan: { latency: true, warmup: Math.round(RATE / 10), trace: true },
        timeoutMs: SECONDS * 1000 + 30_000,
      })
      const trace = out.traces.get('lat') as Trace | undefined
      if (!trace) throw new Error(`${design.label}: no trace`)
      const a = analyse(trace)
      const f = (us: number) => `${us.toFixed(0)} us`
      process.stdout.write(
        `${design.label}, rep ${rep + 1}: ${a.n} msgs, p50 ${f(a.p50)}, p99 ${f(a.p99)}, max ${f(a.max)}; ` +
          `slower than p99: ${a.slow}, ${(100 * a.slowGcShare).toFixed(0)}% overlapped a GC of their thread; ` +
          `p99 of messages no GC overlapped: ${f(a.p99WithoutGc)}; GCs ${JSON.stringify(a.gcs)}\n`,
      )
    }
  }
  process.stdout.write(
    `load at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  )
}

void main()
