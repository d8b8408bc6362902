// CURVE in the tools: tap, hz, pub and req against containers whose sockets have CURVE keys,
// with the keys from the same variables (and _FILE forms) the container reads.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { curveKeyPair } from 'zeromq'
import { CliProcess, runCli } from './helpers/cli'
import { ContainerProcess, fixtureService } from './helpers/container'

const server = curveKeyPair()
const client = curveKeyPair()
const dir = mkdtempSync(path.join(tmpdir(), 'zc-tool-curve-'))

const running: Array<ContainerProcess | CliProcess> = []
after(() => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

function secretFile(name: string, key: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, `${key}\n`)
  return file
}

/** A container whose PUB is a CURVE server publishing x.tick, open only to `client`. */
async function securedPublisher(): Promise<string> {
  const container = new ContainerProcess({
    ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
    ZMQ_PUB_TOPICS: 'x.tick',
    ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
    ZMQ_PUB_CURVE_SECRET_KEY: server.secretKey,
    ZMQ_CURVE_ALLOW: client.publicKey,
    ZC_SERVICE: fixtureService('ticker'),
  })
  running.push(container)
  const ready = await container.waitForLog('publisher ready')
  await container.waitForLog('ready')
  return String((ready.endpoints as string[])[0]).replace(/^bind /, '')
}

/** The client keys as the container's SUB reads them, the secret in a file. */
const subClientEnv = () => ({
  ZMQ_SUB_CURVE_PUBLIC_KEY: client.publicKey,
  ZMQ_SUB_CURVE_SECRET_KEY_FILE: secretFile('sub.key', client.secretKey),
  ZMQ_SUB_CURVE_SERVER_KEY: server.publicKey,
})

describe('CURVE in the tools', () => {
  it('tap reads a CURVE publisher with ZMQ_SUB_CURVE_* (secret from _FILE)', async () => {
    const endpoint = await securedPublisher()
    const { code, stdout, stderr } = await runCli(
      ['tap', endpoint, 'x.tick', '--count', '1'],
      subClientEnv(),
    )
    assert.equal(code, 0, stderr)
    assert.match(stderr, /subscribed to x\.tick \(CURVE client\)/)
    assert.match(stdout, /x\.tick/)
  })

  it('hz measures a CURVE publisher with ZMQ_SUB_CURVE_*', async () => {
    const endpoint = await securedPublisher()
    const hz = new CliProcess(['hz', endpoint, 'x.tick', '--interval', '0.2'], subClientEnv())
    running.push(hz)
    await hz.waitForStdout(/x\.tick +rate=[\d.]+\/s/)
    hz.signal('SIGINT')
    const { code } = await hz.exited
    assert.equal(code, 0)
  })

  it('pub binds as a CURVE server with ZMQ_PUB_CURVE_*, and a CURVE client container receives', async () => {
    const pub = new CliProcess(
      ['pub', 'tcp://127.0.0.1:*', 'x.secret', 'sealed', '--wait-timeout', '0'],
      {
        ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
        ZMQ_PUB_CURVE_SECRET_KEY_FILE: secretFile('pub.key', server.secretKey),
      },
    )
    running.push(pub)
    const [, endpoint] = (await pub.waitForStderr(
      /bind (tcp:\/\/127\.0\.0\.1:\d+) \(CURVE server\)/,
    )) as [string, string]
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: endpoint,
      ZMQ_SUB_TOPICS: 'x.secret',
      ZMQ_SUB_CURVE_PUBLIC_KEY: client.publicKey,
      ZMQ_SUB_CURVE_SECRET_KEY: client.secretKey,
      ZMQ_SUB_CURVE_SERVER_KEY: server.publicKey,
    })
    running.push(container)
    // pub sends only after the subscription, which arrives only through the CURVE handshake.
    const received = await container.waitForLog(
      (l) => l.msg === 'received' && l.topic === 'x.secret',
    )
    assert.equal(received.topic, 'x.secret')
    assert.equal((await pub.exited).code, 0)
  })

  it('req reaches a CURVE REP with ZMQ_REQ_CURVE_*', async () => {
    const container = new ContainerProcess({
      ZMQ_REP_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_REP_CURVE_PUBLIC_KEY: server.publicKey,
      ZMQ_REP_CURVE_SECRET_KEY: server.secretKey,
      ZMQ_CURVE_ALLOW: client.publicKey,
      ZC_SERVICE: fixtureService('replier'),
    })
    running.push(container)
    const answering = await container.waitForLog('answering requests')
    const endpoint = String((answering.endpoints as string[])[0]).replace(/^bind /, '')
    await container.waitForLog('ready')
    const { code, stdout, stderr } = await runCli(['req', endpoint, 'hello'], {
      ZMQ_REQ_CURVE_PUBLIC_KEY: client.publicKey,
      ZMQ_REQ_CURVE_SECRET_KEY_FILE: secretFile('req.key', client.secretKey),
      ZMQ_REQ_CURVE_SERVER_KEY: server.publicKey,
    })
    assert.equal(code, 0, stderr)
    assert.equal(stdout, 'HELLO\n')
  })

  it('a bad key is one line naming the variable and exit 78, in every tool', async () => {
    const bad = { ZMQ_SUB_CURVE_PUBLIC_KEY: 'short' }
    for (const [args, env, variable] of [
      [['tap', 'tcp://127.0.0.1:1'], bad, 'ZMQ_SUB_CURVE_PUBLIC_KEY'],
      [['hz', 'tcp://127.0.0.1:1'], bad, 'ZMQ_SUB_CURVE_PUBLIC_KEY'],
      [
        ['pub', 'tcp://127.0.0.1:*', 'a.b'],
        { ZMQ_PUB_CURVE_SECRET_KEY: 'short' },
        'ZMQ_PUB_CURVE_PUBLIC_KEY',
      ],
      [
        ['req', 'tcp://127.0.0.1:1', 'x'],
        { ZMQ_REQ_CURVE_SERVER_KEY: server.publicKey },
        'ZMQ_REQ_CURVE_PUBLIC_KEY',
      ],
    ] as const) {
      const { code, stderr } = await runCli(args, env)
      assert.equal(code, 78, `${args[0]}: ${stderr}`)
      assert.equal(stderr.split('\n').filter(Boolean).length, 1, stderr)
      assert.match(stderr, new RegExp(`^zmq-container ${args[0]}: ${variable} `))
    }
  })
})
