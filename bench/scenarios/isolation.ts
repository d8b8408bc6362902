import { attempt, type BenchContext, failureNote, type Scenario } from '../lib/context'
import {
  cFloor,
  container,
  containerControlBoost,
  containerControlSlice,
  containerNoPriority,
  type Design,
  pyzmq,
  type SocketPlan,
  zmqLoop,
  zmqLoopYield,
  zmqWorker,
} from '../lib/designs'
import { rotate, runOnce } from '../lib/flow'
import type { Stream } from '../lib/peers'
import { CHART_PERCENTILES, type ChartPanel, type Goal, goalList, table, us } from '../lib/report'
import { type Histogram, histogram, median, type Percentiles, percentilesUs } from '../lib/stats'

const CONTROL_RATE = 100
/** 2 ms of CPU per message: one thread handles at most 500 msg/s, so 1000 msg/s is 2x. */
const BURN_MS = 2
const TELEMETRY_RATE = 1000

interface Variant {
  readonly id: string
  readonly label: string
  readonly telemetrySockets: number
  readonly designs: Design[]
}

interface Cell {
  readonly variant: Variant
  readonly design: Design
  readonly reps: Percentiles[]
  readonly pooled: Histogram
}

export const isolation: Scenario = {
  id: 'isolation',
  title: '1. Isolation: control latency while telemetry is 2x overloaded',
  async run(ctx: BenchContext) {
    const seconds = ctx.quick ? 1 : 6
    const warmupSeconds = ctx.quick ? 0.5 : 1
    const all: Variant[] = [
      {
        id: 'one',
        label: 'control + 1 telemetry socket',
        telemetrySockets: 1,
        designs: ctx.available([container, zmqLoop, zmqLoopYield, zmqWorker, pyzmq, cFloor]),
      },
      {
        id: 'two',
        label: 'control + 2 telemetry sockets (3 busy threads on 2 cores)',
        telemetrySockets: 2,
        // Priorities on (the default) and off, interleaved: what the class nice values buy.
        designs: ctx.available([
          container,
          containerControlSlice,
          containerNoPriority,
          containerControlBoost,
          zmqWorker,
          pyzmq,
          cFloor,
        ]),
      },
    ]
    // --quick keeps to the first variant: the pyzmq runs of the second take tens of seconds.
    const variants = ctx.quick ? all.slice(0, 1) : all
    const cells: Cell[] = variants.flatMap((variant) =>
      variant.designs.map((design) => ({ variant, design, reps: [], pooled: histogram() })),
    )
    const failures: string[] = []
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const variant of variants) {
        for (const design of rotate(variant.designs, rep)) {
          const cell = cells.find((c) => c.variant === variant && c.design === design) as Cell
          const label = `${variant.id} telemetry: ${design.label} rep ${rep + 1}`
          ctx.log(`  ${label}`)
          const streams: Stream[] = [
            {
              topics: ['ctl'],
              size: 16,
              rate: CONTROL_RATE,
              count: CONTROL_RATE * seconds,
              nodrop: false,
            },
            ...Array.from({ length: variant.telemetrySockets }, (_, i) => ({
              topics: [`tel${i}`],
              size: 1024,
              rate: TELEMETRY_RATE,
              // Until stopped: the telemetry backlog never drains, so its end would never come.
              count: 0,
              // A real telemetry publisher drops at the high-water mark rather than stall.
              nodrop: false,
            })),
          ]
          const out = await attempt(ctx, failures, label, () =>
            runOnce({
              design,
              tools: ctx.tools,
              streams,
              sockets: (endpoints) => [
                {
                  name: 'control',
                  endpoint: endpoints[0] as string,
                  component: 'ctl',
                  latencyClass: 'control',
                },
                ...endpoints.slice(1).map(
                  (endpoint, i): SocketPlan => ({
                    name: `telemetry${i}`,
                    endpoint,
                    component: `tel${i}`,
                    burnMs: BURN_MS,
                    latencyClass: 'telemetry',
                  }),
                ),
              ],
              awaitSockets: ['control'],
              plan: { latency: true, warmup: CONTROL_RATE * warmupSeconds },
              timeoutMs: seconds * 1000 + 60_000,
            }),
          )
          const h = out?.latencies.get('control')
          if (!h) continue
          cell.reps.push(percentilesUs(h))
          cell.pooled.add(h)
        }
      }
    }
    const med = (c: Cell | undefined, k: keyof Percentiles) =>
      c?.reps.length ? median(c.reps.map((p) => p[k])) : undefined
    const worst = (c: Cell | undefined) =>
      c?.reps.length ? Math.max(...c.reps.map((p) => p.max)) : undefined
    const rows = cells.map((c) => [
      c.variant.label,
      c.design.label,
      us(med(c, 'p50')),
      us(med(c, 'p99')),
      us(med(c, 'p999')),
      us(med(c, 'max')),
      us(worst(c)),
      us(c.pooled.totalCount ? c.pooled.getValueAtPercentile(99) / 1000 : undefined),
      String(c.reps.length),
    ])
    const goals: Goal[] = variants.flatMap((variant) => {
      const c = cells.find((x) => x.variant === variant && x.design === container)
      const p99 = med(c, 'p99')
      const max = med(c, 'max')
      const w = worst(c)
      return [
        {
          scenario: '1',
          goal: `control p99 below 1 ms (${variant.label})`,
          measured: us(p99),
          met: p99 === undefined ? undefined : p99 < 1000,
        },
        {
          scenario: '1',
          goal: `control max below its 10 ms budget (${variant.label}; median of runs, worst run in brackets)`,
          measured: `${us(max)} (${us(w)})`,
          met: max === undefined || w === undefined ? undefined : w < 10_000,
        },
      ]
    })
    const boosted = cells.find((x) => x.design === containerControlBoost)
    if (boosted?.reps.length)
      goals.push({
        scenario: '1',
        goal: `the same with CAP_SYS_NICE: control _NICE=-10 (${boosted.variant.label}; p99, max median (worst); reported)`,
        measured: `${us(med(boosted, 'p99'))}, ${us(med(boosted, 'max'))} (${us(worst(boosted))})`,
        met: null,
      })
    const charts: ChartPanel[] = variants.map((variant) => ({
      title: `1. Control latency, ${variant.label}`,
      series: cells
        .filter((c) => c.variant === variant && c.pooled.totalCount > 0)
        .map((c) => ({
          label: c.design.label,
          values: CHART_PERCENTILES.map((p) =>
            p === 100 ? c.pooled.maxValue / 1000 : c.pooled.getValueAtPercentile(p) / 1000,
          ),
        })),
    }))
    return {
      body: [
        `One receiver with a control socket (${CONTROL_RATE} msg/s, 16 B, timestamped) and one or two telemetry sockets, each fed ${TELEMETRY_RATE} msg/s of 1 KiB by a C publisher whose PUB drops at the high-water mark. The telemetry handler burns ${BURN_MS} ms of CPU per message (busy wait), so one thread can handle 500 msg/s: 2x overload. Control latency is send -> control handler entry. Each run sends ${seconds} s of control messages; the first ${warmupSeconds} s are left out, so the telemetry backlog has built up. Medians over ${ctx.reps} interleaved repetitions; "worst max" is the largest max of any repetition; "p99 pooled" is the p99 of all repetitions' samples together. The "max" goal is judged on the worst run.`,
        table(
          ['variant', 'receiver', 'p50', 'p99', 'p99.9', 'max', 'worst max', 'p99 pooled', 'runs'],
          rows,
        ),
        goalList(goals),
        ...failureNote(failures),
      ],
      goals,
      charts,
      raw: cells.map((c) => ({ variant: c.variant.id, design: c.design.id, reps: c.reps })),
    }
  },
}
