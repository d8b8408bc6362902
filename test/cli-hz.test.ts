// `hz` against a test XPUB on 127.0.0.1: counts and sizes after a known burst, and the in-place
// display on a real terminal (tmux).
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { after, describe, it } from 'node:test'
import { CliProcess } from './helpers/cli'
import { MAIN, ROOT } from './helpers/container'
import { TestPublisher } from './helpers/peers'
import { count, waitForPane } from './helpers/tmux'

const processes: CliProcess[] = []
const publishers: TestPublisher[] = []
after(() => {
  for (const p of processes) p.kill()
  for (const p of publishers) p.close()
})

async function testPublisher(): Promise<TestPublisher> {
  const pub = await new TestPublisher().bind()
  publishers.push(pub)
  return pub
}

describe('zmq-container hz', () => {
  it('one line per topic per interval when piped; exact counts and sizes in the summary on SIGINT', async () => {
    const pub = await testPublisher()
    const hz = new CliProcess(['hz', pub.endpoint, '--interval', '0.05'])
    processes.push(hz)
    await pub.subscribed('')
    for (let i = 0; i < 40; i++) await pub.send(['burst.a', Buffer.alloc(100)])
    // Alternating 100 and 300 bytes: a mean of 200.
    for (let i = 0; i < 20; i++) await pub.send(['burst.b', Buffer.alloc(i % 2 === 0 ? 100 : 300)])
    await hz.waitForStdout(/ burst\.a +rate=[\d.]+\/s {2}size=\S+ {2}jitter=\S+ {2}total=40\n/)
    await hz.waitForStdout(/ burst\.b +rate=[\d.]+\/s {2}size=\S+ {2}jitter=\S+ {2}total=20\n/)
    hz.signal('SIGINT')
    const { code, stdout, stderr } = await hz.exited
    assert.equal(code, 0, stderr)
    assert.match(
      stderr,
      /^zmq-container hz: connect tcp:\/\/127\.0\.0\.1:\d+, subscribed to every topic\nzmq-container hz: connected: 1 peer on tcp:\/\/127\.0\.0\.1:\d+\n$/,
    )
    // Every interval line is one topic: time, name, rate, size, jitter, running total.
    for (const line of stdout.slice(0, stdout.indexOf('summary:')).trimEnd().split('\n'))
      assert.match(
        line,
        /^\d\d:\d\d:\d\d\.\d{3} {2}(burst\.[ab] +rate=[\d.]+\/s {2}size=\S+ {2}jitter=\S+ {2}total=\d+|no messages yet)$/,
      )

    const summary = stdout.slice(stdout.indexOf('summary:'))
    assert.match(summary, /^summary: [\d.]+ s, 2 topic\(s\)\n/)
    const a =
      /^burst\.a {2}count=(\d+) {2}rate=([\d.]+)\/s {2}size=(\d+)B {2}jitter=([\d.]+)ms$/m.exec(
        summary,
      )
    const b =
      /^burst\.b {2}count=(\d+) {2}rate=([\d.]+)\/s {2}size=(\d+)B {2}jitter=([\d.]+)ms$/m.exec(
        summary,
      )
    assert.ok(a && b, summary)
    assert.equal(Number(a[1]), 40)
    assert.equal(Number(b[1]), 20)
    assert.ok(Number(a[2]) > 0 && Number(b[2]) > 0, summary)
    assert.equal(Number(a[3]), 100)
    assert.equal(Number(b[3]), 200)
  })

  const tmux = spawnSync('tmux', ['-V'])
  const skip =
    tmux.error || tmux.status !== 0
      ? 'tmux is not installed (apt-get install tmux); the in-place display needs a terminal'
      : false

  it('redraws one table in place on a terminal (tmux), and prints the summary on Ctrl-C', {
    skip,
  }, async () => {
    const pub = await testPublisher()
    const server = `zc-hz-${process.pid}`
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-L', server, '-f', '/dev/null', ...args], { encoding: 'utf8' })
    // `cat` keeps the pane open after hz ends, so the summary and exit code can be read.
    tmux(
      'new-session',
      '-d',
      '-x',
      '160',
      '-y',
      '40',
      '-c',
      ROOT,
      `'${process.execPath}' '${MAIN}' hz ${pub.endpoint} --interval 0.1; echo EXIT=$?; cat`,
    )
    const feed = setInterval(() => void pub.send(['tty.rate', Buffer.alloc(10)]), 5)
    try {
      await pub.subscribed('')
      const pane = () => tmux('capture-pane', '-p')
      const totals: number[] = []
      // Three redraws with growing totals: each one replaced the table rather than adding rows.
      while (totals.length < 3) {
        const screen = await waitForPane(pane, (s) => {
          const m = /^tty\.rate +[\d.]+ +10 B +[\d.-]+ +(\d+)$/m.exec(s)
          return m !== null && Number(m[1]) > (totals.at(-1) ?? 0)
        })
        totals.push(Number(/^tty\.rate .* (\d+)$/m.exec(screen)?.[1]))
        assert.equal(count(screen, /^tty\.rate /gm), 1, screen)
        assert.equal(count(screen, /^topic +rate\/s +mean size +jitter ms +total$/gm), 1, screen)
        assert.equal(
          count(screen, /^zmq-container hz: connect .* every 0\.1 s; Ctrl-C for the summary$/gm),
          1,
          screen,
        )
      }
      clearInterval(feed)
      tmux('send-keys', 'C-c')
      const end = await waitForPane(pane, (s) => /^EXIT=\d+$/m.test(s))
      assert.match(end, /^EXIT=0$/m)
      assert.match(end, /^summary: [\d.]+ s, 1 topic\(s\)$/m)
      assert.match(end, /^tty\.rate {2}count=\d+ {2}rate=[\d.]+\/s {2}size=10B {2}jitter=\S+$/m)
    } finally {
      clearInterval(feed)
      tmux('kill-server')
    }
  })
})
