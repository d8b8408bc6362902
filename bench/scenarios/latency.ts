import { attempt, type BenchContext, failureNote, type Scenario } from '../lib/context'
import {
  cFloor,
  container,
  containerZeroCopy,
  type Design,
  pyzmq,
  zmqLoop,
  zmqWorker,
} from '../lib/designs'
import { rotate, runOnce } from '../lib/flow'
import {
  CHART_PERCENTILES,
  type ChartPanel,
  type Goal,
  goalList,
  num,
  ratio,
  table,
  us,
} from '../lib/report'
import { type Histogram, histogram, median, type Percentiles, percentilesUs } from '../lib/stats'

export interface RateCase {
  readonly rate: number
  /** Seconds of sending per run that are measured. */
  readonly seconds: number
  /**
   * Seconds of sending before those, left out. In a receiver's first seconds V8 compiles its
   * per-message functions with its optimizing compiler, and each compilation delays a message
   * or two (README "Tails"); a steady-state case waits that out, for every design alike.
   */
  readonly warmupSeconds: number
  /** Told apart from the steady-state case of the same rate (e.g. "first 3 s"). */
  readonly label?: string
}

/** The case as the tables show it: "1k msg/s", or "1k msg/s, first 3 s". */
export const caseName = (r: RateCase) => `${r.rate / 1000}k msg/s${r.label ? `, ${r.label}` : ''}`

/** Steady state: the first seconds (the JIT's) left out, for every design alike. */
export const STEADY_WARMUP_SECONDS = 3

export interface LatencyMeasurement {
  readonly design: Design
  readonly rateCase: RateCase
  readonly reps: Percentiles[]
  readonly pooled: Histogram
  /** Messages handled / sent, summed over repetitions. */
  handled: number
  sent: number
  /** Receiver warnings and errors over all repetitions. */
  readonly warnings: Record<string, number>
}

/**
 * Runs a paced, timestamped 1 KiB stream into each design (directly, or through its relay to a
 * sink), every rate, repetitions interleaved. Shared by the latency and relay scenarios.
 */
export async function measureLatency(
  ctx: BenchContext,
  designs: readonly Design[],
  rates: readonly RateCase[],
  options: { relay: boolean; size: number },
  failures: string[],
): Promise<LatencyMeasurement[]> {
  const all: LatencyMeasurement[] = []
  for (const r of rates)
    for (const design of designs)
      all.push({
        design,
        rateCase: r,
        reps: [],
        pooled: histogram(),
        handled: 0,
        sent: 0,
        warnings: {},
      })
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const r of rates) {
      for (const design of rotate(designs, rep)) {
        const m = all.find((x) => x.design === design && x.rateCase === r) as LatencyMeasurement
        const warmup = Math.round(r.rate * r.warmupSeconds)
        const count = Math.round(r.rate * r.seconds) + warmup
        const label = `${design.label} ${caseName(r)} rep ${rep + 1}`
        ctx.log(`  ${label}`)
        const out = await attempt(ctx, failures, label, () =>
          runOnce({
            design,
            tools: ctx.tools,
            // Loss-free, so the end marker always arrives; at these rates nothing blocks.
            streams: [{ topics: ['lat'], size: options.size, rate: r.rate, count, nodrop: true }],
            sockets: ([endpoint]) => [
              {
                name: 'lat',
                endpoint: endpoint as string,
                component: 'lat',
                latencyClass: 'control',
              },
            ],
            relay: options.relay,
            plan: { latency: true, warmup },
            timeoutMs: (r.warmupSeconds + r.seconds) * 1000 + 30_000,
          }),
        )
        const name = options.relay ? 'sink' : 'lat'
        const h = out?.latencies.get(name)
        if (!out || !h) continue
        m.reps.push(percentilesUs(h))
        m.pooled.add(h)
        m.handled += out.results.get(name)?.count ?? 0
        m.sent += out.sent[0] ?? count
        for (const [k, v] of Object.entries(out.warnings)) m.warnings[k] = (m.warnings[k] ?? 0) + v
      }
    }
  }
  return all
}

export function latencyRows(all: readonly LatencyMeasurement[], floor: Design | undefined) {
  return all.map((m) => {
    const med = (k: keyof Percentiles) => median(m.reps.map((p) => p[k]))
    const base = all.find((x) => x.design === floor && x.rateCase === m.rateCase)
    const baseMed = (k: keyof Percentiles) =>
      base ? median(base.reps.map((p) => p[k])) : undefined
    return [
      m.design.label,
      caseName(m.rateCase),
      us(med('p50')),
      us(med('p99')),
      us(med('p999')),
      us(med('max')),
      m.design === floor ? '' : ratio(med('p50'), baseMed('p50')),
      m.design === floor ? '' : ratio(med('p99'), baseMed('p99')),
      m.sent ? `${num((100 * m.handled) / m.sent)}%` : 'n/a',
    ]
  })
}

export function latencyCharts(title: string, all: readonly LatencyMeasurement[]): ChartPanel[] {
  const cases = [...new Set(all.map((m) => m.rateCase))]
  return cases.map((rateCase) => ({
    title: `${title}, ${caseName(rateCase)} (all repetitions pooled)`,
    series: all
      .filter((m) => m.rateCase === rateCase && m.pooled.totalCount > 0)
      .map((m) => ({
        label: m.design.label,
        values: CHART_PERCENTILES.map((p) =>
          p === 100 ? m.pooled.maxValue / 1000 : m.pooled.getValueAtPercentile(p) / 1000,
        ),
      })),
  }))
}

/** The receivers' own warnings and errors, if any: a loss usually shows up here first. */
export function warningNote(all: readonly LatencyMeasurement[]): string[] {
  const lines = all.flatMap((m) =>
    Object.entries(m.warnings).map(
      ([what, n]) =>
        `- ${m.design.label}, ${caseName(m.rateCase)}: \`${what}\`, ${n} log line${n === 1 ? '' : 's'} (the container logs a repeated error at most once a second)`,
    ),
  )
  return lines.length ? [`Warnings and errors the receivers logged:\n\n${lines.join('\n')}`] : []
}

export const LATENCY_HEADERS = [
  'receiver',
  'rate',
  'p50',
  'p99',
  'p99.9',
  'max',
  'p50 vs C',
  'p99 vs C',
  'handled',
]

export const latency: Scenario = {
  id: 'latency',
  title: '3. One-way latency, 1 KiB at 1k and 10k msg/s',
  async run(ctx) {
    // The zero-copy container beside the container as it ships: the finalizers of zeromq.js's
    // external Buffers run in bursts after each garbage collection (README "Receiving").
    const designs = ctx.available([container, containerZeroCopy, zmqLoop, zmqWorker, pyzmq, cFloor])
    const warmupSeconds = ctx.quick ? 0.5 : STEADY_WARMUP_SECONDS
    const measured = ctx.quick ? 1 : 3
    // The first seconds after start as well, measured from the first 100 ms (the connection's
    // warm-up): what a service feels right after it starts, JIT compilations included.
    const cold: RateCase = {
      rate: 1000,
      seconds: measured,
      warmupSeconds: 0.1,
      label: `first ${measured} s`,
    }
    const steady1k: RateCase = { rate: 1000, seconds: measured, warmupSeconds }
    const steady10k: RateCase = { rate: 10_000, seconds: measured / 2, warmupSeconds }
    const rates = [cold, steady1k, steady10k]
    const failures: string[] = []
    const all = await measureLatency(ctx, designs, rates, { relay: false, size: 1024 }, failures)
    const floor = designs.includes(cFloor) ? cFloor : undefined
    const find = (d: Design | undefined, r: RateCase) =>
      all.find((m) => m.design === d && m.rateCase === r)
    const med = (m: LatencyMeasurement | undefined, k: keyof Percentiles) =>
      m ? median(m.reps.map((p) => p[k])) : undefined
    const c = find(container, steady1k)
    const f = find(floor, steady1k)
    const p50 = med(c, 'p50')
    const p99 = med(c, 'p99')
    const p99at10k = med(find(container, steady10k), 'p99')
    const floorP99at10k = med(find(floor, steady10k), 'p99')
    const coldP99 = med(find(container, cold), 'p99')
    const coldFloorP99 = med(find(floor, cold), 'p99')
    const goals: Goal[] = [
      {
        scenario: '3',
        goal: 'container p50 within 1.2x a C receiver (1 KiB, 1k msg/s, steady state)',
        measured: `${us(p50)} vs ${us(med(f, 'p50'))} = ${ratio(p50, med(f, 'p50'))}`,
        met: p50 !== undefined && f ? p50 <= 1.2 * (med(f, 'p50') as number) : undefined,
      },
      {
        scenario: '3',
        goal: 'container p99 within 2x a C receiver (1 KiB, 1k msg/s, steady state)',
        measured: `${us(p99)} vs ${us(med(f, 'p99'))} = ${ratio(p99, med(f, 'p99'))}`,
        met: p99 !== undefined && f ? p99 <= 2 * (med(f, 'p99') as number) : undefined,
      },
      {
        scenario: '3',
        goal: 'container p99 within 3x a C receiver (1 KiB, 10k msg/s, steady state)',
        measured: `${us(p99at10k)} vs ${us(floorP99at10k)} = ${ratio(p99at10k, floorP99at10k)}`,
        met:
          p99at10k !== undefined && floorP99at10k !== undefined
            ? p99at10k <= 3 * floorP99at10k
            : undefined,
      },
      {
        scenario: '3',
        goal: `container p99 vs a C receiver in the first ${measured} s after start (1 KiB, 1k msg/s; reported)`,
        measured: `${us(coldP99)} vs ${us(coldFloorP99)} = ${ratio(coldP99, coldFloorP99)}`,
        met: null,
      },
    ]
    return {
      body: [
        `A C publisher sends 1 KiB messages at a fixed rate, each stamped with CLOCK_MONOTONIC at send; the handler subtracts that from process.hrtime.bigint() (time.monotonic_ns in Python, clock_gettime in C) on entry. Same host, same clock. Steady state (the goals): ${rates
          .filter((r) => r !== cold)
          .map((r) => `${r.rate} msg/s for ${warmupSeconds + r.seconds} s`)
          .join(
            ', ',
          )}, of which the first ${warmupSeconds} s are left out, for every receiver${ctx.quick ? ' (--quick: too short a warm-up for the steady state; the verdicts are indicative only)' : ''}: in its first seconds V8 compiles each Node receiver's per-message functions with its optimizing compiler, and those compilations delay single messages (README, "Tails"). "${caseName(cold)}" measures that start: ${cold.rate} msg/s from 100 ms after the start of the stream (the connection's warm-up) for ${cold.seconds} s. Percentiles are per run; the table shows their medians over ${ctx.reps} interleaved repetitions, the chart pools all repetitions.`,
        table(LATENCY_HEADERS, latencyRows(all, floor)),
        goalList(goals),
        ...warningNote(all),
        ...failureNote(failures),
      ],
      goals,
      charts: latencyCharts('3. One-way latency, 1 KiB', all),
      raw: all.map((m) => ({
        design: m.design.id,
        case: caseName(m.rateCase),
        rate: m.rateCase.rate,
        seconds: m.rateCase.seconds,
        warmupSeconds: m.rateCase.warmupSeconds,
        reps: m.reps,
        handled: m.handled,
        sent: m.sent,
        warnings: m.warnings,
      })),
    }
  },
}
