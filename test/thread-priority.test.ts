// Latency classes as OS priorities: each receive thread sets its own nice value, which the test
// reads back from the kernel (/proc/<pid>/task/<tid>/stat), not from the container's own word.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { getPriority } from 'node:os'
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

  it('with ZC_THREAD_PRIORITY=false leaves every thread at the nice it inherited', async () => {
    const container = new ContainerProcess({ ...threeClasses, ZC_THREAD_PRIORITY: 'false' })
    running.push(container)
    const http = await container.waitForLog('http listening')
    await container.waitForLog('ready')
    assert.deepEqual(
      [...new Set(threadNices(container.child.pid as number))],
      [base],
      container.dump(),
    )
    assert.ok(!container.lines.some((l) => String(l.msg).startsWith('thread priority')))
    const families = await scrape(http.port as number)
    assert.equal(families.get('zc_worker_nice')?.samples.length ?? 0, 0)
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
