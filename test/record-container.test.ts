// ZMQ_RECORD_FILE: a running container records what its SUB sockets receive. Real container
// processes, real sockets on 127.0.0.1; waits are on log lines and subscription frames.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { getPriority, tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { RECORDER_FINISH_MS } from '../src/main/container-recorder'
import { RECORDER_NICE_OFFSET } from '../src/recorder/recorder-priority'
import { Recording } from '../src/recording/reader'
import { EXIT } from '../src/shared/exit-codes'
import { ContainerProcess, fixtureService } from './helpers/container'
import { metricSum, scrape } from './helpers/http'
import type { LogLine } from './helpers/logs'
import { TestPublisher } from './helpers/peers'
import { within } from './helpers/within'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-record-container-'))
const containers: ContainerProcess[] = []
const sockets: TestPublisher[] = []
after(async () => {
  for (const c of containers) await c.stop()
  for (const s of sockets) s.close()
  rmSync(dir, { recursive: true, force: true })
})

async function start(
  env: Record<string, string>,
  topics = ['demo.a', 'demo.b'],
): Promise<{ container: ContainerProcess; pub: TestPublisher }> {
  const pub = await new TestPublisher().bind()
  sockets.push(pub)
  const container = new ContainerProcess({
    ZMQ_SUB_ENDPOINT: pub.endpoint,
    ZMQ_SUB_TOPICS: topics.join(','),
    ...env,
  })
  containers.push(container)
  await container.waitForLog('ready')
  await pub.subscribed(...topics)
  return { container, pub }
}

type Counts = { recorded: number; overflow: number; skipped: number; lost: number }

function closedCounts(container: ContainerProcess): Counts {
  const closed = container.lines.find((l) => l.msg === 'recording closed') as
    | (LogLine & { sockets: Record<string, Counts> })
    | undefined
  assert.ok(closed, container.dump())
  return closed.sockets.sub as Counts
}

/** The file ends properly (summary, footer): its statistics count what the log says. */
async function assertFinished(file: string, recorded: number): Promise<void> {
  const recording = await Recording.open(file)
  try {
    assert.equal(recording.statistics?.messageCount, BigInt(recorded))
  } finally {
    await recording.close()
  }
}

/** Field 19 of /proc/<pid>/task/<tid>/stat: the thread's nice value, as the kernel has it. */
function kernelNice(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3])
}

/** Everything a FIFO's writer writes, until it closes its end. */
async function drain(reader: FileHandle): Promise<Buffer> {
  const parts: Buffer[] = []
  for (;;) {
    const { bytesRead, buffer } = await reader.read({ buffer: Buffer.alloc(1 << 20) })
    if (bytesRead === 0) return Buffer.concat(parts)
    parts.push(buffer.subarray(0, bytesRead))
  }
}

/** write(2) and writev(2): x86-64, then arm64. */
const WRITE_SYSCALLS = new Set(['1', '20', '64', '66'])

/**
 * Whether a thread of process `pid` is in a write to `file` now (blocked, for a full pipe), from
 * /proc: each thread's current system call and its first argument, the file descriptor.
 */
function writingTo(pid: number, file: string): boolean {
  const fds = new Set<number>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) fds.add(Number(fd))
    } catch {
      // Closed since the listing.
    }
  }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let call: string[]
    try {
      call = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ')
    } catch {
      continue
    }
    if (WRITE_SYSCALLS.has(call[0] as string) && fds.has(Number(call[1]))) return true
  }
  return false
}

async function stopAndCount(
  container: ContainerProcess,
): Promise<{ counts: Counts; received: number }> {
  container.signal('SIGTERM')
  const exit = await container.exited
  assert.equal(exit.code, 0, container.dump())
  const counts = closedCounts(container)
  const stopped = container.lines.find((l) => l.msg === 'receive worker stopped') as LogLine & {
    received: number
  }
  assert.ok(stopped, container.dump())
  return { counts, received: stopped.received }
}

describe('ZMQ_RECORD_FILE', () => {
  it('records every message the SUB socket receives, bytes and order as received; a stop ends the file', async () => {
    const file = path.join(dir, 'all.mcap')
    const { container, pub } = await start({ ZMQ_RECORD_FILE: file })
    const sent: Array<[string, Buffer]> = []
    for (let i = 0; i < 40; i++) {
      const message: [string, Buffer] = [
        i % 2 ? 'demo.a' : 'demo.b',
        Buffer.from(Array.from({ length: i * 11 }, (_, j) => (i + j * 13) % 256)),
      ]
      sent.push(message)
      await pub.send(message)
    }
    // A prefix-only match: the container drops it, but its socket received it, so it is recorded.
    await pub.send(['demo.ab', 'prefix'])
    sent.push(['demo.ab', Buffer.from('prefix')])
    // Three frames: nothing to record faithfully as [topic, payload]; counted as skipped.
    await pub.send(['demo.a', 'x', 'y'])
    await container.waitForLog((l) => l.msg === 'message dropped' && l.reason === 'bad_frames')
    const { counts, received } = await stopAndCount(container)
    assert.deepEqual(counts, { recorded: 41, overflow: 0, skipped: 1, lost: 0 })
    assert.equal(received, counts.recorded + counts.overflow + counts.skipped + counts.lost)

    const recording = await Recording.open(file)
    try {
      const got: Array<[string, string]> = []
      for await (const m of recording.messages())
        got.push([m.topicFrame.toString('latin1'), Buffer.from(m.payload).toString('hex')])
      assert.deepEqual(
        got,
        sent.map(([t, p]) => [t, p.toString('hex')]),
      )
      const metadata = await recording.metadata()
      assert.equal(metadata.get('zmq.endpoint'), `connect ${pub.endpoint}`)
      assert.equal(metadata.get('zmq.socket'), 'sub')
      assert.equal(metadata.get('zmq.subscriptions.sub'), 'demo.a,demo.b')
      for (const c of recording.channels) {
        assert.equal(c.metadata.get('zmq.socket'), 'sub')
        assert.equal(c.metadata.get('zmq.endpoint'), `connect ${pub.endpoint}`)
      }
    } finally {
      await recording.close()
    }
  })

  it('a full buffer never blocks receiving: the overflow is counted and every message is still handled', async () => {
    const file = path.join(dir, 'overflow.mcap')
    const { container, pub } = await start({
      ZMQ_RECORD_FILE: file,
      ZMQ_RECORD_BUFFER_BYTES: '1024',
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
    })
    // 930 B of budget each (topic, payload, layout): one fits the 1 KiB budget at a time, until
    // the recorder thread has written it.
    for (let i = 0; i < 100; i++) await pub.send(['demo.a', Buffer.alloc(900, i)])
    const handled = () => container.lines.filter((l) => l.msg === 'received').length
    await container.waitForLog(() => handled() >= 100)
    // /metrics shows the same counts once the last batch is written (a scrape per round).
    const port = Number((await container.waitForLog('http listening')).port)
    const outcome = async () => {
      const families = await scrape(port)
      const read = (o: string) =>
        metricSum(families, 'zc_record_messages_total', { socket: 'sub', outcome: o })
      return {
        recorded: read('recorded'),
        overflow: read('overflow'),
        skipped: read('skipped'),
        lost: read('lost'),
      }
    }
    let scraped = await outcome()
    while (scraped.recorded + scraped.overflow < 100) scraped = await outcome()
    const { counts, received } = await stopAndCount(container)
    assert.deepEqual(scraped, counts)
    assert.equal(received, 100)
    assert.ok(counts.overflow > 0, JSON.stringify(counts))
    assert.equal(counts.recorded + counts.overflow + counts.skipped + counts.lost, received)
    await assertFinished(file, counts.recorded)
  })

  it("a 65,537th topic in one file ends the recording's intake: the file holds exactly what is counted as recorded", async () => {
    const file = path.join(dir, 'topics.mcap')
    // No high-water mark on either side, so every topic reaches the container.
    const pub = new TestPublisher()
    pub.socket.sendHighWaterMark = 0
    await pub.bind()
    sockets.push(pub)
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'm.',
      ZMQ_RCVHWM: '0',
      ZMQ_RECORD_FILE: file,
      ZC_SERVICE: fixtureService('counting'),
      LOG_LEVEL: 'info',
      // 65,536 new channels take the recorder seconds at nice 19: the stop waits for all of them.
      ZC_SHUTDOWN_TIMEOUT_MS: '60000',
    })
    containers.push(container)
    await container.waitForLog('ready')
    await pub.subscribed('m.')
    const topics = 65_536 + 1000
    for (let i = 0; i < topics; i++) await pub.send([`m.t${i}`, 'x'])
    await pub.send(['m.end', 'sentinel'])
    await container.waitForLog('sentinel handled')
    const { counts, received } = await stopAndCount(container)
    assert.equal(received, topics + 1)
    assert.equal(counts.recorded + counts.overflow + counts.skipped + counts.lost, received)
    // MCAP's limit: the batch that brought the 65,537th topic is split, and the messages before
    // it in that batch are in the file, so they count as recorded, not as overflow.
    assert.equal(counts.recorded, 65_536, JSON.stringify(counts))
    await assertFinished(file, counts.recorded)
  })

  it('the recorder thread runs nicer than the process (ZC_THREAD_PRIORITY), as the kernel reports', {
    skip: !existsSync('/proc/thread-self') && 'needs Linux /proc',
  }, async () => {
    const { container } = await start({ ZMQ_RECORD_FILE: path.join(dir, 'nice.mcap') })
    const set = container.lines.find(
      (l) => l.msg === 'thread priority set' && l.thread === 'recorder',
    )
    assert.ok(set, container.dump())
    const pid = container.child.pid as number
    const expected = Math.min(19, getPriority(pid) + RECORDER_NICE_OFFSET)
    assert.equal(kernelNice(pid, Number(set.tid)), expected)
    assert.equal(set.nice, expected)
    // Every thread but the two that set their own nice (the recorder and the receive thread)
    // runs at the process's: libuv's pool among them, which the recorder's first file write
    // would otherwise start at 19 (and a telemetry thread's at +5), so that a handler's file or
    // DNS work would wait behind everything else.
    const processNice = getPriority(pid)
    const ownNice = container.lines
      .filter((l) => l.msg === 'thread priority set')
      .map((l) => String(l.tid))
    assert.equal(ownNice.length, 2, container.dump())
    const others = readdirSync(`/proc/${pid}/task`).filter((tid) => !ownNice.includes(tid))
    const othersNice = others.flatMap((tid) => {
      try {
        return [kernelNice(pid, Number(tid))]
      } catch {
        return [] // Ended since the listing.
      }
    })
    assert.ok(othersNice.length >= 4, `libuv's 4 pool threads at least: ${others.join(' ')}`)
    assert.deepEqual(new Set(othersNice), new Set([processNice]))
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK, container.dump())
  })

  it('SIGTERM while messages arrive: the recorder thread takes every last batch, ends the file, and exits before the container does', async () => {
    const file = path.join(dir, 'sigterm.mcap')
    const { container, pub } = await start({ ZMQ_RECORD_FILE: file })
    let sending = true
    let sent = 0
    const flow = (async () => {
      while (sending) {
        await pub.send(['demo.a', Buffer.alloc(100, sent % 256)])
        sent++
      }
    })()
    await container.waitForLog((l) => l.msg === 'received')
    container.signal('SIGTERM')
    const exit = await container.exited
    sending = false
    await flow
    assert.equal(exit.code, EXIT.OK, container.dump())
    const msgs = container.lines.map((l) => l.msg)
    assert.ok(msgs.indexOf('recording closed') < msgs.lastIndexOf('stopped'), container.dump())
    const counts = closedCounts(container)
    const stopped = container.lines.find((l) => l.msg === 'receive worker stopped')
    assert.ok(stopped && counts.recorded > 0, container.dump())
    assert.equal(
      counts.recorded + counts.overflow + counts.skipped + counts.lost,
      Number(stopped.received),
    )
    await assertFinished(file, counts.recorded)
  })

  // A handler stuck in synchronous code never lets its thread post the last batch: the capture
  // in it is counted as lost, from the thread's shared tally, once the thread is terminated.
  it('a hung handler terminated at the join deadline: its last batch is counted as lost; received = recorded + overflow + skipped + lost', async () => {
    const file = path.join(dir, 'hung.mcap')
    const deadline = 300
    const { container, pub } = await start(
      {
        ZMQ_RECORD_FILE: file,
        ZC_SERVICE: fixtureService('hang-sync'),
        ZC_SHUTDOWN_TIMEOUT_MS: String(deadline),
        ZMQ_MONITOR: 'false',
      },
      ['demo.a', 'x.hang'],
    )
    for (let i = 0; i < 5; i++) await pub.send(['demo.a', `before ${i}`])
    await pub.send(['x.hang', ''])
    await container.waitForLog('handler hanging forever')
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, EXIT.SHUTDOWN_TIMEOUT, container.dump())
    const terminated = container.lines.find(
      (l) => l.msg === 'receive worker did not stop cleanly; terminated',
    )
    assert.ok(terminated, container.dump())
    assert.equal(terminated.received, 6)
    const counts = closedCounts(container)
    assert.ok(counts.lost >= 1, JSON.stringify(counts))
    assert.equal(counts.recorded + counts.overflow + counts.skipped + counts.lost, 6)
    await assertFinished(file, counts.recorded)
  })

  it('a second SIGTERM during shutdown: the hung worker is terminated and the file is still finished', async () => {
    const file = path.join(dir, 'second-signal.mcap')
    const { container, pub } = await start(
      {
        ZMQ_RECORD_FILE: file,
        ZC_SERVICE: fixtureService('hang-sync'),
        // Long enough that only the second signal ends the wait.
        ZC_SHUTDOWN_TIMEOUT_MS: '60000',
        ZMQ_MONITOR: 'false',
      },
      ['demo.a', 'x.hang'],
    )
    for (let i = 0; i < 3; i++) await pub.send(['demo.a', `before ${i}`])
    await pub.send(['x.hang', ''])
    await container.waitForLog('handler hanging forever')
    container.signal('SIGTERM')
    await container.waitForLog('shutdown requested')
    container.signal('SIGTERM')
    const exit = await container.exited
    assert.equal(exit.code, 128 + 15, container.dump())
    const counts = closedCounts(container)
    assert.ok(counts.lost >= 1, JSON.stringify(counts))
    assert.equal(counts.recorded + counts.overflow + counts.skipped + counts.lost, 4)
    await assertFinished(file, counts.recorded)
  })

  // The test is the disk: ZMQ_RECORD_FILE is a FIFO the test reads only when it chooses, so the
  // recorder's writes block and a backlog is certain, whatever the machine's speed. Without the
  // bound the stop waits for the whole backlog (here: for the test to read, so forever).
  const deadline = 200
  const onLinux = { skip: process.platform !== 'linux' && 'needs mkfifo' }

  /** A container recording into a FIFO, once its writer is blocked with a full budget waiting. */
  async function blockedRecorder(
    name: string,
    shutdownMs = deadline,
  ): Promise<{ container: ContainerProcess; reader: FileHandle }> {
    const fifo = path.join(dir, `${name}.mcap`)
    execFileSync('mkfifo', [fifo])
    // Settles once the container opens its end for writing.
    const opening = open(fifo, 'r')
    const { container, pub } = await start(
      {
        ZMQ_RECORD_FILE: fifo,
        ZMQ_RECORD_BUFFER_BYTES: String(256 * 1024),
        ZC_SERVICE: fixtureService('counting'),
        ZC_SHUTDOWN_TIMEOUT_MS: String(shutdownMs),
        // At nice 19 on a busy machine the file's end could miss RECORDER_FINISH_MS; these tests
        // are about the bound, test 'runs nicer' about the priority.
        ZC_THREAD_PRIORITY: 'false',
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
      },
      ['demo.a'],
    )
    const reader = await opening
    // Until the writer is blocked on the full pipe, seen in /proc (a thread of the container in
    // write(2) on the FIFO), and then messages overflow: the budget is full behind the blocked
    // batch, so a backlog waits. Overflow without the block can be a writer that is only slow
    // (starved on a loaded machine), which catches up and leaves no backlog.
    const port = Number((await container.waitForLog('http listening')).port)
    const overflowed = async () =>
      metricSum(await scrape(port), 'zc_record_messages_total', {
        socket: 'sub',
        outcome: 'overflow',
      })
    const pid = container.child.pid as number
    const payload = Buffer.alloc(100, 7)
    let blockedAt: number | undefined
    for (;;) {
      for (let i = 0; i < 2000; i++) await pub.send(['demo.a', payload])
      const overflow = await overflowed()
      if (blockedAt !== undefined && overflow > blockedAt) break
      if (blockedAt === undefined && writingTo(pid, fifo)) blockedAt = overflow
    }
    return { container, reader }
  }

  /** Rejects with the container's log when `promise` has not settled within `ms`. */
  const inTime = <T>(container: ContainerProcess, promise: Promise<T>, ms: number, what: string) =>
    within(promise, ms, what).catch((error: Error) => {
      throw new Error(`${error.message}\n${container.dump()}`)
    })

  /**
   * Reads the blocked disk until the recorder closes it: the batch in the writer completes, then
   * the summary and footer. Returns a copy of what was written, as a file to check.
   */
  async function drainToFile(
    container: ContainerProcess,
    reader: FileHandle,
    name: string,
  ): Promise<string> {
    const bytes = await inTime(container, drain(reader), RECORDER_FINISH_MS * 10, 'file end')
    const copy = path.join(dir, `${name}-copy.mcap`)
    writeFileSync(copy, bytes)
    return copy
  }

  // The backlog is certain: the writer is blocked on the FIFO until the test reads. The shutdown
  // deadline is a minute, so only the second signal can cut the backlog short.
  it(
    'a second SIGTERM with a backlog for the writer: the backlog is counted as lost, the file still finished',
    onLinux,
    async (t) => {
      const { container, reader } = await blockedRecorder('backlog', 60_000)
      try {
        container.signal('SIGTERM')
        await container.waitForLog('shutdown requested')
        container.signal('SIGTERM')
        // Not before the container has taken the second signal: a writer unblocked earlier would
        // write the backlog first, at disk speed.
        await container.waitForLog('second signal: stopping now')
        const copy = await drainToFile(container, reader, 'backlog')
        const exit = await container.exited
        // 143 when the second signal found the shutdown still going (the usual case), 0 if not.
        assert.ok(exit.code === 128 + 15 || exit.code === EXIT.OK, container.dump())
        const counts = closedCounts(container)
        t.diagnostic(`exit ${exit.code}, counts ${JSON.stringify(counts)}`)
        // The forced stop does not wait for the receive thread's closing counts, so the sum with
        // `received` is the other tests' to check; here, the backlog must be counted, not dropped.
        assert.ok(counts.lost > 0, `${JSON.stringify(counts)}\n${container.dump()}`)
        await assertFinished(copy, counts.recorded)
      } finally {
        await reader.close()
      }
    },
  )

  it(
    'a normal stop with a backlog: the recorder writes until ZC_SHUTDOWN_TIMEOUT_MS, counts the rest as lost, and the file still ends properly',
    onLinux,
    async () => {
      const { container, reader } = await blockedRecorder('slow-disk')
      try {
        container.signal('SIGTERM')
        // Comes while the writer is still blocked (nothing read yet): the stop does not wait for
        // the backlog. The bound on it is the deadline plus slack for a loaded machine.
        const reached = await inTime(
          container,
          container.waitForLog((l) => String(l.msg).startsWith('recording: shutdown deadline')),
          deadline + 5000,
          "the recorder's deadline line",
        )
        // What remained of the shutdown deadline after the joins, never more.
        assert.ok(Number(reached.writeForMs) <= deadline, container.dump())
        assert.ok(Number(reached.waitingBytes) > 0, container.dump())
        const requested = await container.waitForLog('shutdown requested')
        // It had that time: the cut came no earlier (log times are whole milliseconds).
        const elapsedMs = Date.parse(String(reached.time)) - Date.parse(String(requested.time))
        assert.ok(elapsedMs >= Number(reached.writeForMs) - 2, container.dump())
        const copy = await drainToFile(container, reader, 'slow-disk')
        const exit = await container.exited
        assert.equal(exit.code, EXIT.OK, container.dump())
        const counts = closedCounts(container)
        const stopped = container.lines.find((l) => l.msg === 'receive worker stopped')
        assert.ok(stopped, container.dump())
        assert.ok(counts.lost > 0 && counts.overflow > 0, JSON.stringify(counts))
        assert.equal(
          counts.recorded + counts.overflow + counts.skipped + counts.lost,
          Number(stopped.received),
        )
        await assertFinished(copy, counts.recorded)
      } finally {
        await reader.close()
      }
    },
  )

  // A thread blocked in a file write can be neither terminated nor waited out by process.exit():
  // the container ends as with a stuck receive worker, `stopped` (137) then SIGKILL.
  it(
    'a disk that never takes the file: the stop still ends, one error line, `stopped` last, exit 137',
    onLinux,
    async () => {
      const { container, reader } = await blockedRecorder('hung-disk')
      try {
        container.signal('SIGTERM')
        // The deadline, then RECORDER_FINISH_MS for the file's end, plus slack for a loaded machine.
        const exit = await inTime(
          container,
          container.exited,
          deadline + RECORDER_FINISH_MS + 5000,
          'exit',
        )
        assert.equal(exit.signal, 'SIGKILL', container.dump())
        assert.equal(container.lastLine?.exitCode, EXIT.KILLED_STUCK_WORKER, container.dump())
        const msgs = container.lines.map((l) => l.msg)
        assert.ok(
          msgs.some((m) => String(m).startsWith('recording: shutdown deadline')),
          container.dump(),
        )
        const given = container.lines.find((l) =>
          String(l.msg).startsWith('recording not finished'),
        )
        assert.ok(given, container.dump())
        assert.equal(given.finishMs, RECORDER_FINISH_MS)
        assert.ok(!msgs.includes('recording closed'), container.dump())
        assert.equal(container.lastLine?.msg, 'stopped', container.dump())
      } finally {
        await reader.close()
      }
    },
  )

  it('a file that cannot be created: one line naming ZMQ_RECORD_FILE, exit 78', async () => {
    const pub = await new TestPublisher().bind()
    sockets.push(pub)
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'demo.a',
      ZMQ_RECORD_FILE: path.join(dir, 'missing', 'folder', 'x.mcap'),
    })
    containers.push(container)
    const exit = await container.exited
    assert.equal(exit.code, 78, container.dump())
    assert.match(
      container.stderrLines.join('\n'),
      /ZMQ_RECORD_FILE: names a file that cannot be created \(ENOENT\)/,
    )
  })
})
