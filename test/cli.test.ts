// The command-line tools as a user runs them: `node dist/main.js <command>`, a child process;
// bad arguments in-process, through the CliIo seam main.ts uses (one case through the binary).
// This file: --help, bad arguments and keygen. check, tap/pub and hz have files of their own.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { Subscriber, XPublisher } from 'zeromq'
import { findCommand } from '../src/cli'
import { runCli } from './helpers/cli'
import { runInProcess } from './helpers/cli-io'

const COMMANDS = ['check', 'graph', 'top', 'tap', 'hz', 'pub', 'keygen', 'init']

describe('zmq-container <command> --help', () => {
  it('lists every command in the top-level usage', async () => {
    const { code, stdout } = await runCli(['--help'])
    assert.equal(code, 0)
    for (const c of COMMANDS) assert.match(stdout, new RegExp(`^  ${c} `, 'm'))
  })

  for (const command of COMMANDS) {
    it(`${command} --help prints its usage with examples and exits 0`, async () => {
      const { code, stdout, stderr } = await runCli([command, '--help'])
      assert.equal(code, 0, stderr)
      assert.match(stdout, new RegExp(`^Usage: zmq-container ${command}`))
      assert.match(stdout, /\nExamples:\n {2}zmq-container /)
      assert.match(stdout, /Exit codes: 0 /)
      assert.equal(stderr, '')
    })
  }

  it('says in the help of every tool that speaks ZeroMQ which CURVE variables it reads', async () => {
    for (const [command, prefix] of [
      ['tap', 'ZMQ_SUB'],
      ['hz', 'ZMQ_SUB'],
      ['record', 'ZMQ_SUB'],
      ['pub', 'ZMQ_PUB'],
      ['replay', 'ZMQ_PUB'],
      ['req', 'ZMQ_REQ'],
    ]) {
      const { stdout } = await runCli([command as string, '-h'])
      assert.match(stdout, new RegExp(`^Security: with ${prefix}_CURVE_PUBLIC_KEY`, 'm'), command)
    }
  })
})

describe('bad arguments exit 64 with one line on stderr', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'check',
      ['check', '--bogus'],
      /unknown option --bogus; options are --env-file, --json, --help/,
    ],
    ['check', ['check', 'a.env', '--env-file', 'examples/camera/.env'], /not both/],
    ['check', ['check', '--env-file'], /'--env-file <value>' argument missing/],
    ['tap', ['tap'], /missing ENDPOINT/],
    ['tap', ['tap', 'tcp://camera'], /ENDPOINT "tcp:\/\/camera" needs host:port/],
    ['tap', ['tap', 'tcp://127.0.0.1:5555', 'camera cmd'], /TOPIC "camera cmd" must be a topic/],
    ['tap', ['tap', 'tcp://127.0.0.1:5555', '--count', 'x'], /--count is "x"/],
    ['tap', ['tap', 'tcp://*:5555'], /cannot connect to host \*/],
    ['hz', ['hz'], /missing ENDPOINT/],
    ['hz', ['hz', 'tcp://127.0.0.1:5555', '--interval', '0'], /--interval is "0"/],
    ['hz', ['hz', 'udp://127.0.0.1:5555'], /scheme "udp"/],
    ['pub', ['pub', 'tcp://*:5555'], /missing TOPIC/],
    ['pub', ['pub', 'tcp://*:5555', 'camera.'], /TOPIC "camera\." must be <component>/],
    ['pub', ['pub', 'tcp://*:5555', 'a.b', 'x', '--file', 'f'], /either PAYLOAD or --file/],
    ['pub', ['pub', 'tcp://*:5555', 'a.b', '--rate', '0'], /--rate is "0"/],
    ['pub', ['pub', 'tcp://*:5555', 'a.b', '--count', '0'], /--count is "0"/],
    ['pub', ['pub', 'tcp://*:5555', 'a.b', '--settle', '1', '--wait-timeout', '1'], /either/],
    [
      'pub',
      ['pub', 'tcp://*:5555', 'a.b', '-1'],
      /unknown option -1; .*a value that starts with - goes after --/,
    ],
    ['pub', ['pub', 'tcp://*:5555', 'a.b', 'x', 'y'], /unexpected argument "y"/],
    ['keygen', ['keygen', 'extra'], /unexpected argument "extra"/],
    ['keygen', ['keygen', '--raw'], /unknown option --raw; options are --prefix, --json, --help/],
  ]
  for (const [command, args, message] of cases) {
    it(`${args.join(' ')}`, async () => {
      const tool = findCommand(command)
      assert.ok(tool, command)
      const { code, stdout, stderr } = await runInProcess(tool, args.slice(1))
      assert.equal(code, 64, stderr)
      assert.equal(stdout, '')
      const lines = stderr.split('\n').filter(Boolean)
      assert.equal(lines.length, 1, stderr)
      assert.match(lines[0] ?? '', new RegExp(`^zmq-container ${command}: `))
      assert.match(lines[0] ?? '', message)
      assert.match(lines[0] ?? '', new RegExp(`\\(see zmq-container ${command} --help\\)$`))
    })
  }

  it('through the binary: one line on stderr, exit 64', async () => {
    const { code, stdout, stderr } = await runCli(['keygen', '--raw'])
    assert.equal(code, 64)
    assert.equal(stdout, '')
    assert.equal(
      stderr,
      'zmq-container keygen: unknown option --raw; options are --prefix, --json, --help (see zmq-container keygen --help)\n',
    )
  })

  it('an unknown command still gives 64 and the usage, with the command probably meant', async () => {
    const { code, stderr } = await runCli(['tapp'])
    assert.equal(code, 64)
    assert.match(stderr, /^zmq-container: unknown command or argument "tapp"; did you mean tap\?\n/)
    assert.match(stderr, /\nCommands:\n/)
    const typo = await runCli(['chek', '--json'])
    assert.equal(typo.code, 64)
    assert.match(typo.stderr, /"chek --json"; did you mean check\?\n/)
    // Nothing near, or the command right and an argument wrong: no guess.
    for (const args of [['xyz'], ['run', '--foo']]) {
      const far = await runCli(args)
      assert.equal(far.code, 64)
      assert.match(
        far.stderr,
        new RegExp(`^zmq-container: unknown command or argument "${args.join(' ')}"\n`),
      )
    }
  })
})

describe('keygen', () => {
  const Z85 = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/

  it('prints a key pair in env format that parses, with a keep-it-secret comment', async () => {
    const { code, stdout, stderr } = await runCli(['keygen'])
    assert.equal(code, 0, stderr)
    assert.match(stdout, /^# .*Keep ZMQ_CURVE_SECRET_KEY secret/m)
    const env = parseEnv(stdout)
    assert.deepEqual(Object.keys(env).sort(), ['ZMQ_CURVE_PUBLIC_KEY', 'ZMQ_CURVE_SECRET_KEY'])
    assert.match(env.ZMQ_CURVE_PUBLIC_KEY ?? '', Z85)
    assert.match(env.ZMQ_CURVE_SECRET_KEY ?? '', Z85)
    assert.notEqual(env.ZMQ_CURVE_PUBLIC_KEY, env.ZMQ_CURVE_SECRET_KEY)
  })

  it('--json gives a fresh pair each run, and the two keys belong together (a CURVE handshake)', async () => {
    const [a, b] = await Promise.all([runCli(['keygen', '--json']), runCli(['keygen', '--json'])])
    const server = JSON.parse(a.stdout) as { publicKey: string; secretKey: string }
    const client = JSON.parse(b.stdout) as { publicKey: string; secretKey: string }
    assert.match(server.publicKey, Z85)
    assert.match(server.secretKey, Z85)
    assert.notEqual(server.secretKey, client.secretKey)

    // A CURVE server with the secret key, a client that knows only the public key: a message
    // gets through only if the public key is the secret key's.
    const pub = new XPublisher({ linger: 0, curveServer: true, curveSecretKey: server.secretKey })
    const sub = new Subscriber({
      linger: 0,
      receiveTimeout: 5000,
      curveServerKey: server.publicKey,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
    })
    try {
      await pub.bind('tcp://127.0.0.1:*')
      sub.connect(pub.lastEndpoint as string)
      sub.subscribe('key.check')
      const [subscription] = await pub.receive()
      assert.equal(String(subscription?.subarray(1)), 'key.check')
      await pub.send(['key.check', 'sealed'])
      const [, payload] = await sub.receive()
      assert.equal(String(payload), 'sealed')
    } finally {
      pub.close()
      sub.close()
    }
  })
})
