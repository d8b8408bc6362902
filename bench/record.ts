/**
 * Issue 15's figure: the container's receive throughput with recording off and on
 * (ZMQ_RECORD_FILE), same loss-free publisher, repetitions interleaved, and how much of the
 * stream the recording kept (the rest is counted as overflow, never waited for).
 *
 * What "on" costs: the hook in the receive thread (printed first), and the recorder thread's
 * MCAP writing (the writer alone, printed second), which runs at nice 19. Where it cannot keep
 * up (64 KiB on two cores) the recorded share drops; where it can (1 KiB), the throughput pays.
 * The machine is shared: compare runs made back to back, and read the load printed with the
 * table.
 *
 * Throughput saturates both cores, so there every cycle the recorder spends is taken from the
 * publisher or the receive thread. A second throughput table gives the receive thread a core of
 * its own (bench/lib/pin.ts), as a machine with a core to spare would: what recording costs the
 * hot path itself, apart from the CPU the recorder takes elsewhere. A third table paces the
 * stream (1 KiB at LATENCY_RATE msg/s, the rate of a busy camera or telemetry feed) and compares
 * one-way latency on vs off: what a handler feels when the machine has time to spare, and the
 * receive thread's CPU per message on vs off there: what recording costs the hot path itself,
 * with the recorder's work on a core that has time for it.
 *
 *   npm run bench:record -- [--quick] [--reps N] [--compression zstd] [--env NAME=VALUE ...]
 *                           [--only saturated|pinned|paced] [--pin]
 *
 * `--env` sets a variable of the container in both modes (ZMQ_RECEIVE_COPY=false, say).
 * `--only saturated` runs the parts alone and the throughput table; `--only pinned` the table with
 * the receive thread alone on a core; `--only paced` the paced stream alone. `--pin` gives the
 * receive thread a core of its own in the paced stream too.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { FileHandleWritable } from '@mcap/nodejs'
import { McapWriter } from '../src/recording/mcap'
import { Recording } from '../src/recording/reader'
import { RecordingWriter } from '../src/recording/writer'
import { BUDGET_WORDS, budgetOf, LAYOUT_WORDS } from '../src/shared/record-batch'
import { RecordCapture } from '../src/worker/record-capture'
import { wholeNumber } from './lib/builds'
import { container } from './lib/designs'
import { type RunSpec, runOnce } from './lib/flow'
import { type PublisherKind, prepareTools, type Tools } from './lib/peers'
import { allowedCores, pinningUnavailable, receiveThreadAlone } from './lib/pin'
import { type Histogram, histogram, median, percentilesUs } from './lib/stats'
import { toolArgs, usage } from './lib/tool-args'

const { values: args } = toolArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    compression: { type: 'string', default: 'none' },
    env: { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
})
/** The container's extra variables, in both modes. */
const EXTRA_ENV = Object.fromEntries(
  (args.env ?? []).map((pair) => {
    const at = pair.indexOf('=')
    if (at < 1) usage(`--env: NAME=VALUE, not "${pair}"`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }),
)
const quick = args.quick
const compression = args.compression
// The container's own values for ZMQ_RECORD_COMPRESSION: another would stop it mid-run.
if (!['none', 'zstd'].includes(compression))
  usage(`--compression: none or zstd, not "${compression}"`)
const REPS = args.reps === undefined ? (quick ? 1 : 3) : wholeNumber('reps', args.reps, 1)
if (args.only !== undefined && !['saturated', 'pinned', 'paced'].includes(args.only))
  usage(`--only: saturated, pinned or paced, not "${args.only}"`)
/**
 * Why the pinned runs cannot be made here, if they cannot: the pinned table then says so, and
 * an explicit `--only pinned` or `--pin` is refused before anything runs. The receive thread is
 * found by the line it logs once its priority is set.
 */
const PINNING_UNAVAILABLE =
  pinningUnavailable() ??
  (EXTRA_ENV.ZC_THREAD_PRIORITY === 'false'
    ? 'ZC_THREAD_PRIORITY=false: the receive thread is found by its "thread priority set" line'
    : undefined)
if (args.pin && (args.only === 'saturated' || args.only === 'pinned'))
  usage(`--pin pins the paced stream: not with --only ${args.only}`)
if ((args.pin || args.only === 'pinned') && PINNING_UNAVAILABLE)
  usage(`${args.pin ? '--pin' : '--only pinned'}: ${PINNING_UNAVAILABLE}`)
const SIZES = [16, 1024, 65536] as const
/** The pinned table: 1 KiB, the size README's figures use, and 16 B, where per-message costs show most. */
const PINNED_SIZES = [16, 1024] as const
const LATENCY_RATE = 10_000
const LATENCY_SIZE = 1024
const LATENCY_SECONDS = 3
/** Messages in one run of the paced stream. */
const LATENCY_COUNT = Math.round((LATENCY_RATE * LATENCY_SECONDS) / (quick ? 4 : 1))

/**
 * Messages in one throughput run: about 4 s of the stream at 16 B and 1 KiB, so that the rate is
 * the recording's steady state rather than the start-up of the recorder and the JIT (README
 * "In steady state" compares them with the 1 s streams used before). 64 KiB stays under 1 s: 4 s
 * of it would write gigabytes a run.
 */
function countFor(size: number): number {
  const full = size <= 16 ? 600_000 : size <= 1024 ? 400_000 : 10_000
  return quick ? Math.round(full / 8) : full
}

/**
 * The receive thread's own share: RecordCapture.add alone (copy into the batch, budget
 * counter, time stamp), with batches handed to a callback that frees the budget at once.
 */
function hookCost(): void {
  process.stdout.write('recording hook alone, per message on the receive thread:\n')
  for (const size of SIZES) {
    const budget = new SharedArrayBuffer(BUDGET_WORDS * 4)
    const pending = new Int32Array(budget)
    const hook = new RecordCapture(budget, 2 ** 30, (batch) =>
      Atomics.sub(pending, 0, budgetOf(batch.messages, batch.bytes)),
    )
    const n = Math.round((size === 65536 ? 20_000 : 500_000) / (quick ? 8 : 1))
    const frames = [Buffer.from('b.data'), Buffer.alloc(size, 1)]
    const startedAt = performance.now()
    for (let i = 0; i < n; i++) hook.add(frames, performance.now())
    hook.stop()
    const us = ((performance.now() - startedAt) * 1000) / n
    process.stdout.write(`  ${String(size).padStart(5)} B: ${us.toFixed(3)} us\n`)
  }
}

/**
 * The recorder thread's writer alone, CPU per message (user + system, so the file writes count):
 * RecordingWriter.addPacked as the recorder calls it, against @mcap/core's McapWriter given the
 * same messages (the library we write the same bytes as). Batches of 1024, to a temporary file.
 */
async function writerCost(dir: string): Promise<void> {
  process.stdout.write('MCAP writer alone, CPU per message (ours / @mcap/core McapWriter):\n')
  const topic = Buffer.from('b.data')
  for (const size of [16, 1024] as const) {
    const batch = 1024
    // Whole batches: ours writes `batch` messages a call, and CPU is divided by n.
    const n = batch * Math.round((size === 16 ? 1_000_000 : 300_000) / (quick ? 8 : 1) / batch)
    const data = new Uint8Array(batch * (topic.length + size))
    const layout = new Float64Array(batch * LAYOUT_WORDS)
    for (let i = 0; i < batch; i++) {
      data.set(topic, i * (topic.length + size))
      layout.set([topic.length, size, Date.now() + i / 1000], i * LAYOUT_WORDS)
    }
    const file = path.join(dir, 'writer.mcap')
    const ours = async () => {
      const writer = await RecordingWriter.open(file, {
        source: { endpoint: 'bench', socket: 'b' },
      })
      for (let sent = 0; sent < n; sent += batch) await writer.addPacked({ data, layout })
      await writer.close()
    }
    const library = async () => {
      const handle = await open(file, 'w')
      const writer = new McapWriter({ writable: new FileHandleWritable(handle) })
      await writer.start({ profile: '', library: 'bench' })
      const channelId = await writer.registerChannel({
        topic: 'b.data',
        schemaId: 0,
        messageEncoding: 'application/octet-stream',
        metadata: new Map(),
      })
      const payload = data.subarray(topic.length, topic.length + size)
      for (let sent = 0; sent < n; sent++) {
        const logTime = BigInt(Date.now()) * 1_000_000n
        await writer.addMessage({
          channelId,
          sequence: sent,
          logTime,
          publishTime: logTime,
          data: payload,
        })
      }
      await writer.end()
      await handle.close()
    }
    const cpuUs = async (write: () => Promise<void>) => {
      const before = process.cpuUsage()
      await write()
      const used = process.cpuUsage(before)
      return (used.user + used.system) / n
    }
    // Warm both up once, then measure alternately.
    await ours()
    await library()
    const a = [await cpuUs(ours), await cpuUs(library), await cpuUs(ours), await cpuUs(library)]
    const oursUs = Math.min(a[0] as number, a[2] as number)
    const libraryUs = Math.min(a[1] as number, a[3] as number)
    process.stdout.write(
      `  ${String(size).padStart(5)} B: ${oursUs.toFixed(2)} / ${libraryUs.toFixed(2)} us (${(oursUs / libraryUs).toFixed(2)}x)\n`,
    )
    rmSync(file, { force: true })
  }
}

/** The container's variables in each mode: recording on writes `file`. */
function containerEnv(mode: 'on' | 'off', file: string): Record<string, string> {
  return mode === 'on'
    ? { ...EXTRA_ENV, ZMQ_RECORD_FILE: file, ZMQ_RECORD_COMPRESSION: compression }
    : EXTRA_ENV
}

/** Messages in a finished recording, from its summary's statistics. */
async function recordedMessages(file: string): Promise<number> {
  const recording = await Recording.open(file)
  try {
    return Number(recording.statistics?.messageCount ?? 0n)
  } finally {
    await recording.close()
  }
}

async function main(): Promise<void> {
  const tools = prepareTools()
  for (const n of tools.notes) process.stdout.write(`note: ${n}\n`)
  const publisher = tools.c ? 'c' : 'node'
  if (!args.only || args.only === 'saturated') await saturated(tools, publisher)
  if (!args.only || args.only === 'pinned') await pinned(tools, publisher)
  if (!args.only || args.only === 'paced') await pacedLatency(tools, publisher)
}

/** Each part alone, then the container's throughput on saturated cores, recording off and on. */
async function saturated(tools: Tools, publisher: PublisherKind): Promise<void> {
  hookCost()
  const writerDir = mkdtempSync(path.join(tmpdir(), 'zc-bench-writer-'))
  try {
    await writerCost(writerDir)
  } finally {
    rmSync(writerDir, { recursive: true, force: true })
  }
  await throughput(tools, publisher, SIZES, 'recording on vs off')
}

/**
 * The same throughput with the receive thread on a core of its own (see bench/lib/pin.ts): the
 * hot path's own cost, apart from what the recorder takes of the cores the hot path shares.
 */
async function pinned(tools: Tools, publisher: PublisherKind): Promise<void> {
  if (PINNING_UNAVAILABLE) {
    process.stdout.write(
      `\nreceive thread on a core of its own: not run (${PINNING_UNAVAILABLE})\n`,
    )
    return
  }
  await throughput(
    tools,
    publisher,
    PINNED_SIZES,
    `recording on vs off, the receive thread alone on core ${allowedCores().at(-1)} (the rest on the others)`,
    receiveThreadAlone('b'),
  )
}

/** Loss-free throughput of the container, recording off and on, repetitions interleaved. */
async function throughput(
  tools: Tools,
  publisher: PublisherKind,
  sizes: readonly number[],
  title: string,
  beforeGo?: RunSpec['beforeGo'],
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'zc-bench-record-'))
  const rates = new Map<string, number[]>()
  const kept = new Map<string, number[]>()
  /** CPU per message, µs: the busiest thread (the receive thread) and the whole process. */
  const threadUs = new Map<string, number[]>()
  const processUs = new Map<string, number[]>()
  const label = beforeGo ? ' (pinned)' : ''
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const size of sizes) {
        // Alternate which goes first, so drift in machine load hits both alike.
        const modes = rep % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)
        for (const mode of modes) {
          const count = countFor(size)
          const file = path.join(dir, `${size}-${rep}.mcap`)
          const out = await runOnce({
            design: container,
            tools,
            publisher,
            streams: [{ topics: ['b'], size, rate: 0, count, nodrop: true }],
            sockets: ([endpoint]) => [{ name: 'b', endpoint: endpoint as string, component: 'b' }],
            plan: {
              env: containerEnv(mode, file),
              // The recorder writes its whole backlog (up to ZMQ_RECORD_BUFFER_BYTES) at the stop:
              // it gets what remains of ZC_SHUTDOWN_TIMEOUT_MS, and what it cannot write in that
              // time would be counted as lost, not recorded. So `recorded` is what the run kept.
              joinMs: 120_000,
            },
            ...(beforeGo ? { beforeGo } : {}),
            timeoutMs: 120_000,
            stopGraceMs: 120_000,
          })
          const r = out.results.get('b')
          if (!r) throw new Error(`no result for ${size} B ${mode}`)
          const rate = (r.count / (r.lastNs - r.firstNs)) * 1e9
          const key = `${size}:${mode}`
          rates.set(key, [...(rates.get(key) ?? []), rate])
          if (out.cpu) {
            threadUs.set(key, [
              ...(threadUs.get(key) ?? []),
              (out.cpu.receiveThreadMs * 1000) / r.count,
            ])
            processUs.set(key, [
              ...(processUs.get(key) ?? []),
              (out.cpu.processMs * 1000) / r.count,
            ])
          }
          if (mode === 'on') {
            const recorded = await recordedMessages(file)
            // 64 KiB runs write hundreds of MB each.
            rmSync(file, { force: true })
            // The stream plus its end markers: what the receive thread got.
            kept.set(key, [...(kept.get(key) ?? []), recorded / r.count])
          }
          process.stdout.write(
            `  ${String(size).padStart(5)} B recording ${mode.padEnd(3)} rep ${rep + 1}${label}: ${Math.round(rate / 1000)} k msg/s\n`,
          )
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.stdout.write(
    `\n${title} (${publisher} publisher, tcp, ${REPS} rep(s), compression ${compression}, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}):\n`,
  )
  process.stdout.write(
    '| size | off k msg/s | on k msg/s | on / off | per rep: median (range) | recorded | receive thread CPU/msg off / on | process CPU/msg off / on |\n|---|---|---|---|---|---|---|---|\n',
  )
  for (const size of sizes) {
    const offRates = rates.get(`${size}:off`) ?? []
    const onRates = rates.get(`${size}:on`) ?? []
    // Each repetition's two runs are back to back: their ratio is less moved by the machine's
    // drift over the whole run than the ratio of medians.
    const paired = onRates.map((on, i) => on / (offRates[i] as number))
    const pairedText = `${median(paired).toFixed(2)} (${Math.min(...paired).toFixed(2)}-${Math.max(...paired).toFixed(2)})`
    const off = median(offRates)
    const on = median(onRates)
    const share = median(kept.get(`${size}:on`) ?? [])
    const us = (m: Map<string, number[]>, mode: string) =>
      `${median(m.get(`${size}:${mode}`) ?? []).toFixed(2)}`
    process.stdout.write(
      `| ${size} B | ${Math.round(off / 1000)} | ${Math.round(on / 1000)} | ${(on / off).toFixed(2)} | ${pairedText} | ${(share * 100).toFixed(1)} % | ${us(threadUs, 'off')} / ${us(threadUs, 'on')} µs | ${us(processUs, 'off')} / ${us(processUs, 'on')} µs |\n`,
    )
  }
}

/**
 * One-way latency (publisher send to handler) of a paced stream, recording off and on,
 * repetitions interleaved; the first 100 ms of each run warm up and are left out.
 */
async function pacedLatency(tools: Tools, publisher: PublisherKind) {
  const pinnedNote = args.pin ? `, the receive thread alone on core ${allowedCores().at(-1)}` : ''
  const dir = mkdtempSync(path.join(tmpdir(), 'zc-bench-record-latency-'))
  const pooled = { off: histogram(), on: histogram() }
  const kept: number[] = []
  /** CPU per message, µs, per repetition: the receive thread's, and the whole process's. */
  const threadUs = { off: [] as number[], on: [] as number[] }
  const processUs = { off: [] as number[], on: [] as number[] }
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const mode of rep % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const file = path.join(dir, `latency-${rep}.mcap`)
        const out = await runOnce({
          design: container,
          tools,
          publisher,
          streams: [
            {
              topics: ['b'],
              size: LATENCY_SIZE,
              rate: LATENCY_RATE,
              count: LATENCY_COUNT,
              nodrop: true,
            },
          ],
          sockets: ([endpoint]) => [{ name: 'b', endpoint: endpoint as string, component: 'b' }],
          plan: {
            latency: true,
            warmup: LATENCY_RATE / 10,
            env: containerEnv(mode, file),
            joinMs: 120_000,
          },
          ...(args.pin ? { beforeGo: receiveThreadAlone('b') } : {}),
          timeoutMs: 120_000,
          stopGraceMs: 120_000,
        })
        const r = out.results.get('b')
        const h = out.latencies.get('b')
        if (!r || !h) throw new Error(`no latencies for recording ${mode}`)
        pooled[mode].add(h as Histogram)
        if (out.cpu) {
          threadUs[mode].push((out.cpu.receiveThreadMs * 1000) / r.count)
          processUs[mode].push((out.cpu.processMs * 1000) / r.count)
        }
        if (mode === 'on') {
          kept.push((await recordedMessages(file)) / r.count)
        }
        const p = percentilesUs(h)
        process.stdout.write(
          `  latency, recording ${mode.padEnd(3)} rep ${rep + 1}: p50 ${p.p50.toFixed(0)} µs, p99 ${p.p99.toFixed(0)} µs\n`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const off = percentilesUs(pooled.off)
  const on = percentilesUs(pooled.on)
  process.stdout.write(
    `\none-way latency, ${LATENCY_SIZE} B at ${LATENCY_RATE} msg/s, recording off vs on${pinnedNote} (${REPS} rep(s) pooled, load ${loadavg()[0]?.toFixed(2)}, recorded ${(median(kept) * 100).toFixed(1)} %):\n`,
  )
  process.stdout.write('| | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|\n')
  const row = (name: string, p: typeof off) =>
    `| ${name} | ${p.p50.toFixed(0)} µs | ${p.p99.toFixed(0)} µs | ${p.p999.toFixed(0)} µs | ${p.max.toFixed(0)} µs |\n`
  process.stdout.write(row('off', off) + row('on', on))
  process.stdout.write(
    `| on / off | ${(on.p50 / off.p50).toFixed(2)} | ${(on.p99 / off.p99).toFixed(2)} | ${(on.p999 / off.p999).toFixed(2)} | ${(on.max / off.max).toFixed(2)} |\n`,
  )
  // Only where /proc has the threads' times (Linux).
  if (threadUs.off.length === 0 || threadUs.on.length === 0) return
  const each = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ')
  // /proc counts in 10 ms ticks: one tick is this much of a message's CPU over a run.
  const tickUs = (10 * 1000) / LATENCY_COUNT
  process.stdout.write(
    `\nCPU per message at ${LATENCY_RATE} msg/s (medians; each repetition in brackets; /proc, 10 ms ticks: ${tickUs.toFixed(2)} µs a message):\n` +
      `  receive thread: off ${median(threadUs.off).toFixed(2)} µs [${each(threadUs.off)}], on ${median(threadUs.on).toFixed(2)} µs [${each(threadUs.on)}]\n` +
      `  whole process:  off ${median(processUs.off).toFixed(2)} µs [${each(processUs.off)}], on ${median(processUs.on).toFixed(2)} µs [${each(processUs.on)}]\n`,
  )
}

void main()
