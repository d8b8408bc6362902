// `tap` and `pub` against real sockets on 127.0.0.1: the test side is an XPUB (it sees the
// tool's subscription) or a SUB, and every wait is on a subscription frame or an output line.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { Subscriber, XPublisher } from 'zeromq'
import { CliProcess } from './helpers/cli'
import { ROOT } from './helpers/container'
import { TestPublisher } from './helpers/peers'

const processes: CliProcess[] = []
const sockets: Array<{ close(): void }> = []
after(() => {
  for (const p of processes) p.kill()
  for (const s of sockets) s.close()
})

function cli(args: string[]): CliProcess {
  const p = new CliProcess(args)
  processes.push(p)
  return p
}

async function testPublisher(): Promise<TestPublisher> {
  const pub = await new TestPublisher().bind()
  sockets.push(pub)
  return pub
}

const TIME = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}'

describe('zmq-container tap', () => {
  it('prints time, topic, size and a preview: text, pretty JSON, hex; stops after --count', async () => {
    const pub = await testPublisher()
    const tap = cli(['tap', pub.endpoint, 'demo.', '--count', '4'])
    await pub.subscribed('demo.')
    await pub.send(['demo.text', 'hello\tworld'])
    await pub.send(['demo.json', '{"cmd":"set_fps","fps":25}'])
    await pub.send(['demo.bin', Buffer.from([0, 1, 2, 0xff])])
    await pub.send(['demo.empty', Buffer.alloc(0)])
    const { code, stdout, stderr } = await tap.exited
    assert.equal(code, 0, stderr)
    assert.match(
      stderr,
      /^zmq-container tap: connect tcp:\/\/127\.0\.0\.1:\d+, subscribed to demo\.\n/,
    )
    const lines = stdout.split('\n')
    assert.match(lines[0] ?? '', new RegExp(`^${TIME}  demo\\.text  11 B  text  hello\\\\tworld$`))
    assert.match(lines[1] ?? '', new RegExp(`^${TIME}  demo\\.json  26 B  json$`))
    assert.deepEqual(lines.slice(2, 6), ['  {', '    "cmd": "set_fps",', '    "fps": 25', '  }'])
    assert.match(lines[6] ?? '', new RegExp(`^${TIME}  demo\\.bin  4 B  hex  0x000102ff$`))
    assert.match(lines[7] ?? '', new RegExp(`^${TIME}  demo\\.empty  0 B  empty$`))
    assert.equal(lines.length, 9, stdout) // and the final newline
  })

  it('marks prefix-only matches, which the container drops; --exact leaves them out', async () => {
    // One publisher per tap: an XPUB passes on only the first of two equal subscriptions.
    const run = async (extra: string[]) => {
      const pub = await testPublisher()
      const tap = cli(['tap', pub.endpoint, 'nav.pose', ...extra])
      await pub.subscribed('nav.pose')
      await pub.send(['nav.pose2', 'prefix only'])
      await pub.send(['nav.pose', 'exact'])
      return tap.exited
    }
    const [loose, exact] = await Promise.all([
      run(['--count', '2']),
      run(['--count', '1', '--exact']),
    ])
    assert.equal(loose.code, 0, loose.stderr)
    assert.match(
      loose.stdout,
      new RegExp(
        `^${TIME}  nav\\.pose2  11 B  text  prefix only  \\[prefix-only match; the container drops it \\(unsubscribed\\)\\]\\n${TIME}  nav\\.pose  5 B  text  exact\\n$`,
      ),
    )
    assert.equal(exact.code, 0, exact.stderr)
    assert.match(exact.stdout, new RegExp(`^${TIME}  nav\\.pose  5 B  text  exact\\n$`))
    assert.match(exact.stderr, /left out 1 prefix-only match\(es\) \(--exact\)/)
  })

  it('--raw writes the payload bytes only', async () => {
    const pub = await testPublisher()
    const tap = cli(['tap', pub.endpoint, 'cam.frame', '--count', '2', '--raw'])
    await pub.subscribed('cam.frame')
    await pub.send(['cam.frame', Buffer.from([0, 10, 13, 255])])
    await pub.send(['cam.frame', 'text'])
    const { code } = await tap.exited
    assert.equal(code, 0)
    assert.deepEqual(
      tap.stdoutBytes,
      Buffer.concat([Buffer.from([0, 10, 13, 255]), Buffer.from('text')]),
    )
  })

  it('marks what the container would drop for its frames or topic', async () => {
    const pub = await testPublisher()
    const tap = cli(['tap', pub.endpoint, '--count', '2'])
    await pub.subscribed('')
    await pub.send(['bad topic!', 'x'])
    await pub.send(['a.b', 'one', 'two'])
    const { stdout } = await tap.exited
    const [first, second] = stdout.split('\n')
    assert.match(
      first ?? '',
      / {2}"bad topic!" {2}1 B {2}text {2}x {2}\[invalid topic; the container drops it \(invalid_topic\)\]$/,
    )
    assert.match(
      second ?? '',
      / {2}a\.b {2}6 B {2}text {2}onetwo {2}\[3 frames; the container drops it \(bad_frames\)\]$/,
    )
  })

  it('binds with @ (a publisher that connects) and prints the bound address', async () => {
    const tap = cli(['tap', '@tcp://127.0.0.1:*', 'fan.in', '--count', '1'])
    const [, endpoint] = await tap.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)/)
    const pub = new XPublisher({ linger: 0 })
    sockets.push(pub)
    pub.connect(endpoint as string)
    const [subscription] = await pub.receive()
    assert.equal(String(subscription?.subarray(1)), 'fan.in')
    await pub.send(['fan.in', 'hi'])
    const { code, stdout } = await tap.exited
    assert.equal(code, 0)
    assert.match(stdout, / {2}fan\.in {2}2 B {2}text {2}hi\n$/)
  })

  it('exits 70 when the bind fails', async () => {
    const pub = await testPublisher()
    const { code, stderr } = await cli(['tap', `@${pub.endpoint}`]).exited
    assert.equal(code, 70)
    assert.match(
      stderr,
      /^zmq-container tap: cannot bind tcp:\/\/127\.0\.0\.1:\d+: Address already in use\n$/,
    )
  })

  it('ends on SIGINT with exit 0', async () => {
    const pub = await testPublisher()
    const tap = cli(['tap', pub.endpoint])
    await pub.subscribed('')
    tap.signal('SIGINT')
    const { code, signal } = await tap.exited
    assert.deepEqual({ code, signal }, { code: 0, signal: null })
  })
})

describe('zmq-container pub', () => {
  it('waits for the subscriber, so tap gets the very first message (end to end)', async () => {
    const pub = cli(['pub', 'tcp://127.0.0.1:*', 'camera.cmd', '{"cmd":"set_fps","fps":25}'])
    const [, endpoint] = await pub.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)/)
    await pub.waitForStderr(/waiting up to 5000 ms for a subscriber to camera\.cmd/)
    const tap = cli(['tap', endpoint as string, 'camera.cmd', '--count', '1'])
    const [p, t] = await Promise.all([pub.exited, tap.exited])
    assert.equal(p.code, 0, p.stderr)
    assert.match(
      p.stderr,
      /subscriber joined \(subscription camera\.cmd\) after \d+ ms\n.*sent 1 message\(s\) on camera\.cmd, 26 B each\n$/,
    )
    assert.equal(t.code, 0, t.stderr)
    assert.match(
      t.stdout,
      new RegExp(
        `^${TIME}  camera\\.cmd  26 B  json\\n  \\{\\n    "cmd": "set_fps",\\n    "fps": 25\\n  \\}\\n$`,
      ),
    )
  })

  it('--rate with --count delivers exactly N messages', async () => {
    const pub = cli([
      'pub',
      'tcp://127.0.0.1:*',
      'load.tick',
      'x',
      '--rate',
      '500',
      '--count',
      '25',
    ])
    const [, endpoint] = await pub.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)/)
    const sub = new Subscriber({ linger: 0, receiveTimeout: 5000 })
    sockets.push(sub)
    sub.connect(endpoint as string)
    sub.subscribe('load.')
    let received = 0
    while (received < 25) {
      const [topic] = await sub.receive()
      assert.equal(String(topic), 'load.tick')
      received++
    }
    const { code, stderr } = await pub.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /sent 25 message\(s\) on load\.tick/)
    // pub has exited and its socket is gone: whatever it sent has arrived. Nothing more may.
    sub.receiveTimeout = 200
    await assert.rejects(sub.receive(), { code: 'EAGAIN' })
  })

  it('connects with > to a SUB that binds (fan-in)', async () => {
    const sub = new Subscriber({ linger: 0, receiveTimeout: 5000 })
    sockets.push(sub)
    sub.subscribe('fan.in')
    await sub.bind('tcp://127.0.0.1:*')
    const pub = cli(['pub', `>${sub.lastEndpoint}`, 'fan.in', 'hello'])
    const [topic, payload] = await sub.receive()
    assert.equal(String(topic), 'fan.in')
    assert.equal(String(payload), 'hello')
    const { code, stderr } = await pub.exited
    assert.equal(code, 0, stderr)
    assert.match(stderr, /^zmq-container pub: connect tcp:\/\//)
  })

  it('sends the bytes of --file', async () => {
    const sub = new Subscriber({ linger: 0, receiveTimeout: 5000 })
    sockets.push(sub)
    sub.subscribe('')
    await sub.bind('tcp://127.0.0.1:*')
    const pub = cli(['pub', `>${sub.lastEndpoint}`, 'file.bytes', '--file', 'package.json'])
    const [, payload] = await sub.receive()
    assert.deepEqual(payload, readFileSync(path.join(ROOT, 'package.json')))
    assert.equal((await pub.exited).code, 0)
  })

  it('exits 69 and sends nothing when no subscriber joins within --wait-timeout', async () => {
    const started = performance.now()
    const { code, stderr } = await cli([
      'pub',
      'tcp://127.0.0.1:*',
      'nobody.home',
      'x',
      '--wait-timeout',
      '100',
    ]).exited
    assert.equal(code, 69)
    assert.ok(performance.now() - started >= 100)
    assert.match(
      stderr,
      /no subscriber to nobody\.home within 100 ms; nothing sent\. Check that the subscriber connects to this address/,
    )
    assert.doesNotMatch(stderr, /sent \d/)
  })

  it('a subscription to another topic does not count', async () => {
    const pub = cli(['pub', 'tcp://127.0.0.1:*', 'a.b', 'x', '--wait-timeout', '300'])
    const [, endpoint] = await pub.waitForStderr(/bind (tcp:\/\/127\.0\.0\.1:\d+)/)
    const sub = new Subscriber({ linger: 0 })
    sockets.push(sub)
    sub.connect(endpoint as string)
    sub.subscribe('a.bc')
    const { code } = await pub.exited
    assert.equal(code, 69)
  })

  it('SIGINT while waiting exits 130 with nothing sent', async () => {
    const pub = cli(['pub', 'tcp://127.0.0.1:*', 'a.b', 'x', '--wait-timeout', '0'])
    await pub.waitForStderr(/waiting without limit/)
    pub.signal('SIGINT')
    const { code, stderr } = await pub.exited
    assert.equal(code, 130)
    assert.match(stderr, /interrupted before a subscriber joined; nothing sent\n$/)
  })

  it('--file that cannot be read gives 66; a port in use gives 70', async () => {
    const missing = await cli(['pub', 'tcp://127.0.0.1:*', 'a.b', '--file', '/nonexistent/x'])
      .exited
    assert.equal(missing.code, 66)
    assert.match(missing.stderr, /cannot read \/nonexistent\/x: ENOENT/)
    const taken = await testPublisher()
    const busy = await cli(['pub', taken.endpoint, 'a.b', 'x']).exited
    assert.equal(busy.code, 70)
    assert.match(busy.stderr, /cannot bind .*Address already in use/)
  })
})
