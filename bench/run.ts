/**
 * `npm run bench`: every scenario of issues 8, 11 and 14 against its baselines, in one run, repetitions
 * interleaved. Writes bench/results/results.md (medians, ratios, goals), results.json (every
 * repetition) and latency.svg. See bench/README.md.
 *
 *   npm run bench                      full run (about 18 minutes), results in bench/results/
 *   npm run bench -- --quick           a few seconds per scenario, results in bench/results/scratch/
 *   npm run bench -- --only latency    some scenarios (comma list), results in scratch/ too
 *   npm run bench -- --reps 5          repetitions per measurement (default 3, 1 with --quick)
 *   npm run bench -- --full-soak       the issue's 10 M message soak, also with --quick
 *   npm run bench -- --redraw          only redraws bench/results/latency.svg from results.json
 *   npm run bench -- --soak-messages N another soak size (or BENCH_SOAK_MESSAGES=N)
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { BenchContext, BenchOptions, Scenario } from './lib/context'
import type { Design } from './lib/designs'
import { RESULTS, ROOT } from './lib/paths'
import { PYTHON, prepareTools } from './lib/peers'
import { type ChartPanel, loadavg, mark, type Section, svgChart, table } from './lib/report'
import { usage } from './lib/tool-args'
import { isolation } from './scenarios/isolation'
import { latency } from './scenarios/latency'
import { memory } from './scenarios/memory'
import { reconnect } from './scenarios/reconnect'
import { relay } from './scenarios/relay'
import { shutdown } from './scenarios/shutdown'
import { startup } from './scenarios/startup'
import { throughput } from './scenarios/throughput'

const SCENARIOS: Scenario[] = [
  isolation,
  throughput,
  latency,
  relay,
  shutdown,
  startup,
  memory,
  reconnect,
]
const FULL_SOAK = 10_000_000
/** The issue's 10 M: at 16 B the container takes them in about 35 s on this 2-core machine. */
const DEFAULT_SOAK = FULL_SOAK

interface Args extends BenchOptions {
  readonly only: string[] | undefined
}

function parseArgs(argv: string[]): Args {
  let quick = false
  let only: string[] | undefined
  let reps: number | undefined
  let soak: number | undefined = process.env.BENCH_SOAK_MESSAGES
    ? Number(process.env.BENCH_SOAK_MESSAGES)
    : undefined
  if (process.env.BENCH_FULL_SOAK === '1') soak = FULL_SOAK
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) usage(`${a} needs a value`)
      return v as string
    }
    if (a === '--quick') quick = true
    else if (a === '--only') only = value().split(',')
    else if (a === '--reps') reps = Number(value())
    else if (a === '--full-soak') soak = FULL_SOAK
    else if (a === '--soak-messages') soak = Number(value())
    else if (a === '--redraw') redraw()
    else if (a === '--help' || a === '-h') usage()
    else usage(`unknown argument ${a}`)
  }
  for (const id of only ?? [])
    if (!SCENARIOS.some((s) => s.id === id))
      usage(`unknown scenario ${id} (one of ${SCENARIOS.map((s) => s.id).join(', ')})`)
  const soakMessages = soak ?? (quick ? 300_000 : DEFAULT_SOAK)
  return {
    quick,
    only,
    reps: reps ?? (quick ? 1 : 3),
    soakMessages,
    fullSoak: soakMessages >= FULL_SOAK,
  }
}

/** Redraws the chart of the committed run from its results.json, without measuring again. */
function redraw(): never {
  const json = JSON.parse(readFileSync(path.join(RESULTS, 'results.json'), 'utf8')) as {
    sections: Array<{ charts: ChartPanel[] }>
  }
  writeFileSync(path.join(RESULTS, 'latency.svg'), svgChart(json.sections.flatMap((s) => s.charts)))
  process.stderr.write('redrew bench/results/latency.svg\n')
  process.exit(0)
}

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: 'pipe' }).trim()
  } catch {
    return 'n/a'
  }
}

function machine(tools: ReturnType<typeof prepareTools>): string[] {
  const cpus = os.cpus()
  const zmq = require('zeromq') as { version: string }
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/zeromq/package.json'), 'utf8'))
  return [
    `${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `node ${process.version}, zeromq.js ${pkg.version} (libzmq ${zmq.version})`,
    tools.python
      ? `python ${versionOf(PYTHON, ['-c', 'import sys,zmq;print(sys.version.split()[0], "pyzmq", zmq.__version__, "libzmq", zmq.zmq_version())'])}`
      : 'python3-zmq: missing',
    `container: the working tree built by \`npm run build\` at git ${versionOf('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}, ${versionOf('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'workers']).split('\n').filter(Boolean).length} files under src/ and workers/ differing from that commit`,
    tools.c
      ? `C peers: ${versionOf('gcc', ['-dumpfullversion'])} gcc, libzmq ${versionOf('pkg-config', ['--modversion', 'libzmq'])}`
      : 'C peers: not built',
  ]
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const tools = prepareTools()
  for (const note of tools.notes) process.stderr.write(`NOTE: ${note}\n`)
  const noted = new Set<string>()
  const ctx: BenchContext = {
    ...args,
    tools,
    available(designs: readonly Design[]) {
      return designs.filter((d) => {
        const why = d.unavailable(tools)
        if (why && !noted.has(d.id)) {
          noted.add(d.id)
          process.stderr.write(`NOTE: ${d.label} skipped: ${why}\n`)
        }
        return !why
      })
    },
    log: (message) => process.stderr.write(`${message}\n`),
  }
  const chosen = SCENARIOS.filter((s) => !args.only || args.only.includes(s.id))
  const partial = args.quick || args.only !== undefined || args.reps < 3
  const outDir = partial ? path.join(RESULTS, 'scratch') : RESULTS
  mkdirSync(outDir, { recursive: true })
  const startedAt = new Date()
  const sections: Section[] = []
  for (const scenario of chosen) {
    const loadStart = loadavg()
    ctx.log(`${scenario.title} (load ${loadStart.join(' ')})`)
    const t0 = performance.now()
    const out = await scenario.run(ctx)
    const loadEnd = loadavg()
    const seconds = Math.round((performance.now() - t0) / 1000)
    ctx.log(`  done in ${seconds} s (load ${loadEnd.join(' ')})`)
    sections.push({ id: scenario.id, title: scenario.title, loadStart, loadEnd, seconds, ...out })
    // Written after every scenario, so an interrupted run keeps what it measured.
    write(outDir, args, tools, startedAt, sections)
  }
  ctx.log(`results in ${path.relative(ROOT, outDir)}/`)
}

function write(
  outDir: string,
  args: Args,
  tools: ReturnType<typeof prepareTools>,
  startedAt: Date,
  sections: Section[],
): void {
  const goals = sections.flatMap((s) => s.goals)
  const charts = sections.flatMap((s) => s.charts)
  const totalSeconds = sections.reduce((sum, s) => sum + s.seconds, 0)
  const md = [
    '# zmq-container benchmarks',
    '',
    `Run ${startedAt.toISOString()}, ${totalSeconds} s, ${args.quick ? 'quick' : 'full'}, ${args.reps} repetition${args.reps === 1 ? '' : 's'} per measurement, interleaved. How to read this: [bench/README.md](../README.md).`,
    '',
    ...machine(tools).map((m) => `- ${m}`),
    ...tools.notes.map((n) => `- NOTE: ${n}`),
    `- Soak: ${args.soakMessages.toLocaleString('en')} messages${args.fullSoak ? " (the issue's full 10 M)" : ` (scaled down from the issue's 10 M; \`--full-soak\` runs 10 M)`}`,
    '',
    '## Goals (issues 8, 11 and 14; issue 14 replaced the throughput, latency, start-up, footprint and relay targets of issue 8)',
    '',
    table(
      ['scenario', 'goal', 'measured (median)', 'result'],
      goals.map((g) => [g.scenario, g.goal, g.measured, mark(g.met)]),
    ),
    '',
    '## Machine load',
    '',
    'os.loadavg() (1, 5, 15 min) when each scenario started and ended. This machine has 2 cores; a 1-minute load above 2 means something else competed for them.',
    '',
    table(
      ['scenario', 'load at start', 'load at end', 'seconds'],
      sections.map((s) => [s.title, s.loadStart.join(' / '), s.loadEnd.join(' / '), s.seconds]),
    ),
    '',
    charts.length ? 'Latency percentiles per design: [latency.svg](latency.svg).\n' : '',
    ...sections.flatMap((s) => [
      `## ${s.title}`,
      '',
      `Load ${s.loadStart.join(' / ')} -> ${s.loadEnd.join(' / ')}, ${s.seconds} s.`,
      '',
      ...s.body.flatMap((b) => [b, '']),
    ]),
  ].join('\n')
  writeFileSync(path.join(outDir, 'results.md'), md)
  writeFileSync(
    path.join(outDir, 'results.json'),
    `${JSON.stringify(
      {
        startedAt,
        options: args,
        machine: machine(tools),
        notes: tools.notes,
        sections: sections.map(({ body: _body, ...s }) => s),
      },
      null,
      2,
    )}\n`,
  )
  if (charts.length) writeFileSync(path.join(outDir, 'latency.svg'), svgChart(charts))
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exit(1)
})
