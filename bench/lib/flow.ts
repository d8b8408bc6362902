import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import {
  cFloor,
  type Design,
  type Receiver,
  type ReceiverPlan,
  type Result,
  type SocketPlan,
  zmqWorker,
} from './designs'
import { Publisher, type PublisherKind, type Stream, type Tools } from './peers'
import { type Histogram, readLatencies } from './stats'

/** One measured run: a publisher, the receiver under test and, for a relay, a sink. */
export interface RunSpec {
  readonly design: Design
  readonly tools: Tools
  readonly streams: Stream[]
  /** The receiver's sockets, given the publisher's endpoints (one per stream). */
  readonly sockets: (endpoints: string[]) => SocketPlan[]
  /** Sockets whose results end the run (default: every socket). */
  readonly awaitSockets?: readonly string[]
  readonly plan?: Partial<Omit<ReceiverPlan, 'sockets' | 'outDir'>>
  /** The receiver republishes; a C (else bare worker) sink measures what comes out. */
  readonly relay?: boolean
  readonly publisher?: PublisherKind
  /** How long to wait for results once sending starts. */
  readonly timeoutMs: number
  /** How long the receiver may take to stop before SIGKILL (a recording finishing its file). */
  readonly stopGraceMs?: number
  /**
   * Called once every socket is subscribed, just before sending starts (to pin threads, say:
   * see pin.ts).
   */
  readonly beforeGo?: (receiver: Receiver, publisher: Publisher) => void | Promise<void>
  /** Called once sending has started; its promise is awaited along with the results. */
  readonly whileRunning?: (receiver: Receiver) => Promise<void> | void
}

export interface RunOutput {
  readonly readyMs: number
  /** Per awaited socket (the sink's `sink` socket for a relay). */
  readonly results: Map<string, Result>
  readonly latencies: Map<string, Histogram>
  /** Per awaited socket, with `plan.trace`: the receiver's trace file, parsed. */
  readonly traces: Map<string, unknown>
  /**
   * CPU time (user + system) of the measured receiver from the start of sending to the last
   * result: its whole process, and its busiest thread (the receive thread, in a throughput
   * run). Load shifts these far less than it shifts rates. 10 ms resolution (Linux clock
   * ticks); undefined off Linux.
   */
  readonly cpu: { readonly processMs: number; readonly receiveThreadMs: number } | undefined
  /** Messages the publisher sent, per stream. */
  readonly sent: number[]
  /** The receiver's warnings and errors (pino level >= 40), counted with their suppressed repeats. */
  readonly warnings: Record<string, number>
}

const LEVELS: Record<string, number> = { warn: 40, error: 50, fatal: 60 }

function warningsOf(receiver: Receiver): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of receiver.proc.lines) {
    // pino writes the level as a number, or as its label when a formatter says so.
    const level = typeof l.level === 'number' ? l.level : LEVELS[l.level as string]
    if (level === undefined || level < 40) continue
    const code = (l.err as { code?: string } | undefined)?.code
    const key = `${l.msg}${code ? ` (${code})` : ''}`
    out[key] = (out[key] ?? 0) + 1 + (typeof l.suppressed === 'number' ? l.suppressed : 0)
  }
  return out
}

/** Slow-joiner allowance for the relay's own PUB -> sink hop (the seed's settle delay). */
const RELAY_SETTLE_MS = 300

export async function runOnce(spec: RunSpec): Promise<RunOutput> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'zc-bench-'))
  const cleanup: Array<() => Promise<unknown>> = []
  try {
    const pub = await Publisher.start(spec.tools, spec.streams, spec.publisher)
    cleanup.push(() => pub.end())
    const sockets = spec.sockets(pub.endpoints)
    const receiver = spec.design.start(
      { latency: false, warmup: 0, ...spec.plan, sockets, outDir, relay: spec.relay },
      spec.tools,
    )
    cleanup.unshift(() => receiver.proc.end())
    const readyMs = await receiver.ready()
    let measured = receiver
    let awaited = spec.awaitSockets ?? sockets.map((s) => s.name)
    if (spec.relay) {
      const endpoint = await receiver.relayEndpoint()
      const sinkDesign = spec.tools.c ? cFloor : zmqWorker
      const sinkDir = path.join(outDir, 'sink')
      mkdirSync(sinkDir)
      const sink = sinkDesign.start(
        {
          sockets: [{ name: 'sink', endpoint, component: 'relay' }],
          latency: !!spec.plan?.latency,
          warmup: spec.plan?.warmup ?? 0,
          outDir: sinkDir,
        },
        spec.tools,
      )
      cleanup.unshift(() => sink.proc.end())
      await sink.ready()
      await delay(RELAY_SETTLE_MS)
      measured = sink
      awaited = ['sink']
    }
    await pub.subscribed()
    await spec.beforeGo?.(receiver, pub)
    const cpuAtGo = threadCpuMs(measured.proc.child.pid)
    pub.go()
    const during = spec.whileRunning?.(receiver)
    const results = new Map<string, Result>()
    await Promise.all([
      during,
      ...awaited.map(async (name) => {
        results.set(name, await measured.result(name, spec.timeoutMs))
      }),
    ])
    const cpuAtEnd = threadCpuMs(measured.proc.child.pid)
    // A stream with no count sends until stopped and never reports done.
    const finite = spec.streams.every((s) => s.count > 0)
    const done = finite ? await pub.done(5000).catch(() => undefined) : undefined
    const latencies = new Map<string, Histogram>()
    const dir = spec.relay ? path.join(outDir, 'sink') : outDir
    for (const name of awaited) {
      const h = readLatencies(path.join(dir, `${name}.f64`))
      if (h) latencies.set(name, h)
    }
    const traces = new Map<string, unknown>()
    for (const name of spec.plan?.trace ? awaited : []) {
      const file = path.join(dir, `${name}.trace.json`)
      if (existsSync(file)) traces.set(name, JSON.parse(readFileSync(file, 'utf8')))
    }
    // The final log lines (shutdown counters, suppressed totals) come with the exit.
    await receiver.proc.end(spec.stopGraceMs)
    return {
      readyMs,
      results,
      latencies,
      traces,
      cpu: cpuBetween(cpuAtGo, cpuAtEnd),
      sent: (done?.sent as number[] | undefined) ?? [],
      warnings: warningsOf(receiver),
    }
  } finally {
    for (const step of cleanup) await step().catch(() => undefined)
    rmSync(outDir, { recursive: true, force: true })
  }
}

interface ThreadCpu {
  readonly ms: number
  /**
   * Not a receive thread: a Node process's main thread (in C and Python peers the main thread
   * is the receiver), ZeroMQ's I/O threads, the container's recorder (nice 19).
   */
  readonly other: boolean
}

/** utime + stime in ms of each thread of a process, from /proc (clock ticks of 10 ms). */
function threadCpuMs(pid: number | undefined): Map<string, ThreadCpu> | undefined {
  try {
    const out = new Map<string, ThreadCpu>()
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      // Fields after the command name, which may itself hold spaces and parentheses.
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const other =
        (tid === String(pid) && name === 'node') || name.startsWith('ZMQbg') || fields[16] === '19'
      out.set(tid, { ms: (Number(fields[11]) + Number(fields[12])) * 10, other })
    }
    return out
  } catch {
    return undefined
  }
}

/**
 * The process's CPU, and the busiest receive thread's: on Node 20 every JavaScript thread is
 * named `node`, so the others are told apart by what they are (see ThreadCpu.other).
 */
function cpuBetween(
  before: Map<string, ThreadCpu> | undefined,
  after: Map<string, ThreadCpu> | undefined,
): RunOutput['cpu'] {
  if (!before || !after) return undefined
  let processMs = 0
  let receiveThreadMs = 0
  for (const [tid, { ms, other }] of after) {
    const used = ms - (before.get(tid)?.ms ?? 0)
    processMs += used
    if (!other) receiveThreadMs = Math.max(receiveThreadMs, used)
  }
  return { processMs, receiveThreadMs }
}

/** Rotates `items` by `rep`, so each repetition runs the designs in a different order. */
export function rotate<T>(items: readonly T[], rep: number): T[] {
  const k = rep % Math.max(1, items.length)
  return [...items.slice(k), ...items.slice(0, k)]
}
