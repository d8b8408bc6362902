import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { attempt, type BenchContext, failureNote, type Scenario } from '../lib/context'
import { cFloor, container, type Design, pyzmq, zmqLoop, zmqWorker } from '../lib/designs'
import { rotate } from '../lib/flow'
import { Publisher } from '../lib/peers'
import type { Proc } from '../lib/proc'
import { type Goal, goalList, num, ratio, table } from '../lib/report'
import { median } from '../lib/stats'

export const SOCKET_COUNTS = [1, 4, 8] as const

/** An idle publisher with topics s0..s7 that every receiver of a scenario connects to. */
export async function idlePublisher(ctx: BenchContext): Promise<Publisher> {
  return Publisher.start(ctx.tools, [
    {
      topics: Array.from({ length: 8 }, (_, i) => `s${i}`),
      size: 16,
      rate: 0,
      count: 0,
      nodrop: false,
    },
  ])
}

/**
 * Spawns `design` with `n` idle sockets; resolves spawn -> ready, then `probe(proc)` (its pid,
 * its RSS) before it stops.
 */
export async function spawnIdle<T>(
  ctx: BenchContext,
  design: Design,
  n: number,
  endpoint: string,
  probe: (proc: Proc) => Promise<T>,
): Promise<{ readyMs: number; probed: T }> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'zc-bench-'))
  const receiver = design.start(
    {
      sockets: Array.from({ length: n }, (_, i) => ({
        name: `s${i}`,
        endpoint,
        component: `s${i}`,
        latencyClass: 'telemetry' as const,
      })),
      latency: false,
      warmup: 0,
      outDir,
    },
    ctx.tools,
  )
  try {
    const readyMs = await receiver.ready()
    const probed = await probe(receiver.proc)
    return { readyMs, probed }
  } finally {
    await receiver.proc.end()
    rmSync(outDir, { recursive: true, force: true })
  }
}

export const startup: Scenario = {
  id: 'startup',
  title: '6. Spawn -> ready',
  async run(ctx: BenchContext) {
    const designs = ctx.available([container, zmqLoop, zmqWorker, pyzmq, cFloor])
    const reps = ctx.quick ? 1 : Math.max(ctx.reps, 5)
    const failures: string[] = []
    const samples = new Map<string, number[]>()
    const pub = await idlePublisher(ctx)
    try {
      for (let rep = 0; rep < reps; rep++) {
        for (const n of SOCKET_COUNTS) {
          for (const design of rotate(designs, rep)) {
            const label = `${n} sockets: ${design.label} rep ${rep + 1}`
            ctx.log(`  ${label}`)
            const out = await attempt(ctx, failures, label, () =>
              spawnIdle(ctx, design, n, pub.endpoints[0] as string, async () => {
                // Let the process settle before the next spawn, so runs do not overlap.
                await delay(50)
              }),
            )
            if (out)
              samples.set(`${n}|${design.id}`, [
                ...(samples.get(`${n}|${design.id}`) ?? []),
                out.readyMs,
              ])
          }
        }
      }
    } finally {
      await pub.end()
    }
    const med = (n: number, d: Design) => median(samples.get(`${n}|${d.id}`) ?? [])
    const rows = designs.map((d) => [d.label, ...SOCKET_COUNTS.map((n) => num(med(n, d)))])
    const goals: Goal[] = SOCKET_COUNTS.map((n) => {
      const c = med(n, container)
      const w = med(n, zmqWorker)
      return {
        scenario: '6',
        goal: `spawn -> ready within 1.2x a bare worker, ${n} socket${n === 1 ? '' : 's'}`,
        measured: `${num(c)} ms vs ${num(w)} ms = ${ratio(c, w)}`,
        met: Number.isNaN(c) || Number.isNaN(w) ? undefined : c <= 1.2 * w,
      }
    })
    return {
      body: [
        `Time from spawn() to the ready line on stdout, read by the parent the same way for every design: the container's \`ready\` log line (after config, service load, every worker's ready handshake), the baselines' own ready line once every socket is connected and subscribed. Sockets connect to a live, idle C publisher. Medians of ${reps} interleaved repetitions.`,
        table(
          ['receiver', ...SOCKET_COUNTS.map((n) => `${n} socket${n > 1 ? 's' : ''} (ms)`)],
          rows,
        ),
        goalList(goals),
        ...failureNote(failures),
      ],
      goals,
      charts: [],
      raw: Object.fromEntries(samples),
    }
  },
}
