/**
 * A/B of container builds, for a change that touches start-up or shutdown: this checkout's
 * build against others (another commit's `dist/main.js`, built in a git worktree) and the bare
 * zeromq.js worker, repetitions interleaved so that the machine's drift falls on all alike.
 *
 * - start: SUB sockets connected to an idle publisher (as scenario 6 of `npm run bench`);
 *   spawn -> `ready`, the CPU time of the process and of its main thread when `ready` comes
 *   (/proc/<pid>/task/<tid>/schedstat), and its RSS 300 ms later (`--rss-after MS`: later, e.g.
 *   past the first liveness tick, 1000 ms, whose heap check loads node:v8 in each thread).
 * - stop: SUB sockets flooded with 1 KiB messages for 500 ms, then SIGTERM -> exit (as
 *   scenario 7 under load).
 *
 * Medians, with every repetition's figure, and the load. The README's start-up and shutdown
 * A/Bs come from this. To compare with an older commit:
 *
 *   git worktree add ../zc-old <commit> && (cd ../zc-old && npm ci && npm run build)
 *   npm run bench:ab -- --reps 14 --sockets 1,4,8 old=../zc-old/dist/main.js
 *
 *   npm run bench:ab -- [--what start|stop|both] [--reps 10] [--sockets 1,8] [--rss-after 300]
 *                       [[label=]main.js ...]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { buildArgument, wholeNumber } from './lib/builds'
import type { BenchContext } from './lib/context'
import { containerAt, type Design, zmqWorker } from './lib/designs'
import { rotate } from './lib/flow'
import { MAIN } from './lib/paths'
import { prepareTools } from './lib/peers'
import { median } from './lib/stats'
import { toolArgs, usage } from './lib/tool-args'
import { stopOnce } from './scenarios/shutdown'
import { idlePublisher, spawnIdle } from './scenarios/startup'

const { values: args, positionals } = toolArgs({
  allowPositionals: true,
  options: {
    what: { type: 'string', default: 'both' },
    reps: { type: 'string', default: '10' },
    sockets: { type: 'string', default: '1,8' },
    'rss-after': { type: 'string', default: '300' },
  },
})
const REPS = wholeNumber('reps', args.reps, 1)
const SOCKETS = String(args.sockets).split(',').map(Number)
if (SOCKETS.some((n) => !Number.isInteger(n) || n < 1 || n > 8))
  usage(`--sockets: whole numbers from 1 to 8, comma-separated, not "${args.sockets}"`)
const RSS_AFTER_MS = wholeNumber('rss-after', args['rss-after'], 0)
if (!['start', 'stop', 'both'].includes(String(args.what)))
  usage(`--what: start, stop or both, not "${args.what}"`)

const builds = [
  containerAt('this', 'this checkout', MAIN),
  ...positionals.map((arg, index) => {
    const { label, main } = buildArgument(arg, index)
    return containerAt(`build${index}`, label, main)
  }),
]
const designs = [...builds, zmqWorker]
const ctx: BenchContext = {
  quick: false,
  reps: REPS,
  soakMessages: 0,
  fullSoak: false,
  tools: prepareTools(),
  available: (list) => [...list],
  log: (message) => process.stderr.write(`${message}\n`),
}
const loads: number[] = []

/** CPU time of each thread of `pid` so far, in ms: the process's sum and the main thread's. */
function cpuOf(pid: number): { process: number; main: number } {
  let sum = 0
  let main = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    sum += ns / 1e6
    if (Number(tid) === pid) main = ns / 1e6
  }
  return { process: sum, main }
}

interface StartSample {
  readonly readyMs: number
  readonly cpuMs: number
  readonly mainCpuMs: number
  readonly rssMiB: number
}

async function startOnce(design: Design, sockets: number, endpoint: string): Promise<StartSample> {
  const { readyMs, probed } = await spawnIdle(ctx, design, sockets, endpoint, async (proc) => {
    // CPU as `ready` comes; RSS once the process has settled.
    const cpu = cpuOf(proc.pid)
    await delay(RSS_AFTER_MS)
    return { cpu, rss: proc.rss() ?? Number.NaN }
  })
  return {
    readyMs,
    cpuMs: probed.cpu.process,
    mainCpuMs: probed.cpu.main,
    rssMiB: probed.rss / 2 ** 20,
  }
}

const fixed = (x: number) => x.toFixed(1)
const all = (xs: readonly number[]) => xs.map((x) => x.toFixed(0)).join(' ')

async function start(): Promise<void> {
  const samples = new Map<string, StartSample[]>()
  const pub = await idlePublisher(ctx)
  try {
    for (let rep = 0; rep < REPS; rep++)
      for (const n of SOCKETS)
        for (const design of rotate(designs, rep)) {
          ctx.log(`  start, ${n} sockets: ${design.label}, rep ${rep + 1}`)
          const sample = await startOnce(design, n, pub.endpoints[0] as string)
          samples.set(`${n}|${design.id}`, [...(samples.get(`${n}|${design.id}`) ?? []), sample])
          loads.push(loadavg()[0] as number)
        }
  } finally {
    await pub.end()
  }
  console.log(
    `\nspawn -> ready, medians of ${REPS} interleaved starts (every start's in brackets); RSS ${RSS_AFTER_MS} ms after ready`,
  )
  for (const n of SOCKETS)
    for (const design of designs) {
      const s = samples.get(`${n}|${design.id}`) ?? []
      const pick = (f: (x: StartSample) => number) => median(s.map(f))
      const bare = samples.get(`${n}|${zmqWorker.id}`)?.map((x) => x.readyMs) ?? []
      console.log(
        `${n} socket(s)  ${design.label.padEnd(34)} ready ${fixed(pick((x) => x.readyMs))} ms` +
          ` (${(pick((x) => x.readyMs) / median(bare)).toFixed(2)}x bare)` +
          `  CPU ${fixed(pick((x) => x.cpuMs))} ms, main thread ${fixed(pick((x) => x.mainCpuMs))}` +
          `  RSS ${fixed(pick((x) => x.rssMiB))} MiB  [${all(s.map((x) => x.readyMs))}]`,
      )
    }
}

async function stop(): Promise<void> {
  const samples = new Map<string, number[]>()
  const n = Math.max(...SOCKETS)
  for (let rep = 0; rep < REPS; rep++)
    for (const design of rotate(designs, rep)) {
      ctx.log(`  stop, ${n} loaded sockets: ${design.label}, rep ${rep + 1}`)
      const sample = await stopOnce(ctx, design, n, 'load')
      if (sample.code !== 0)
        ctx.log(`    exit ${sample.code ?? sample.signal} (a stop that is not clean counts as is)`)
      samples.set(design.id, [...(samples.get(design.id) ?? []), sample.ms])
      loads.push(loadavg()[0] as number)
    }
  console.log(`\nSIGTERM -> exit with ${n} loaded sockets, medians of ${REPS} interleaved stops`)
  for (const design of designs) {
    const s = samples.get(design.id) ?? []
    console.log(`${design.label.padEnd(34)} ${fixed(median(s))} ms  [${all(s)}]`)
  }
}

async function main(): Promise<void> {
  if (args.what !== 'stop') await start()
  if (args.what !== 'start') await stop()
  console.log(
    `\n1-minute load ${fixed(Math.min(...loads))}-${fixed(Math.max(...loads))} during the runs, on ${availableParallelism()} cores (a load above that: the figures are the machine's as much as the builds')`,
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
