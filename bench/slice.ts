/**
 * Issue 14's control class on saturated cores: what a short scheduler slice for the control
 * thread (`_SLICE_US`, opt-in) buys, as an A/B of the same container with the kernel's own slice
 * (the default) and with `ZMQ_SUB_<CONTROL>_SLICE_US=100`, repetitions interleaved.
 *
 * - isolation: control (100 msg/s, 16 B) beside 2 telemetry sockets flooded 2x past what their
 *   handlers take (1000 msg/s of 1 KiB, 2 ms of CPU each), as scenario 1 of `npm run bench`:
 *   3 busy threads on 2 cores.
 * - latency: one control socket, a paced 1 KiB stream at 1k and 10k msg/s, as scenario 3: cores
 *   with time to spare.
 *
 * Control p99 per repetition and pooled (all repetitions' samples). The machine is shared: read
 * the load printed with the table, and single repetitions' spread before the pooled figure.
 *
 *   npm run bench:slice -- [--reps 6] [--only isolation|latency]
 */
import { cpus, loadavg } from 'node:os'
import { wholeNumber } from './lib/builds'
import { container, type SocketPlan } from './lib/designs'
import { runOnce } from './lib/flow'
import { prepareTools, type Stream } from './lib/peers'
import { type Histogram, histogram, median, percentilesUs } from './lib/stats'
import { toolArgs, usage } from './lib/tool-args'

const { values: args } = toolArgs({
  options: { reps: { type: 'string', default: '6' }, only: { type: 'string' } },
})
const REPS = wholeNumber('reps', args.reps, 1)
if (args.only !== undefined && !['isolation', 'latency'].includes(args.only))
  usage(`--only: isolation or latency, not "${args.only}"`)

/** The default (the kernel's own slice), then the control socket's `_SLICE_US=100`. */
const VARIANTS = ["the kernel's (default)", '_SLICE_US=100'] as const

interface Case {
  readonly title: string
  readonly streams: Stream[]
  readonly sockets: (endpoints: string[]) => SocketPlan[]
  /** The control socket's name, for `_SLICE_US` and its latencies. */
  readonly control: string
  readonly warmup: number
}

const ISOLATION_SECONDS = 6
const LATENCY_SECONDS = 3

const isolation: Case = {
  title: 'isolation: control + 2 flooded telemetry sockets on 2 cores',
  streams: [
    { topics: ['ctl'], size: 16, rate: 100, count: 100 * ISOLATION_SECONDS, nodrop: false },
    { topics: ['tel0'], size: 1024, rate: 1000, count: 0, nodrop: false },
    { topics: ['tel1'], size: 1024, rate: 1000, count: 0, nodrop: false },
  ],
  sockets: (endpoints) => [
    {
      name: 'control',
      endpoint: endpoints[0] as string,
      component: 'ctl',
      latencyClass: 'control',
    },
    ...[1, 2].map(
      (i): SocketPlan => ({
        name: `telemetry${i - 1}`,
        endpoint: endpoints[i] as string,
        component: `tel${i - 1}`,
        burnMs: 2,
        latencyClass: 'telemetry',
      }),
    ),
  ],
  control: 'control',
  // The first second: the telemetry backlog builds up.
  warmup: 100,
}

const cases: Case[] = [
  isolation,
  ...[1000, 10_000].map(
    (rate): Case => ({
      title: `latency: one control socket, 1 KiB at ${rate} msg/s`,
      streams: [{ topics: ['lat'], size: 1024, rate, count: rate * LATENCY_SECONDS, nodrop: true }],
      sockets: ([endpoint]) => [
        { name: 'lat', endpoint: endpoint as string, component: 'lat', latencyClass: 'control' },
      ],
      control: 'lat',
      warmup: rate / 10,
    }),
  ),
].filter((c) => !args.only || c.title.startsWith(args.only))

async function main(): Promise<void> {
  const tools = prepareTools()
  for (const n of tools.notes) process.stdout.write(`note: ${n}\n`)
  const loadAtStart = loadavg()[0]?.toFixed(2)
  const rows: string[] = []
  for (const c of cases) {
    const pooled = VARIANTS.map(() => histogram())
    const p99s: number[][] = VARIANTS.map(() => [])
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 ? [1, 0] : [0, 1]
      for (const v of order) {
        const env = v === 1 ? { [`ZMQ_SUB_${c.control.toUpperCase()}_SLICE_US`]: '100' } : {}
        const out = await runOnce({
          design: container,
          tools,
          streams: c.streams,
          sockets: c.sockets,
          awaitSockets: [c.control],
          plan: { latency: true, warmup: c.warmup, env },
          timeoutMs: 120_000,
        })
        const h = out.latencies.get(c.control)
        if (!h) throw new Error(`no latencies for ${c.title}`)
        ;(pooled[v] as Histogram).add(h)
        const p = percentilesUs(h)
        ;(p99s[v] as number[]).push(p.p99)
        process.stdout.write(
          `  ${c.title}, ${VARIANTS[v]} rep ${rep + 1}: p50 ${p.p50.toFixed(0)} p99 ${p.p99.toFixed(0)} max ${p.max.toFixed(0)} µs\n`,
        )
      }
    }
    for (const [v, name] of VARIANTS.entries()) {
      const p = percentilesUs(pooled[v] as Histogram)
      const reps = (p99s[v] as number[]).sort((a, b) => a - b)
      rows.push(
        `| ${c.title} | ${name} | ${p.p50.toFixed(0)} µs | ${p.p99.toFixed(0)} µs | ${p.max.toFixed(0)} µs | ${median(reps).toFixed(0)} µs (${reps.map((x) => x.toFixed(0)).join(', ')}) |`,
      )
    }
  }
  process.stdout.write(
    `\ncontrol thread slice A/B (${REPS} rep(s) each, ${cpus().length} cores, load ${loadAtStart} -> ${loadavg()[0]?.toFixed(2)}):\n`,
  )
  process.stdout.write(
    '| case | control slice | pooled p50 | pooled p99 | max | p99 per repetition: median (each) |\n|---|---|---|---|---|---|\n',
  )
  process.stdout.write(`${rows.join('\n')}\n`)
}

void main()
