import os from 'node:os'
import path from 'node:path'
import { attempt, type BenchContext, failureNote, type Scenario } from '../lib/context'
import {
  cFloor,
  container,
  containerNoPriority,
  containerZeroCopy,
  type Design,
  pyzmq,
  zmqLoop,
  zmqWorker,
} from '../lib/designs'
import { rotate, runOnce } from '../lib/flow'
import type { PublisherKind } from '../lib/peers'
import { type Goal, goalList, num, ratio, table } from '../lib/report'
import { median } from '../lib/stats'

const SIZES = [16, 1024, 65536] as const

interface Case {
  readonly design: Design
  readonly size: number
  readonly publisher: PublisherKind
  readonly transport: 'tcp' | 'ipc'
  readonly label: string
}

/** Messages per run: about a second for the container at each size. */
function countFor(size: number, quick: boolean): number {
  const full = size <= 16 ? 400_000 : size <= 1024 ? 200_000 : 15_000
  return quick ? Math.round(full / 8) : full
}

export const throughput: Scenario = {
  id: 'throughput',
  title: '2. Throughput, receive -> handler, loss-free publisher',
  async run(ctx: BenchContext) {
    const designs = ctx.available([container, zmqLoop, zmqWorker, pyzmq, cFloor])
    const publisher: PublisherKind = ctx.tools.c ? 'c' : 'node'
    const cases: Case[] = []
    for (const size of SIZES)
      for (const design of designs)
        cases.push({ design, size, publisher, transport: 'tcp', label: design.label })
    if (designs.includes(pyzmq))
      cases.push({
        design: pyzmq,
        size: 16,
        publisher: 'python',
        transport: 'tcp',
        label: `${pyzmq.label}, pyzmq publisher`,
      })
    // The class priority's price: the telemetry thread runs at nice +5, so on 2 cores shared
    // with the publisher it gets less CPU than a bare worker at the publisher's nice.
    for (const size of [16, 1024])
      cases.push({
        design: containerNoPriority,
        size,
        publisher,
        transport: 'tcp',
        label: containerNoPriority.label,
      })
    // What copying received frames buys: zeromq.js hands a frame over 128 bytes over without a
    // copy, and pays a finalizer for it later (README "Receiving: copy, not zero-copy").
    for (const size of SIZES.filter((s) => s > 128))
      cases.push({
        design: containerZeroCopy,
        size,
        publisher,
        transport: 'tcp',
        label: containerZeroCopy.label,
      })
    for (const design of designs.filter((d) => d === container || d === zmqWorker || d === cFloor))
      cases.push({ design, size: 16, publisher, transport: 'ipc', label: `${design.label}, ipc` })

    const rates = new Map<Case, number[]>()
    /** Receiver CPU time per message (us), whole process: what a message costs, whatever the load. */
    const cpu = new Map<Case, number[]>()
    /** The same for its receive thread alone (see flow.ts cpuBetween): the hot path. */
    const threadCpu = new Map<Case, number[]>()
    const losses = new Map<Case, number>()
    const failures: string[] = []
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const size of [...SIZES]) {
        for (const c of rotate(
          cases.filter((x) => x.size === size),
          rep,
        )) {
          const count = countFor(c.size, ctx.quick)
          const label = `${c.label} ${c.size} B ${c.transport} rep ${rep + 1}`
          ctx.log(`  ${label}`)
          const out = await attempt(ctx, failures, label, () =>
            runOnce({
              design: c.design,
              tools: ctx.tools,
              publisher: c.publisher,
              streams: [
                {
                  topics: ['b'],
                  size: c.size,
                  rate: 0,
                  count,
                  nodrop: true,
                  ...(c.transport === 'ipc'
                    ? {
                        endpoint: `ipc://${path.join(os.tmpdir(), `zc-bench-${process.pid}-${rep}.ipc`)}`,
                      }
                    : {}),
                },
              ],
              sockets: ([endpoint]) => [
                { name: 'b', endpoint: endpoint as string, component: 'b' },
              ],
              timeoutMs: 120_000,
            }),
          )
          const r = out?.results.get('b')
          if (!r) continue
          const rate = (r.count / (r.lastNs - r.firstNs)) * 1e9
          rates.set(c, [...(rates.get(c) ?? []), rate])
          if (out?.cpu) {
            cpu.set(c, [...(cpu.get(c) ?? []), (out.cpu.processMs * 1000) / r.count])
            threadCpu.set(c, [
              ...(threadCpu.get(c) ?? []),
              (out.cpu.receiveThreadMs * 1000) / r.count,
            ])
          }
          losses.set(c, (losses.get(c) ?? 0) + (count - r.count))
        }
      }
    }

    const med = (c: Case | undefined) => (c ? median(rates.get(c) ?? []) : undefined)
    const find = (d: Design, size: number, transport = 'tcp') =>
      cases.find(
        (c) =>
          c.design === d &&
          c.size === size &&
          c.transport === transport &&
          c.publisher === publisher,
      )
    const cpuOf = (c: Case | undefined) => (c ? median(cpu.get(c) ?? []) : undefined)
    const threadCpuOf = (c: Case | undefined) => (c ? median(threadCpu.get(c) ?? []) : undefined)
    const isContainer = (c: Case) =>
      c.design === container || c.design === containerNoPriority || c.design === containerZeroCopy
    const rows = cases.map((c) => {
      const rate = med(c)
      const cpuUs = cpuOf(c)
      const threadUs = threadCpuOf(c)
      const bare = find(zmqWorker, c.size, c.transport)
      return [
        c.label,
        `${c.size} B`,
        c.transport,
        c.publisher,
        rate === undefined ? 'n/a' : num(rate / 1000),
        rate === undefined ? 'n/a' : num((rate * c.size) / 2 ** 20),
        String(losses.get(c) ?? 'n/a'),
        cpuUs === undefined || Number.isNaN(cpuUs) ? 'n/a' : num(cpuUs),
        threadUs === undefined || Number.isNaN(threadUs) ? 'n/a' : num(threadUs),
        isContainer(c) ? ratio(threadUs, threadCpuOf(bare)) : '',
        isContainer(c) ? ratio(rate, med(bare)) : '',
        isContainer(c) ? ratio(rate, med(find(pyzmq, c.size))) : '',
        isContainer(c) ? ratio(rate, med(find(cFloor, c.size, c.transport))) : '',
      ]
    })
    const py16 = med(find(pyzmq, 16))
    const goals: Goal[] = [16, 1024].map((size) => {
      const a = med(find(container, size))
      const w = med(find(zmqWorker, size))
      return {
        scenario: '2',
        goal: `throughput >= 1.0x a bare zeromq.js SUB in a worker (${size === 16 ? '16 B' : '1 KiB'}, tcp)`,
        measured: ratio(a, w),
        met: a && w ? a / w >= 1 : undefined,
      }
    })
    const at16 = med(find(container, 16))
    goals.push({
      scenario: '2',
      goal: 'moonshot: throughput >= 1.0x the pyzmq seed design (16 B, tcp, C publisher)',
      measured: ratio(at16, py16),
      met: at16 && py16 ? at16 / py16 >= 1 : undefined,
    })
    for (const size of [16, 1024]) {
      const a = threadCpuOf(find(container, size))
      const w = threadCpuOf(find(zmqWorker, size))
      goals.push({
        scenario: '2',
        goal: `receive thread CPU per message vs a bare worker's (${size === 16 ? '16 B' : '1 KiB'}; the hot path's own cost, which load shifts less than rates; reported)`,
        measured:
          a !== undefined && w !== undefined
            ? `${num(a)} µs vs ${num(w)} µs = ${ratio(a, w)}`
            : 'n/a',
        met: null,
      })
    }
    return {
      body: [
        `Each run sends ${countFor(16, ctx.quick)} (16 B), ${countFor(1024, ctx.quick)} (1 KiB) or ${countFor(65536, ctx.quick)} (64 KiB) messages as fast as the receiver takes them: the publisher's XPUB has ZMQ_XPUB_NODROP, so a full queue blocks the sender and nothing is lost (the lost column counts messages sent but not handled, over all repetitions). Rate = messages handled / time from the first to the end marker, measured in the receiving thread. CPU = the receiving process's CPU time (all threads, user + system, from /proc, 10 ms ticks) from the start of sending to the end marker, per message; receive thread CPU = the same for its busiest thread alone (the receive thread: the hot path). Load shifts these far less than it shifts a rate. Medians of ${ctx.reps} interleaved repetitions.`,
        table(
          [
            'receiver',
            'size',
            'transport',
            'publisher',
            'k msg/s',
            'MiB/s',
            'lost',
            'CPU µs/msg',
            'receive thread CPU µs/msg',
            'thread CPU vs bare worker',
            'vs bare worker',
            'vs pyzmq',
            'vs C',
          ],
          rows,
        ),
        goalList(goals),
        ...failureNote(failures),
      ],
      goals,
      charts: [],
      raw: cases.map((c) => ({
        label: c.label,
        size: c.size,
        transport: c.transport,
        publisher: c.publisher,
        rates: rates.get(c) ?? [],
        lost: losses.get(c) ?? 0,
        cpuUsPerMessage: cpu.get(c) ?? [],
        receiveThreadCpuUsPerMessage: threadCpu.get(c) ?? [],
      })),
    }
  },
}
