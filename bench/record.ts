/**
 * Issue 15's figure: the container's receive throughput with recording off and on
 * (ZMQ_RECORD_FILE), same loss-free publisher, repetitions interleaved, and how much of the
 * stream the recording kept (the rest is counted as overflow, never waited for).
 *
 * What "on" costs: the hook in the receive thread (printed first), and the recorder thread's
 * MCAP writing, which runs at nice 19 and so takes mostly CPU the receive thread leaves idle; on
 * a loaded 2-core host it falls behind and the recorded share drops rather than throughput. The
 * machine is shared: compare runs made back to back, and read the load printed with the table.
 *
 *   npm run bench:record -- [--quick] [--reps N] [--compression zstd]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Recording } from '../src/recording/reader'
import { BUDGET_WORDS } from '../src/shared/record-batch'
import { RecordCapture } from '../src/worker/record-capture'
import { container } from './lib/designs'
import { runOnce } from './lib/flow'
import { prepareTools } from './lib/peers'
import { median } from './lib/stats'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    compression: { type: 'string', default: 'none' },
  },
})
const quick = args.quick
const compression = args.compression
const REPS = args.reps === undefined ? (quick ? 1 : 3) : Number(args.reps)
if (!Number.isInteger(REPS) || REPS < 1)
  throw new Error(`--reps: a whole number >= 1, not "${args.reps}"`)
const SIZES = [16, 1024, 65536] as const

function countFor(size: number): number {
  const full = size <= 16 ? 200_000 : size <= 1024 ? 100_000 : 10_000
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
      Atomics.sub(pending, 0, batch.data.byteLength),
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

async function main(): Promise<void> {
  hookCost()
  const tools = prepareTools()
  for (const n of tools.notes) process.stdout.write(`note: ${n}\n`)
  const publisher = tools.c ? 'c' : 'node'
  const dir = mkdtempSync(path.join(tmpdir(), 'zc-bench-record-'))
  const rates = new Map<string, number[]>()
  const kept = new Map<string, number[]>()
  /** CPU per message, µs: the busiest thread (the receive thread) and the whole process. */
  const threadUs = new Map<string, number[]>()
  const processUs = new Map<string, number[]>()
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const size of SIZES) {
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
              env:
                mode === 'on' ? { ZMQ_RECORD_FILE: file, ZMQ_RECORD_COMPRESSION: compression } : {},
              // The recorder writes its whole backlog (up to ZMQ_RECORD_BUFFER_BYTES) at the stop:
              // it gets what remains of ZC_SHUTDOWN_TIMEOUT_MS, and what it cannot write in that
              // time would be counted as lost, not recorded. So `recorded` is what the run kept.
              joinMs: 120_000,
            },
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
            const recording = await Recording.open(file)
            const recorded = Number(recording.statistics?.messageCount ?? 0n)
            await recording.close()
            // 64 KiB runs write hundreds of MB each.
            rmSync(file, { force: true })
            // The stream plus its end markers: what the receive thread got.
            kept.set(key, [...(kept.get(key) ?? []), recorded / r.count])
          }
          process.stdout.write(
            `  ${String(size).padStart(5)} B recording ${mode.padEnd(3)} rep ${rep + 1}: ${Math.round(rate / 1000)} k msg/s\n`,
          )
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.stdout.write(
    `\nrecording on vs off (${publisher} publisher, tcp, ${REPS} rep(s), compression ${compression}, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}):\n`,
  )
  process.stdout.write(
    '| size | off k msg/s | on k msg/s | on / off | recorded | receive thread CPU/msg off / on | process CPU/msg off / on |\n|---|---|---|---|---|---|---|\n',
  )
  for (const size of SIZES) {
    const off = median(rates.get(`${size}:off`) ?? [])
    const on = median(rates.get(`${size}:on`) ?? [])
    const share = median(kept.get(`${size}:on`) ?? [])
    const us = (m: Map<string, number[]>, mode: string) =>
      `${median(m.get(`${size}:${mode}`) ?? []).toFixed(2)}`
    process.stdout.write(
      `| ${size} B | ${Math.round(off / 1000)} | ${Math.round(on / 1000)} | ${(on / off).toFixed(2)} | ${(share * 100).toFixed(1)} % | ${us(threadUs, 'off')} / ${us(threadUs, 'on')} µs | ${us(processUs, 'off')} / ${us(processUs, 'on')} µs |\n`,
    )
  }
}

void main()
