/**
 * Data-plane figures for issue 4, each against its baseline in the same run:
 *   1. Payload hand-off to another thread, 1 KiB and 1 MiB: structured clone, a transfer list
 *      holding zeromq's own receive buffer, and one copy into our memory then a transfer.
 *   2. Pool mode overhead per message (receive -> piscina thread -> done) vs the same handler
 *      called inline.
 *   3. REQ/REP round trip p50/p99: the container's REP worker with our Lazy Pirate client, vs
 *      raw zeromq.js REQ and REP in two processes.
 *
 *   npm run build && node --require tsx/cjs bench/data-plane.ts [--quick]
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { MessageChannel, Worker } from 'node:worker_threads'
import { Publisher, Request, Subscriber } from 'zeromq'
import { RequestClient } from '../src/client/request'
import { PoolDispatcher } from '../src/worker/pool-dispatch'
import { histogram, median, percentilesUs } from './lib/stats'

const quick = process.argv.includes('--quick')
const REPS = quick ? 1 : 3
const ROOT = path.join(__dirname, '..')

function line(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** zeromq receive buffers of `size` bytes, as a receive worker would hold them. */
async function zmqBuffers(size: number, count: number): Promise<Buffer[]> {
  const pub = new Publisher({ sendHighWaterMark: 0 })
  const sub = new Subscriber({ receiveHighWaterMark: 0 })
  const address = `inproc://data-plane-${size}`
  await pub.bind(address)
  sub.connect(address)
  sub.subscribe('')
  const payload = Buffer.alloc(size, 7)
  const received: Buffer[] = []
  // Keep sending until the subscription has taken effect and `count` arrived.
  const sending = (async () => {
    while (received.length < count) await pub.send(payload)
  })()
  while (received.length < count)
    received.push(((await sub.receive())[0] as Buffer) ?? Buffer.alloc(0))
  await sending
  pub.close()
  sub.close()
  return received
}

type HandOff = 'clone' | 'transfer zmq buffer' | 'copy + transfer'

/** Messages per second posted to a worker that counts them, and whether the sender kept its data. */
async function handOff(
  mode: HandOff,
  buffers: Buffer[],
): Promise<{ perSecond: number; detached: boolean }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     let n = 0
     workerData.port.on('message', () => { if (++n === workerData.count) parentPort.postMessage('done') })`,
    { eval: true, workerData: { port: undefined, count: buffers.length } },
  )
  await worker.terminate()
  const { port1, port2 } = new MessageChannel()
  const counter = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     let n = 0
     workerData.port.on('message', () => { if (++n === workerData.count) parentPort.postMessage('done') })`,
    { eval: true, workerData: { port: port2, count: buffers.length }, transferList: [port2] },
  )
  const done = once(counter, 'message')
  let detached = true
  const t0 = performance.now()
  for (const buffer of buffers) {
    if (mode === 'clone') {
      port1.postMessage(buffer)
    } else if (mode === 'transfer zmq buffer') {
      port1.postMessage(buffer, [buffer.buffer as ArrayBuffer])
      if (buffer.buffer.byteLength !== 0) detached = false
    } else {
      const copy = new Uint8Array(buffer.byteLength)
      copy.set(buffer)
      port1.postMessage(copy, [copy.buffer])
    }
  }
  await done
  const seconds = (performance.now() - t0) / 1000
  await counter.terminate()
  port1.close()
  return { perSecond: buffers.length / seconds, detached: mode === 'clone' ? false : detached }
}

async function handOffTable(): Promise<void> {
  line('\n### 1. Payload hand-off to another thread (messages/s, median of runs)\n')
  line(
    '| size | structured clone | transfer of zeromq buffer | one copy + transfer | zeromq buffer detached after transfer? |',
  )
  line('|---|---|---|---|---|')
  for (const [size, count] of [
    [1024, quick ? 5000 : 20_000],
    [16 * 1024, quick ? 2000 : 8000],
    [64 * 1024, quick ? 1000 : 4000],
    [1024 * 1024, quick ? 100 : 400],
  ] as const) {
    const results: Record<HandOff, number[]> = {
      clone: [],
      'transfer zmq buffer': [],
      'copy + transfer': [],
    }
    let detached = false
    for (let r = 0; r < REPS; r++) {
      for (const mode of Object.keys(results) as HandOff[]) {
        const outcome = await handOff(mode, await zmqBuffers(size, count))
        results[mode].push(outcome.perSecond)
        if (mode === 'transfer zmq buffer') detached = outcome.detached
      }
    }
    const f = (xs: number[]) => Math.round(median(xs)).toLocaleString('en')
    line(
      `| ${size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`} | ${f(results.clone)} | ${f(results['transfer zmq buffer'])} | ${f(results['copy + transfer'])} | ${detached ? 'yes' : 'no: copied'} |`,
    )
  }
}

async function poolOverhead(): Promise<void> {
  line('\n### 2. Pool mode overhead per message (no-op handler, 16 B)\n')
  const count = quick ? 5000 : 20_000
  const socket = {
    kind: 'sub' as const,
    name: 'bench',
    envPrefix: 'ZMQ_SUB_BENCH',
    latencyClass: 'telemetry' as const,
    endpoints: [],
    topics: ['bench.'],
    minSubscribers: 0,
    subscriberTimeoutMs: 0,
    curve: undefined,
    pool: undefined,
    nice: undefined,
  }
  const handler = (_m: unknown) => {}
  const inline: number[] = []
  const pooled: number[] = []
  for (let r = 0; r < REPS; r++) {
    const payload = Buffer.alloc(16)
    let t0 = performance.now()
    for (let i = 0; i < count; i++) handler({ topic: 'bench.x', payload })
    inline.push(((performance.now() - t0) * 1e6) / count)
    let done = 0
    let finished: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      finished = resolve
    })
    const dispatcher = new PoolDispatcher(
      { threads: 1, queue: count, drop: 'newest' },
      {
        servicePath: path.join(ROOT, 'bench', 'data-plane', 'noop-service.js'),
        socket,
        logLevel: 'silent',
        logFormat: 'json',
      },
      {
        done: () => {
          if (++done === count) finished()
        },
        failed: () => {
          if (++done === count) finished()
        },
        dropped: () => {},
      },
    )
    // Warm the pool thread (service load) before timing.
    dispatcher.submit({ topic: 'bench.x', payload, receivedAt: performance.now() })
    await dispatcher.drained()
    done = 0
    t0 = performance.now()
    for (let i = 0; i < count; i++)
      dispatcher.submit({ topic: 'bench.x', payload, receivedAt: performance.now() })
    await all
    pooled.push(((performance.now() - t0) * 1e6) / count)
    await dispatcher.close()
  }
  line('| path | ns per message (median) |')
  line('|---|---|')
  line(`| inline call | ${Math.round(median(inline))} |`)
  line(
    `| pool: copy, post to a piscina thread, result back | ${Math.round(median(pooled)).toLocaleString('en')} |`,
  )
  line(
    `\nRatio pool/inline: ${(median(pooled) / median(inline)).toFixed(0)}x. The pool pays off only for handlers that cost more than this per message.`,
  )
}

async function reqRep(): Promise<void> {
  line('\n### 3. REQ/REP round trip over tcp on 127.0.0.1 (16 B, sequential)\n')
  const count = quick ? 1000 : 5000
  const rows: Array<[string, ReturnType<typeof percentilesUs>]> = []
  // Baseline: a raw zeromq.js REP echo in its own process, a raw REQ here.
  const raw = spawn(
    process.execPath,
    [
      '-e',
      `const { Reply } = require('zeromq'); (async () => { const r = new Reply(); await r.bind('tcp://127.0.0.1:*');
       console.log(r.lastEndpoint); for await (const [m] of r) await r.send(m) })()`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const rawEndpoint = String((await once(createInterface({ input: raw.stdout }), 'line'))[0])
  // Ours: the container's REP socket, served by its worker (echo: no reply handler).
  const container = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', ZMQ_REP_ENDPOINT: 'tcp://127.0.0.1:*', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const ourEndpoint = await new Promise<string>((resolve) => {
    createInterface({ input: container.stdout }).on('line', (l) => {
      const entry = JSON.parse(l) as { msg: string; endpoints?: string[] }
      if (entry.msg === 'answering requests')
        resolve(String(entry.endpoints?.[0]).replace(/^bind /, ''))
    })
  })
  const payload = Buffer.alloc(16, 1)
  for (let r = 0; r < REPS; r++) {
    const h1 = histogram()
    const req = new Request({ linger: 0 })
    req.connect(rawEndpoint)
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint()
      await req.send(payload)
      await req.receive()
      h1.recordValue(Number(process.hrtime.bigint() - t0))
    }
    req.close()
    rows.push(['raw zeromq.js REQ -> REP (two processes)', percentilesUs(h1)])
    const h2 = histogram()
    const client = new RequestClient(ourEndpoint, { timeoutMs: 2000, retries: 0 })
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint()
      await client.request(payload)
      h2.recordValue(Number(process.hrtime.bigint() - t0))
    }
    client.close()
    rows.push(['RequestClient -> container REP worker', percentilesUs(h2)])
  }
  raw.kill('SIGKILL')
  container.kill('SIGTERM')
  await once(container, 'exit')
  const by = (name: string, key: 'p50' | 'p99') =>
    median(rows.filter(([n]) => n === name).map(([, p]) => p[key]))
  line('| design | p50 (us) | p99 (us) |')
  line('|---|---|---|')
  for (const name of [...new Set(rows.map(([n]) => n))])
    line(`| ${name} | ${by(name, 'p50').toFixed(0)} | ${by(name, 'p99').toFixed(0)} |`)
  const base = 'raw zeromq.js REQ -> REP (two processes)'
  const ours = 'RequestClient -> container REP worker'
  line(
    `\nRatio ours/raw: p50 ${(by(ours, 'p50') / by(base, 'p50')).toFixed(2)}x, p99 ${(by(ours, 'p99') / by(base, 'p99')).toFixed(2)}x`,
  )
}

async function main(): Promise<void> {
  line(
    `## Data plane (issue 4): node ${process.version}, ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}${quick ? ', --quick' : ''}`,
  )
  await handOffTable()
  await poolOverhead()
  await reqRep()
  line(
    `\nLoad at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
}

void main()
