// White-box tests of what crosses the thread boundary and of the phase machines that drive it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import { nextSupervisorPhase, type SupervisorPhase } from '../src/main/supervisor-phase'
import { type HandleEvent, type HandlePhase, nextHandlePhase } from '../src/main/worker-handle'
import { deserializeError, serializeError, ZcError } from '../src/shared/errors'
import { type FromWorker, post, send, type ToWorker } from '../src/shared/protocol'

describe('deserializeError', () => {
  it('a known code comes back as a ZcError with that code', () => {
    const posted = structuredClone(serializeError(new ZcError('ZC_ERR_NO_PUBLISHER', 'no PUB')))
    const error = deserializeError(posted)
    assert.ok(error instanceof ZcError)
    assert.equal(error.code, 'ZC_ERR_NO_PUBLISHER')
    assert.equal(error.name, 'ZcError')
    assert.equal(error.message, 'no PUB')
  })

  it('keeps the name of a subclass and any other string code (a Node system error)', () => {
    const system = Object.assign(new Error('no such file'), { code: 'ENOENT' })
    const error = deserializeError(serializeError(system)) as Error & { code?: string }
    assert.equal(error instanceof ZcError, false)
    assert.equal(error.code, 'ENOENT')
    const typed = deserializeError(serializeError(new TypeError('nope')))
    assert.equal(typed.name, 'TypeError')
    assert.equal(Object.hasOwn(typed, 'code'), false)
  })

  it('a thrown non-Error comes back as an Error named NonError', () => {
    const error = deserializeError(serializeError('a string'))
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'NonError')
    assert.equal(error.message, 'a string')
  })
})

describe('send and post', () => {
  it('carry the message as posted, in order, both directions', async () => {
    const { port1, port2 } = new MessageChannel()
    const toWorker = new Promise<ToWorker>((resolve) => port2.once('message', resolve))
    send(port1, { type: 'shutdown', reason: 'restart' })
    assert.deepEqual(await toWorker, { type: 'shutdown', reason: 'restart' })
    const payload = new Uint8Array([1, 2, 3])
    const fromWorker = new Promise<FromWorker>((resolve) => port1.once('message', resolve))
    post(port2, { type: 'publish', topic: 'a.b', payload, socket: undefined }, [payload.buffer])
    const received = await fromWorker
    assert.equal(received.type, 'publish')
    assert.deepEqual(received.type === 'publish' && [...received.payload], [1, 2, 3])
    // Transferred, not copied: the sender's view is detached.
    assert.equal(payload.byteLength, 0)
    port1.close()
  })
})

describe('WorkerHandle phases', () => {
  const table: Array<[HandlePhase, HandleEvent, HandlePhase | undefined]> = [
    ['starting', 'ready', 'running'],
    ['starting', 'stop', 'stopping'],
    ['starting', 'terminate', 'terminating'],
    ['running', 'ready', undefined],
    ['running', 'stop', 'stopping'],
    ['running', 'terminate', 'terminating'],
    // A ready that crossed a stop request does not bring the worker back.
    ['stopping', 'ready', undefined],
    // A second stop request sends nothing: requestStop is idempotent.
    ['stopping', 'stop', undefined],
    ['stopping', 'terminate', 'terminating'],
    ['terminating', 'ready', undefined],
    ['terminating', 'stop', undefined],
    ['terminating', 'terminate', undefined],
  ]
  for (const [phase, event, next] of table) {
    it(`${phase} + ${event} -> ${next ?? 'no change'}`, () => {
      assert.equal(nextHandlePhase(phase, event), next)
    })
  }
})

describe('Supervisor phases', () => {
  type Phase = SupervisorPhase
  const starting: Phase = { name: 'starting' }
  const running: Phase = { name: 'running' }

  it('start() completes only from starting', () => {
    assert.deepEqual(nextSupervisorPhase(starting, 'started'), running)
    assert.equal(nextSupervisorPhase({ name: 'closing', started: false }, 'started'), undefined)
  })

  it('a close remembers whether start() had completed (/readyz lists workers only then)', () => {
    assert.deepEqual(nextSupervisorPhase(starting, 'close'), { name: 'closing', started: false })
    assert.deepEqual(nextSupervisorPhase(running, 'close'), { name: 'closing', started: true })
    // close() is idempotent: a second one is no transition.
    assert.equal(nextSupervisorPhase({ name: 'closing', started: true }, 'close'), undefined)
  })

  it('a second signal forces from any phase but forced, keeping `started`', () => {
    assert.deepEqual(nextSupervisorPhase({ name: 'closing', started: true }, 'force'), {
      name: 'forced',
      started: true,
    })
    assert.deepEqual(nextSupervisorPhase(starting, 'force'), { name: 'forced', started: false })
    assert.equal(nextSupervisorPhase({ name: 'forced', started: false }, 'force'), undefined)
    assert.equal(nextSupervisorPhase({ name: 'forced', started: true }, 'close'), undefined)
  })
})
