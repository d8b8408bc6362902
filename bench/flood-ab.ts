/**
 * A/B of the receive hot path: each build's container with one SUB socket, flooded by the C
 * publisher (loss-free, as fast as it sends), repetitions interleaved. Per build, medians of:
 * messages per second, and CPU per message of the receive thread (the process's busiest thread
 * over the run, from /proc/<pid>/task/<tid>/schedstat) and of the whole process. CPU per message
 * moves far less with the machine's load than a rate does (README "Throughput").
 *
 *   npm run bench:flood -- [--reps 5] [--count 500000] [--size 16] [[label=]main.js ...]
 *
 * This checkout's build is always one; another commit's is built in a git worktree (see
 * bench/ab.ts), and a variant is a copy of dist/ with its bundle edited (its code cache is then
 * stale, and the bundle compiles from source: README "Start-up").
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { buildArgument, wholeNumber } from './lib/builds'
import { benchService, MAIN } from './lib/paths'
import { prepareTools } from './lib/peers'
import { median } from './lib/stats'
import { toolArgs } from './lib/tool-args'

const { values: args, positionals } = toolArgs({
  allowPositionals: true,
  options: {
    reps: { type: 'string', default: '5' },
    count: { type: 'string', default: '500000' },
    size: { type: 'string', default: '16' },
  },
})
const REPS = wholeNumber('reps', args.reps, 1)
const COUNT = wholeNumber('count', args.count, 1000)
const SIZE = wholeNumber('size', args.size, 16)

const builds = [{ label: 'this checkout', main: MAIN }, ...positionals.map(buildArgument)]

type Proc = ChildProcessByStdio<Writable | null, Readable, null>

/** Resolves with the first JSON line of `proc` that `match` accepts. */
function lineOf(proc: Proc, match: (line: Record<string, unknown>) => boolean) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout })
    lines.on('line', (text) => {
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text) as Record<string, unknown>
      } catch {
        return
      }
      if (!match(line)) return
      lines.close()
      resolve(line)
    })
    proc.once('exit', (code) => reject(new Error(`exited (${code}) before the line awaited`)))
  })
}

/** CPU time so far of each thread of `pid`, in ns. */
function threadsCpu(pid: number): Map<string, number> {
  const cpu = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpu.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]))
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return cpu
}

interface Sample {
  readonly rate: number
  readonly threadUs: number
  readonly processUs: number
}

async function floodOnce(zpub: string, main: string): Promise<Sample> {
  const publisher = spawn(zpub, [`tcp://127.0.0.1:*|flood|${SIZE}|0|${COUNT}|1`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let container: Proc | undefined
  try {
    const endpoint = String((await lineOf(publisher, (l) => l.event === 'endpoint')).endpoint)
    const subscribed = lineOf(publisher, (l) => l.event === 'subscribed')
    container = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: 'info',
        ZC_SERVICE: benchService('bench'),
        ZMQ_SUB_FLOOD_ENDPOINT: endpoint,
        ZMQ_SUB_FLOOD_TOPICS: 'flood.data,flood.end',
        ZMQ_SUB_FLOOD_CLASS: 'telemetry',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const result = lineOf(container, (l) => l.msg === 'bench result')
    // Either may fail first (a container that exits before it subscribes): both are awaited.
    result.catch(() => {})
    await subscribed
    const before = threadsCpu(container.pid as number)
    publisher.stdin.write('go\n')
    const { count, firstNs, lastNs } = (await result).bench as {
      count: number
      firstNs: number
      lastNs: number
    }
    const after = threadsCpu(container.pid as number)
    const spent = [...after].map(([tid, ns]) => ns - (before.get(tid) ?? 0))
    return {
      rate: count / ((lastNs - firstNs) / 1e9),
      threadUs: Math.max(...spent) / count / 1000,
      processUs: spent.reduce((a, b) => a + b, 0) / count / 1000,
    }
  } finally {
    for (const proc of [container, publisher]) {
      if (!proc || proc.exitCode !== null) continue
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGTERM')
      await exited
    }
  }
}

async function main(): Promise<void> {
  const zpub = prepareTools().c?.zpub
  if (!zpub) throw new Error('the C publisher is needed: gcc and libzmq3-dev')
  const samples = new Map<string, Sample[]>()
  const loads: number[] = []
  for (let rep = 0; rep < REPS; rep++) {
    // Alternate the order, so that neither build always runs first.
    for (const build of rep % 2 ? [...builds].reverse() : builds) {
      process.stderr.write(`  ${build.label}, rep ${rep + 1}\n`)
      const sample = await floodOnce(zpub, build.main)
      samples.set(build.label, [...(samples.get(build.label) ?? []), sample])
      loads.push(loadavg()[0] as number)
    }
  }
  console.log(
    `\n${SIZE} B flood, ${COUNT} messages a run, medians of ${REPS} interleaved runs (each run's receive thread in brackets)`,
  )
  for (const build of builds) {
    const s = samples.get(build.label) ?? []
    console.log(
      `${build.label.padEnd(20)} ${(median(s.map((x) => x.rate)) / 1000).toFixed(1)} k msg/s` +
        `  receive thread ${median(s.map((x) => x.threadUs)).toFixed(3)} us/msg` +
        `  process ${median(s.map((x) => x.processUs)).toFixed(3)} us/msg` +
        `  [${s.map((x) => x.threadUs.toFixed(2)).join(' ')}]`,
    )
  }
  console.log(
    `\n1-minute load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} during the runs, on ${availableParallelism()} cores`,
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
