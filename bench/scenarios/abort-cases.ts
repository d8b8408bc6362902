import { setTimeout as delay } from 'node:timers/promises'
import { Publisher as ZmqPublisher } from 'zeromq'
import { attempt, type BenchContext } from '../lib/context'
import { benchService, MAIN } from '../lib/paths'
import { Proc } from '../lib/proc'
import type { StopSample } from './shutdown'

/**
 * The two ways the container used to abort (134) outside a plain SIGTERM, run as the README
 * describes them: a receive worker that runs out of memory (monitor on, small heap), and a
 * SIGTERM that lands in the start-up window (SUB + REP + PUB, monitors on).
 */
export interface AbortCase {
  readonly label: string
  /** The exit code the README promises. */
  readonly expected: string
  readonly samples: StopSample[]
}

/** Out of memory: fed until the container ends; restarts, then the restart limit (71). */
async function outOfMemoryOnce(): Promise<StopSample> {
  const pub = new ZmqPublisher({ linger: 0 })
  await pub.bind('tcp://127.0.0.1:*')
  const proc = new Proc('container', process.execPath, [MAIN], {
    LOG_LEVEL: 'info',
    ZMQ_SUB_ENDPOINT: pub.lastEndpoint as string,
    ZMQ_SUB_TOPICS: 'x.msg',
    ZC_SERVICE: benchService('leak'),
    NODE_OPTIONS: '--max-old-space-size=96',
    ZC_RESTART_LIMIT: '1',
    ZC_RESTART_BACKOFF_MS: '20',
  })
  const started = performance.now()
  let feeding = true
  try {
    await proc.waitFor((l) => l.msg === 'ready', 10_000, 'ready')
    void (async () => {
      for (let i = 0; feeding; i++) {
        await pub.send(['x.msg', String(i)]).catch(() => undefined)
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    const kill = setTimeout(() => proc.child.kill('SIGKILL'), 60_000)
    const exit = await proc.exited
    clearTimeout(kill)
    return { ms: performance.now() - started, code: exit.code, signal: exit.signal }
  } finally {
    feeding = false
    await proc.end(1000).catch(() => undefined)
    pub.close()
  }
}

/** SIGTERM `offsetMs` after `publisher ready`: the workers are loading, binding, subscribing. */
async function startupWindowOnce(offsetMs: number, subEndpoint: string): Promise<StopSample> {
  const proc = new Proc('container', process.execPath, [MAIN], {
    LOG_LEVEL: 'info',
    ZMQ_SUB_ENDPOINT: subEndpoint,
    ZMQ_SUB_TOPICS: 'x.msg',
    ZMQ_REP_ENDPOINT: 'tcp://127.0.0.1:*',
    ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
    ZMQ_PUB_TOPICS: 'y.out',
    ZMQ_MONITOR: 'true',
  })
  try {
    await proc.waitFor((l) => l.msg === 'publisher ready', 10_000, 'publisher ready')
    await delay(offsetMs)
    const kill = setTimeout(() => proc.child.kill('SIGKILL'), 15_000)
    const exit = await proc.stop('SIGTERM')
    clearTimeout(kill)
    return { ms: exit.stopMs ?? Number.NaN, code: exit.code, signal: exit.signal }
  } finally {
    await proc.end(1000).catch(() => undefined)
  }
}

export async function runAbortCases(ctx: BenchContext, failures: string[]): Promise<AbortCase[]> {
  const oom: AbortCase = {
    label: 'worker out of memory (96 MB heap, monitor on, restart limit 1)',
    expected: '71 (out_of_memory, restarted, then the restart limit)',
    samples: [],
  }
  const step = ctx.quick ? 40 : 10
  const offsets = Array.from({ length: ctx.quick ? 5 : 20 }, (_, i) => i * step)
  const window: AbortCase = {
    label: `SIGTERM 0-${offsets.at(-1)} ms after \`publisher ready\`, every ${step} ms (SUB + REP + PUB, monitor on)`,
    expected: '0, well within the 2 s join deadline',
    samples: [],
  }
  for (let run = 0; run < ctx.reps; run++) {
    ctx.log(`  out of memory run ${run + 1}`)
    const s = await attempt(ctx, failures, `out of memory run ${run + 1}`, outOfMemoryOnce)
    if (s) oom.samples.push(s)
  }
  const sub = new ZmqPublisher({ linger: 0 })
  await sub.bind('tcp://127.0.0.1:*')
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const offsetMs of offsets) {
        ctx.log(`  start-up window +${offsetMs} ms rep ${rep + 1}`)
        const s = await attempt(ctx, failures, `start-up window +${offsetMs} ms`, () =>
          startupWindowOnce(offsetMs, sub.lastEndpoint as string),
        )
        if (s) window.samples.push(s)
      }
    }
  } finally {
    sub.close()
  }
  return [oom, window]
}
