import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { XPublisher } from 'zeromq'
import { loadConfig } from '../src/config'
import { Supervisor } from '../src/supervisor'
import { memoryLogger } from './helpers/logs'

const fixture = (name: string) => path.join(__dirname, 'fixtures', 'services', `${name}.ts`)

describe('supervisor', () => {
  it('delivers to a worker handler and stops cleanly', async () => {
    const xpub = new XPublisher()
    await xpub.bind('tcp://127.0.0.1:*')
    const endpoint = xpub.lastEndpoint as string
    const config = loadConfig({ ZMQ_SUB_ENDPOINT: endpoint, ZMQ_SUB_TOPICS: 'camera.cmd', ZC_SERVICE: fixture('echo') })
    const { log } = memoryLogger()
    const supervisor = new Supervisor(config, { log })
    const got: unknown[] = []
    assert.equal(await supervisor.start(), true)
    const [sub] = await xpub.receive()
    assert.equal(sub?.[0], 1)
    await xpub.send(['camera.cmd', 'hello'])
    await xpub.send(['camera.cmdx', 'prefix only'])
    await xpub.send(['camera.cmd', 'again'])
    while (supervisor.counters().sub?.received !== 3) await new Promise((r) => setTimeout(r, 5))
    const result = await supervisor.close('manual')
    assert.equal(result.clean, true)
    const c = supervisor.counters().sub
    assert.equal(c?.handled, 2)
    assert.equal(c?.dropped.unsubscribed, 1)
    xpub.close()
    void got
  })
})
