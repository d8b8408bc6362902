import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { attempt, type BenchContext, failureNote, type Scenario } from '../lib/context'
import {
  cFloor,
  container,
  type Design,
  pyzmq,
  type ReceiverPlan,
  zmqLoop,
  zmqWorker,
} from '../lib/designs'
import { rotate } from '../lib/flow'
import { Publisher } from '../lib/peers'
import { type Goal, goalList, num, table } from '../lib/report'
import { median } from '../lib/stats'
import { runAbortCases } from './abort-cases'

const SOCKETS = [1, 4, 8] as const
/** Shutdown join deadline for every design in this scenario. */
const JOIN_MS = 1000

export interface StopSample {
  readonly ms: number
  readonly code: number | null
  readonly signal: string | null
}

/**
 * One receiver with `sockets` SUB sockets on one publisher: idle (connected, nothing sent),
 * under load (flooded for `loadMs` first), or with a handler that hangs. SIGTERM -> exit.
 */
export async function stopOnce(
  ctx: BenchContext,
  design: Design,
  sockets: number,
  mode: 'idle' | 'load' | 'hung',
  extra: Partial<ReceiverPlan> = {},
): Promise<StopSample> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'zc-bench-'))
  const components = Array.from({ length: sockets }, (_, i) => `s${i}`)
  const pub = await Publisher.start(ctx.tools, [
    {
      topics: components,
      size: 1024,
      rate: 0,
      // hung: one message is enough; load: a flood until stopped; idle: never sent.
      count: mode === 'hung' ? 1 : 0,
      nodrop: mode === 'hung',
    },
  ])
  const receiver = design.start(
    {
      sockets: components.map((c) => ({
        name: c,
        endpoint: pub.endpoints[0] as string,
        component: c,
        latencyClass: 'telemetry',
      })),
      latency: false,
      warmup: 0,
      outDir,
      joinMs: JOIN_MS,
      hang: mode === 'hung',
      ...extra,
    },
    ctx.tools,
  )
  try {
    await receiver.ready()
    await pub.subscribed()
    if (mode !== 'idle') pub.go()
    if (mode === 'load') await delay(ctx.quick ? 200 : 500)
    if (mode === 'hung') await receiver.hanging()
    const timer = setTimeout(() => receiver.proc.child.kill('SIGKILL'), JOIN_MS + 10_000)
    const exit = await receiver.proc.stop('SIGTERM')
    clearTimeout(timer)
    return { ms: exit.stopMs ?? Number.NaN, code: exit.code, signal: exit.signal }
  } finally {
    await receiver.proc.end(1000).catch(() => undefined)
    await pub.end()
    rmSync(outDir, { recursive: true, force: true })
  }
}

interface HungCase {
  readonly design: Design
  readonly label: string
  readonly env?: Record<string, string>
  /** The exit code its documentation promises. */
  readonly expected: string
}

const codes = (samples: readonly StopSample[]) =>
  [...new Set(samples.map((s) => (s.signal ? s.signal : String(s.code))))].join(', ')

export const shutdown: Scenario = {
  id: 'shutdown',
  title: '5. SIGTERM -> exit',
  async run(ctx: BenchContext) {
    const designs = ctx.available([container, zmqLoop, zmqWorker, pyzmq, cFloor])
    const failures: string[] = []
    const samples = new Map<string, StopSample[]>()
    const add = (key: string, s: StopSample | undefined) => {
      if (s) samples.set(key, [...(samples.get(key) ?? []), s])
    }
    const hungCases: HungCase[] = [
      {
        design: container,
        label: `${container.label}, socket monitor on (default)`,
        expected: '137 (README: monitor keeps a native receive in flight; SIGKILL at the deadline)',
      },
      {
        design: container,
        label: `${container.label}, ZMQ_MONITOR=false`,
        env: { ZMQ_MONITOR: 'false' },
        expected: '75 (terminated at the deadline)',
      },
      {
        design: zmqWorker,
        label: zmqWorker.label,
        expected: '75 (its own choice: terminate() at the deadline)',
      },
      {
        design: pyzmq,
        label: pyzmq.label,
        expected: '75 (os._exit: a Python thread cannot be killed)',
      },
    ].filter((h) => designs.includes(h.design))
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const mode of ['idle', 'load'] as const) {
        for (const n of SOCKETS) {
          for (const design of rotate(designs, rep)) {
            const label = `${mode} ${n} sockets: ${design.label} rep ${rep + 1}`
            ctx.log(`  ${label}`)
            add(
              `${mode}|${n}|${design.id}`,
              await attempt(ctx, failures, label, () => stopOnce(ctx, design, n, mode)),
            )
          }
        }
      }
      for (const h of rotate(hungCases, rep)) {
        const label = `hung: ${h.label} rep ${rep + 1}`
        ctx.log(`  ${label}`)
        add(
          `hung|${h.label}`,
          await attempt(ctx, failures, label, () =>
            stopOnce(ctx, h.design, 1, 'hung', h.env ? { env: h.env } : {}),
          ),
        )
      }
    }
    const abortCases = designs.includes(container) ? await runAbortCases(ctx, failures) : []
    for (const c of abortCases) samples.set(`abort|container|${c.label}`, c.samples)
    const all = [...samples.values()].flat()
    const aborted = all.filter((s) => s.code === 134 || s.signal === 'SIGABRT')
    const rows = (['idle', 'load'] as const).flatMap((mode) =>
      SOCKETS.flatMap((n) =>
        designs.map((d) => {
          const s = samples.get(`${mode}|${n}|${d.id}`) ?? []
          return [
            mode === 'idle' ? 'idle' : 'under load',
            String(n),
            d.label,
            num(median(s.map((x) => x.ms))),
            num(Math.max(...s.map((x) => x.ms))),
            codes(s),
          ]
        }),
      ),
    )
    const hungRows = hungCases.map((h) => {
      const s = samples.get(`hung|${h.label}`) ?? []
      return [
        h.label,
        num(median(s.map((x) => x.ms))),
        num(Math.max(...s.map((x) => x.ms))),
        codes(s),
        h.expected,
      ]
    })
    const goals: Goal[] = []
    for (const mode of ['idle', 'load'] as const) {
      const meds = SOCKETS.map((n) =>
        median((samples.get(`${mode}|${n}|container`) ?? []).map((x) => x.ms)),
      )
      goals.push({
        scenario: '5',
        goal: `SIGTERM -> exit median under 50 ms, 1/4/8 sockets ${mode === 'idle' ? 'idle' : 'under load'}`,
        measured: meds.map((m) => `${num(m)} ms`).join(' / '),
        met: meds.some((m) => Number.isNaN(m)) ? undefined : meds.every((m) => m < 50),
      })
    }
    for (const h of hungCases.filter((x) => x.design === container)) {
      const s = samples.get(`hung|${h.label}`) ?? []
      const worst = Math.max(...s.map((x) => x.ms))
      const want = Number.parseInt(h.expected, 10)
      goals.push({
        scenario: '5',
        goal: `hung handler (${h.env ? 'ZMQ_MONITOR=false' : 'monitor on'}): exit within the ${JOIN_MS} ms deadline + 100 ms, code ${want} as documented`,
        measured: `worst ${num(worst)} ms, exit ${codes(s)}`,
        met:
          s.length === 0
            ? undefined
            : worst <= JOIN_MS + 100 &&
              s.every((x) => x.code === want || (want === 137 && x.signal === 'SIGKILL')),
      })
    }
    const containerAborts = aborted.length
    goals.push({
      scenario: '5',
      goal: 'the container never exits with 134 (SIGABRT)',
      measured: `${all.filter((s) => s).length} stops, ${containerAborts} aborted in all designs (see table)`,
      met: [...samples.entries()]
        .filter(([k]) => k.includes('container'))
        .every(([, v]) => v.every((s) => s.code !== 134 && s.signal !== 'SIGABRT')),
    })
    return {
      body: [
        `A receiver with 1, 4 or 8 SUB sockets, all connected to one C publisher. Idle: connected, nothing sent. Under load: the publisher floods every socket (1 KiB, as fast as it can, dropping at the high-water mark) for ${ctx.quick ? 200 : 500} ms before the signal. Time is SIGTERM sent -> process exit seen by the parent. Every design gets the same ${JOIN_MS} ms join deadline (ZC_SHUTDOWN_TIMEOUT_MS for the container). Medians and worst of ${ctx.reps} interleaved repetitions; exit codes seen ("SIGKILL" means killed by a signal).`,
        table(['state', 'sockets', 'receiver', 'median ms', 'worst ms', 'exit codes'], rows),
        'A handler that hangs forever in synchronous code on the first message, then SIGTERM (1 socket):',
        table(
          ['receiver', 'median ms', 'worst ms', 'exit codes', 'documented / expected'],
          hungRows,
        ),
        'The ways the container used to abort outside a plain SIGTERM (issue 19), container only. Out of memory: a handler keeps about 2 MB per message, fed as fast as the container takes them; time is ready -> exit. Start-up window: SIGTERM at 0, 10, ... ms after `publisher ready`; time is SIGTERM -> exit:',
        table(
          [
            'case',
            'runs',
            'median ms',
            'worst ms',
            'exit codes',
            'aborted (134)',
            'documented / expected',
          ],
          abortCases.map((c) => [
            c.label,
            String(c.samples.length),
            num(median(c.samples.map((x) => x.ms))),
            num(Math.max(...c.samples.map((x) => x.ms))),
            codes(c.samples),
            String(c.samples.filter((x) => x.code === 134 || x.signal === 'SIGABRT').length),
            c.expected,
          ]),
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
