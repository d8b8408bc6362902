// Latency classes as OS priorities: each receive thread sets its own nice value and, for control,
// a short scheduler slice; the test reads both back from the kernel (/proc/<pid>/task/<tid>/stat
// and .../sched), not from the container's own word.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { getPriority, release } from 'node:os'
import { after, describe, it } from 'node:test'
import { loadConfig } from '../src/shared/config'
import { ConfigError } from '../src/shared/errors'
import { ContainerProcess, MAIN } from './helpers/container'
import { metric, scrape } from './helpers/http'
import { LogProcess } from './helpers/log-process'

const linux = existsSync('/proc/thread-self')
const running: LogProcess[] = []
after(async () => {
  await Promise.all(running.map((c) => c.stop()))
})

/** Field 19 of /proc/<pid>/task/<tid>/stat: the thread's nice value, as the kernel has it. */
function kernelNice(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  // Field 2 (comm) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[19 - 3])
}

/** `se.slice` of /proc/<pid>/task/<tid>/sched in ns: the slice the kernel runs the thread with. */
function kernelSliceNs(pid: number, tid: number): number | undefined {
  const sched = readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8')
  const ns = /^se\.slice\s*:\s*(\d+)/m.exec(sched)?.[1]
  return ns === undefined ? undefined : Number(ns)
}

/** Per-thread slices are Linux 6.12+; an older kernel accepts the call and keeps its own. */
function kernelTakesSlices(): boolean {
  const [major = 0, minor = 0] = release()
    .split('.')
    .map((part) => Number.parseInt(part, 10))
  return major > 6 || (major === 6 && minor >= 12)
}

/** Field 41 of /proc/<pid>/task/<tid>/stat: the thread's scheduling policy (3 = SCHED_BATCH). */
function kernelPolicy(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3])
}

/** A socket's receive thread's one slice line, whichever it is (set, or not set and why). */
function sliceOutcome(container: LogProcess, socket: string) {
  return container.waitForLog(
    (l) =>
      (l.msg === 'thread slice set' || l.msg === 'thread slice not set') && l.socket === socket,
  )
}

function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => kernelNice(pid, Number(tid)))
}

/** Whether this process may lower a nice value (CAP_SYS_NICE is capability bit 23). */
function hasSysNice(): boolean {
  const capEff = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  return capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 23n)) !== 0n
}

/** Three SUB sockets, one per class; they connect to ports nobody listens on, which is fine. */
const threeClasses = {
  ZMQ_SUB_CONTROL_ENDPOINT: 'tcp://127.0.0.1:9',
  ZMQ_SUB_CONTROL_TOPICS: 'a.b',
  ZMQ_SUB_TELEMETRY_ENDPOINT: 'tcp://127.0.0.1:7',
  ZMQ_SUB_TELEMETRY_TOPICS: 'a.b',
  ZMQ_SUB_LOGGING_ENDPOINT: 'tcp://127.0.0.1:13',
  ZMQ_SUB_LOGGING_TOPICS: 'a.b',
  HTTP_PORT: '0',
  HTTP_HOST: '127.0.0.1',
}

describe('thread priority: configuration', () => {
  it('reads ZMQ_SUB/REP[_<NAME>]_NICE and ZC_THREAD_PRIORITY', () => {
    const cfg = loadConfig({
      ZMQ_SUB_ENDPOINT: 'tcp://a:1',
      ZMQ_SUB_TOPICS: 'a.b',
      ZMQ_SUB_NICE: '-5',
      ZMQ_REP_ENDPOINT: 'tcp://*:2',
      ZMQ_REP_NICE: '3',
    })
    assert.equal(cfg.threadPriority, true)
    assert.deepEqual(
      cfg.sockets.map((s) => [s.name, s.nice]),
      [
        ['sub', -5],
        ['rep', 3],
      ],
    )
    assert.equal(
      loadConfig({
        ZMQ_SUB_ENDPOINT: 'tcp://a:1',
        ZMQ_SUB_TOPICS: 'a.b',
        ZC_THREAD_PRIORITY: 'false',
      }).threadPriority,
      false,
    )
  })

  it('reads ZMQ_SUB/REP[_<NAME>]_SLICE_US: 0 and absent both leave the kernel own', () => {
    const cfg = loadConfig({
      ZMQ_SUB_A_ENDPOINT: 'tcp://a:1',
      ZMQ_SUB_A_TOPICS: 'a.b',
      ZMQ_SUB_A_CLASS: 'control',
      ZMQ_SUB_A_SLICE_US: '0',
      ZMQ_SUB_B_ENDPOINT: 'tcp://a:2',
      ZMQ_SUB_B_TOPICS: 'a.b',
      ZMQ_SUB_B_CLASS: 'telemetry',
      ZMQ_SUB_B_SLICE_US: '2500',
      ZMQ_REP_ENDPOINT: 'tcp://*:3',
    })
    assert.deepEqual(
      cfg.sockets.map((s) => [s.name, s.sliceUs]),
      [
        ['a', 0],
        ['b', 2500],
        ['rep', undefined],
      ],
    )
  })

  it('rejects a slice the kernel would clamp, a fraction, and a slice on a PUB, naming the variable', () => {
    for (const [variable, env] of [
      ['ZMQ_SUB_SLICE_US', { ZMQ_SUB_SLICE_US: '99' }],
      ['ZMQ_SUB_SLICE_US', { ZMQ_SUB_SLICE_US: '100001' }],
      ['ZMQ_SUB_SLICE_US', { ZMQ_SUB_SLICE_US: '150.5' }],
      ['ZMQ_PUB_SLICE_US', { ZMQ_PUB_ENDPOINT: 'tcp://*:3', ZMQ_PUB_SLICE_US: '100' }],
    ] as const) {
      assert.throws(
        () => loadConfig({ ZMQ_SUB_ENDPOINT: 'tcp://a:1', ZMQ_SUB_TOPICS: 'a.b', ...env }),
        (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === variable),
        `${JSON.stringify(env)}`,
      )
    }
  })

  it('rejects a nice outside -20..19 and a nice on a PUB socket, naming the variable', () => {
    for (const [variable, env] of [
      ['ZMQ_SUB_NICE', { ZMQ_SUB_NICE: '20' }],
      ['ZMQ_PUB_NICE', { ZMQ_PUB_ENDPOINT: 'tcp://*:3', ZMQ_PUB_NICE: '1' }],
    ] as const) {
      assert.throws(
        () => loadConfig({ ZMQ_SUB_ENDPOINT: 'tcp://a:1', ZMQ_SUB_TOPICS: 'a.b', ...env }),
        (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === variable),
      )
    }
  })
})

describe('thread priority: receive threads', { skip: !linux && 'needs Linux /proc' }, () => {
  const base = getPriority()

  it('gives each receive thread the nice of its class, or its _NICE, and reports it in /metrics', async () => {
    const container = new ContainerProcess({ ...threeClasses, ZMQ_SUB_LOGGING_NICE: '17' })
    running.push(container)
    const http = await container.waitForLog('http listening')
    await container.waitForLog('ready')
    // Each worker logs this synchronously before its ready handshake, so all three are in.
    const set = container.lines.filter((l) => l.msg === 'thread priority set')
    assert.deepEqual(set.map((l) => l.socket).sort(), ['control', 'logging', 'telemetry'])
    const pid = container.child.pid as number
    const expected = { control: base, telemetry: Math.min(19, base + 5), logging: 17 }
    const families = await scrape(http.port as number)
    for (const line of set) {
      const socket = line.socket as keyof typeof expected
      assert.equal(kernelNice(pid, line.tid as number), expected[socket], `socket ${socket}`)
      assert.equal(metric(families, 'zc_worker_nice', { socket, class: socket }), expected[socket])
    }
    // The main thread keeps the process's own nice.
    assert.equal(kernelNice(pid, pid), base)
  })

  it('gives a receive thread the slice its _SLICE_US asks for, keeping nice values, in /metrics', async () => {
    const container = new ContainerProcess({
      ...threeClasses,
      ZMQ_SUB_CONTROL_SLICE_US: '100',
      ZMQ_SUB_TELEMETRY_SLICE_US: '3000',
      ZMQ_SUB_LOGGING_SLICE_US: '0',
    })
    running.push(container)
    const http = await container.waitForLog('http listening')
    await container.waitForLog('ready')
    const pid = container.child.pid as number
    const takes = kernelTakesSlices()
    // The slice is asked for off the start-up path: its line may come after `ready`.
    const lines = [
      await sliceOutcome(container, 'control'),
      await sliceOutcome(container, 'telemetry'),
    ]
    const outcome = takes ? 'thread slice set' : 'thread slice not set'
    for (const line of lines) assert.equal(line.msg, outcome, container.dump())
    assert.deepEqual(
      lines.map((l) => [l.socket, l.sliceUs]),
      [
        ['control', 100],
        ['telemetry', 3000],
      ],
    )
    // `_SLICE_US=0`: the logging thread is not asked for one.
    assert.ok(
      !container.lines.some(
        (l) => String(l.msg).startsWith('thread slice') && l.socket === 'logging',
      ),
    )
    const tids = Object.fromEntries(
      container.lines
        .filter((l) => l.msg === 'thread priority set')
        .map((l) => [l.socket as string, l.tid as number]),
    )
    // sched_setattr sets nice too: the classes' values must survive it.
    assert.equal(kernelNice(pid, tids.control as number), base)
    assert.equal(kernelNice(pid, tids.telemetry as number), Math.min(19, base + 5))
    const families = await scrape(http.port as number)
    if (!takes) {
      // An older kernel: one warning per thread saying so, and no slice in /metrics.
      for (const line of lines) assert.match(String(line.reason), /kernel kept its own slice/)
      assert.equal(families.get('zc_worker_slice_seconds')?.samples.length ?? 0, 0)
      return
    }
    assert.equal(kernelSliceNs(pid, tids.control as number), 100_000)
    assert.equal(kernelSliceNs(pid, tids.telemetry as number), 3_000_000)
    // Logging keeps the kernel's own, as the main thread has it.
    assert.equal(kernelSliceNs(pid, tids.logging as number), kernelSliceNs(pid, pid))
    assert.equal(
      metric(families, 'zc_worker_slice_seconds', { socket: 'control', class: 'control' }),
      0.0001,
    )
    assert.equal(
      metric(families, 'zc_worker_slice_seconds', { socket: 'telemetry', class: 'telemetry' }),
      0.003,
    )
    assert.equal(
      families
        .get('zc_worker_slice_seconds')
        ?.samples.filter((sample) => sample.labels.socket === 'logging').length ?? 0,
      0,
    )
  })

  it("runs libzmq's I/O and reaper threads at the process's nice, not a receive thread's", async () => {
    // No PUB: without the main thread's own start, the first receive thread to open its socket
    // would create them, and they would inherit its nice (+5 or +10).
    const container = new ContainerProcess({
      ZMQ_SUB_TELEMETRY_ENDPOINT: 'tcp://127.0.0.1:7',
      ZMQ_SUB_TELEMETRY_TOPICS: 'a.b',
      ZMQ_SUB_LOGGING_ENDPOINT: 'tcp://127.0.0.1:13',
      ZMQ_SUB_LOGGING_TOPICS: 'a.b',
    })
    running.push(container)
    await container.waitForLog('ready')
    const pid = container.child.pid as number
    const zmqThreads = readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('ZMQbg'))
    assert.ok(zmqThreads.length >= 2, `libzmq threads: ${zmqThreads.length}`)
    for (const tid of zmqThreads) assert.equal(kernelNice(pid, tid), base, `thread ${tid}`)
  })

  it('keeps a SCHED_BATCH thread a batch one, and threads it starts later get no short slice', async () => {
    // chrt (util-linux) starts the container as SCHED_BATCH; sched_setattr sets the policy with
    // the slice, so a careless call would make the control thread SCHED_OTHER again.
    const container = new LogProcess(
      'container',
      '/usr/bin/chrt',
      ['-b', '0', process.execPath, MAIN],
      {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'debug',
        ...threeClasses,
        ZMQ_SUB_CONTROL_SLICE_US: '100',
        // Pool threads are started by the control receive thread; they run long handlers.
        ZMQ_SUB_CONTROL_POOL_THREADS: '2',
      },
    )
    running.push(container)
    await container.waitForLog('ready')
    const line = await sliceOutcome(container, 'control')
    const outcome = kernelTakesSlices() ? 'thread slice set' : 'thread slice not set'
    assert.equal(line.msg, outcome, container.dump())
    const pid = container.child.pid as number
    const tids = readdirSync(`/proc/${pid}/task`).map(Number)
    assert.deepEqual([...new Set(tids.map((tid) => kernelPolicy(pid, tid)))], [3], container.dump())
    if (!kernelTakesSlices()) return
    // Only the control receive thread has the 100 µs slice: not its pool's threads.
    const short = tids.filter((tid) => kernelSliceNs(pid, tid) === 100_000)
    assert.deepEqual(short, [line.tid])
  })

  it('without perl, a slice is one warning per thread saying so, and the container runs', async () => {
    const container = new ContainerProcess({
      ...threeClasses,
      ZMQ_SUB_CONTROL_SLICE_US: '100',
      PATH: '/nonexistent',
    })
    running.push(container)
    await container.waitForLog('ready')
    const warning = await sliceOutcome(container, 'control')
    assert.equal(warning.msg, 'thread slice not set')
    assert.match(String(warning.reason), /perl not found/)
    // The nice values are set as ever.
    assert.equal(container.lines.filter((l) => l.msg === 'thread priority set').length, 3)
  })

  it('with ZC_THREAD_PRIORITY=false leaves every thread at the nice it inherited', async () => {
    const container = new ContainerProcess({
      ...threeClasses,
      ZMQ_SUB_CONTROL_SLICE_US: '100',
      ZC_THREAD_PRIORITY: 'false',
    })
    running.push(container)
    const http = await container.waitForLog('http listening')
    await container.waitForLog('ready')
    assert.deepEqual(
      [...new Set(threadNices(container.child.pid as number))],
      [base],
      container.dump(),
    )
    assert.ok(!container.lines.some((l) => String(l.msg).startsWith('thread priority')))
    assert.ok(!container.lines.some((l) => String(l.msg).startsWith('thread slice')))
    const families = await scrape(http.port as number)
    assert.equal(families.get('zc_worker_nice')?.samples.length ?? 0, 0)
    assert.equal(families.get('zc_worker_slice_seconds')?.samples.length ?? 0, 0)
  })

  it('without CAP_SYS_NICE, a nice below the process own is one warning, not a failure', async () => {
    // As root the test drops the capability with setpriv; unprivileged it has none to drop.
    const privileged = hasSysNice()
    if (privileged && !existsSync('/usr/bin/setpriv')) return
    const command = privileged ? '/usr/bin/setpriv' : process.execPath
    const args = privileged
      ? ['--bounding-set', '-sys_nice', '--inh-caps', '-sys_nice', process.execPath, MAIN]
      : [MAIN]
    const container = new LogProcess('container', command, args, {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'debug',
      ...threeClasses,
      ZMQ_SUB_CONTROL_NICE: String(base - 5),
    })
    running.push(container)
    await container.waitForLog('ready')
    const warnings = container.lines.filter((l) => l.msg === 'thread priority not set')
    assert.deepEqual(
      warnings.map((l) => [l.socket, l.code]),
      [['control', 'EACCES']],
      container.dump(),
    )
    const tid = warnings[0]?.tid as number
    assert.equal(kernelNice(container.child.pid as number, tid), base)
    // The other classes raise their nice, which needs no privilege.
    assert.equal(
      container.lines.filter((l) => l.msg === 'thread priority set').length,
      2,
      container.dump(),
    )
  })
})
