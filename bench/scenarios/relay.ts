import { type BenchContext, failureNote, type Scenario } from '../lib/context'
import { cFloor, container, type Design, pyzmq, zmqLoop, zmqWorker } from '../lib/designs'
import { type Goal, goalList, ratio, table, us } from '../lib/report'
import { median, type Percentiles } from '../lib/stats'
import {
  caseName,
  LATENCY_HEADERS,
  latencyCharts,
  latencyRows,
  measureLatency,
  type RateCase,
  STEADY_WARMUP_SECONDS,
  warningNote,
} from './latency'

export const relay: Scenario = {
  id: 'relay',
  title: '4. Publish from a handler: through the main thread vs directly',
  async run(ctx: BenchContext) {
    const designs = ctx.available([container, zmqWorker, zmqLoop, pyzmq, cFloor])
    // Steady state, as in the latency scenario: the JIT's first seconds left out.
    const warmupSeconds = ctx.quick ? 0.5 : STEADY_WARMUP_SECONDS
    const rates: RateCase[] = ctx.quick
      ? [
          { rate: 1000, seconds: 1, warmupSeconds },
          { rate: 10_000, seconds: 0.5, warmupSeconds },
        ]
      : [
          { rate: 1000, seconds: 2, warmupSeconds },
          { rate: 10_000, seconds: 1, warmupSeconds },
        ]
    const failures: string[] = []
    const all = await measureLatency(ctx, designs, rates, { relay: true, size: 1024 }, failures)
    const floor = designs.includes(cFloor) ? cFloor : undefined
    const med = (d: Design, r: RateCase, k: keyof Percentiles) => {
      const m = all.find((x) => x.design === d && x.rateCase === r)
      return m ? median(m.reps.map((p) => p[k])) : undefined
    }
    const goals: Goal[] = rates.map((r) => {
      const { rate } = r
      const c = med(container, r, 'p99')
      const w = med(zmqWorker, r, 'p99')
      return {
        scenario: '4',
        goal:
          rate === 10_000
            ? 'publish through the main thread: p99 at 10k msg/s within 1.5x publishing directly from a bare worker (steady state)'
            : `publish through the main thread vs directly from a bare worker, p99 at ${rate / 1000}k msg/s (steady state; reported)`,
        measured: `${us(c)} vs ${us(w)} = ${ratio(c, w)}`,
        met:
          rate === 10_000 ? (c !== undefined && w !== undefined ? c <= 1.5 * w : undefined) : null,
      }
    })
    return {
      body: [
        `The receiver's handler republishes every 1 KiB message (relay.data); a C sink subscribed to it measures publisher -> receiver -> sink latency with the original send timestamp. The container's handler calls ctx.publish, which posts the message to the main thread, which sends it on the XPUB it owns. The bare worker, the one-loop process, the pyzmq thread and the C thread send on a PUB socket of their own, directly. The sink joins the receiver's PUB after a 300 ms slow-joiner settle. The first ${warmupSeconds} s of each run are left out, as in scenario 3 (the JIT's warm-up). "handled" is messages that reached the sink / messages sent.`,
        table(LATENCY_HEADERS, latencyRows(all, floor)),
        goalList(goals),
        ...warningNote(all),
        ...failureNote(failures),
      ],
      goals,
      charts: latencyCharts('4. Publisher -> handler -> publish -> sink, 1 KiB', all),
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
