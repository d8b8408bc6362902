// CURVE from the environment, the ZAP allowlist, secrets in files, and secrets kept out of logs.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { curveKeyPair, Subscriber } from 'zeromq'
import { EXIT } from '../src/shared/exit-codes'
import { ContainerProcess, fixtureService } from './helpers/container'
import { TestPublisher } from './helpers/peers'

const server = curveKeyPair()
const allowed = curveKeyPair()
const stranger = curveKeyPair()
const dir = mkdtempSync(path.join(tmpdir(), 'zc-secrets-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const running: ContainerProcess[] = []
after(() => {
  for (const c of running) if (c.child.exitCode === null) c.child.kill('SIGKILL')
})

/** A container whose PUB is a CURVE server publishing x.tick, with the allowlist in a file. */
async function curveServer(extra: Record<string, string> = {}) {
  const secretFile = path.join(dir, `server-${running.length}.key`)
  writeFileSync(secretFile, `${server.secretKey}\n`)
  const container = new ContainerProcess({
    ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
    ZMQ_PUB_TOPICS: 'x.tick',
    ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
    ZMQ_PUB_CURVE_SECRET_KEY_FILE: secretFile,
    ZMQ_CURVE_ALLOW: allowed.publicKey,
    ZC_SERVICE: fixtureService('ticker'),
    ...extra,
  })
  running.push(container)
  const ready = await container.waitForLog('publisher ready')
  const endpoint = String((ready.endpoints as string[])[0]).replace(/^bind /, '')
  await container.waitForLog('ready')
  return { container, endpoint }
}

function curveClient(endpoint: string, keys: { publicKey: string; secretKey: string } | undefined) {
  const sub = new Subscriber({
    linger: 0,
    receiveTimeout: 5000,
    ...(keys
      ? {
          curveServerKey: server.publicKey,
          curvePublicKey: keys.publicKey,
          curveSecretKey: keys.secretKey,
        }
      : {}),
  })
  sub.connect(endpoint)
  sub.subscribe('x.tick')
  return sub
}

function assertNoSecret(container: ContainerProcess, secrets: string[]) {
  const output = container.dump()
  for (const secret of secrets)
    assert.ok(!output.includes(secret), 'a secret key appears in the output')
}

describe('CURVE', () => {
  it('an allowed client receives over CURVE; the secret came from a _FILE and never shows in the logs', async () => {
    const { container, endpoint } = await curveServer()
    const sub = curveClient(endpoint, allowed)
    const [topic] = await sub.receive()
    assert.equal(String(topic), 'x.tick')
    sub.close()
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    assert.ok(
      container.lines.some((l) => l.msg === 'CURVE authentication: allowlist of client keys'),
    )
    assertNoSecret(container, [server.secretKey])
  })

  it('a client whose key is not allowed is rejected by the ZAP handler, logged and counted', async () => {
    const { container, endpoint } = await curveServer()
    const sub = curveClient(endpoint, stranger)
    const rejected = await container.waitForLog('CURVE handshake rejected')
    assert.equal(rejected.reason, 'client key not in ZMQ_CURVE_ALLOW')
    assert.equal(rejected.clientKey, stranger.publicKey)
    assert.match(String(rejected.address), /^127\.0\.0\.1/)
    sub.close()
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    assertNoSecret(container, [server.secretKey, stranger.secretKey])
  })

  it('a plaintext client never gets a message from a CURVE server', async () => {
    const { container, endpoint } = await curveServer()
    const sub = curveClient(endpoint, undefined)
    // The server's monitor reports the failed handshake.
    const failed = await container.waitForLog(
      (l) => l.msg === 'socket event' && String(l.event).startsWith('handshake:error'),
    )
    assert.ok(failed)
    sub.close()
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    assert.ok(
      !container.lines.some((l) => l.msg === 'subscriber attached'),
      'the plaintext client never subscribed',
    )
  })

  it('a container SUB is a CURVE client of a publisher it connects to', async () => {
    const pub = new TestPublisher()
    pub.socket.curveServer = true
    pub.socket.curvePublicKey = server.publicKey
    pub.socket.curveSecretKey = server.secretKey
    await pub.bind()
    const client = curveKeyPair()
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_SUB_CURVE_PUBLIC_KEY: client.publicKey,
      ZMQ_SUB_CURVE_SECRET_KEY: client.secretKey,
      ZMQ_SUB_CURVE_SERVER_KEY: server.publicKey,
    })
    running.push(container)
    await pub.subscribed('x.msg')
    await pub.send(['x.msg', 'secret hello'])
    const line = await container.waitForLog('received')
    assert.equal(line.payload, 'secret hello')
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, EXIT.OK)
    pub.close()
    assertNoSecret(container, [client.secretKey])
  })
})

describe('CURVE configuration errors', () => {
  it('a bad or unreadable key is one line naming the variable, exit 78, and the value is not echoed', async () => {
    const badSecret = `${server.secretKey.slice(0, 39)}`
    const container = new ContainerProcess({
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
      ZMQ_PUB_CURVE_SECRET_KEY: badSecret,
      ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_SUB_CURVE_PUBLIC_KEY_FILE: path.join(dir, 'missing.key'),
    })
    const exit = await container.exited
    assert.equal(exit.code, EXIT.CONFIG_INVALID)
    const stderr = container.stderrLines.join('\n')
    assert.match(stderr, /ZMQ_PUB_CURVE_SECRET_KEY: is 39 characters/)
    assert.match(
      stderr,
      /ZMQ_SUB_CURVE_PUBLIC_KEY_FILE: names a file that cannot be read \(ENOENT\)/,
    )
    assert.ok(!stderr.includes(badSecret), 'the bad secret is not echoed')
  })

  it('a connecting socket needs the server key; a binding one must not have it', async () => {
    const container = new ContainerProcess({
      ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
      ZMQ_SUB_TOPICS: 'x.msg',
      ZMQ_SUB_CURVE_PUBLIC_KEY: allowed.publicKey,
      ZMQ_SUB_CURVE_SECRET_KEY: allowed.secretKey,
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_CURVE_PUBLIC_KEY: server.publicKey,
      ZMQ_PUB_CURVE_SECRET_KEY: server.secretKey,
      ZMQ_PUB_CURVE_SERVER_KEY: server.publicKey,
    })
    assert.equal((await container.exited).code, EXIT.CONFIG_INVALID)
    const stderr = container.stderrLines.join('\n')
    assert.match(stderr, /ZMQ_SUB_CURVE_SERVER_KEY: is required with CURVE/)
    assert.match(stderr, /ZMQ_PUB_CURVE_SERVER_KEY: applies to connecting sockets only/)
    assert.ok(!stderr.includes(allowed.secretKey) && !stderr.includes(server.secretKey))
  })
})
