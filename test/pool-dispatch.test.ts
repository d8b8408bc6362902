// PoolDispatcher against its public behaviour, with real piscina threads that block on a gate
// the test opens (Atomics), so which task runs and which waits is decided, not timed.
// (The dispatcher builds its own Piscina; a seam for a stub pool would make this thread-free.)
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PoolResult } from '../src/pool/pool-task'
import { loadConfig, type PoolConfig } from '../src/shared/config'
import { PoolDispatcher, type PoolItem } from '../src/worker/pool-dispatch'
import { fixtureService } from './helpers/container'

type Event =
  | { kind: 'done'; payload: string }
  | { kind: 'failed'; payload: string; error: string }
  | { kind: 'dropped'; payload: string; reason: 'pool_full' | 'shutdown' }

/** Node 20 has Atomics.waitAsync; TypeScript's lib has it only from ES2024 (the target here is 2023). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string }
  }
).waitAsync

function gatedDispatcher(pool: PoolConfig) {
  const gate = new Int32Array(new SharedArrayBuffer(8))
  const [socket] = loadConfig({
    ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:5555',
    ZMQ_SUB_TOPICS: 'x.',
  }).sockets
  assert.ok(socket)
  const events: Event[] = []
  const text = (item: PoolItem) => item.payload.toString()
  const dispatcher = new PoolDispatcher(
    pool,
    {
      servicePath: fixtureService('pool-gate'),
      // The fixture finds its gate here: workerData shares a SharedArrayBuffer, not a copy.
      socket: { ...socket, testGate: gate } as typeof socket,
      logLevel: 'fatal',
      logFormat: 'json',
    },
    {
      done: (item: PoolItem, result: PoolResult) => {
        assert.deepEqual(result.messages, [text(item)])
        events.push({ kind: 'done', payload: text(item) })
      },
      failed: (item, error) =>
        events.push({ kind: 'failed', payload: text(item), error: (error as Error).message }),
      dropped: (item, reason) => events.push({ kind: 'dropped', payload: text(item), reason }),
    },
  )
  const submit = (...payloads: string[]) => {
    for (const p of payloads)
      dispatcher.submit({ topic: 'x.msg', payload: Buffer.from(p), receivedAt: performance.now() })
  }
  return {
    dispatcher,
    events,
    submit,
    /** Resolves once `n` tasks have entered the handler (and block there until `open`). */
    async started(n: number): Promise<void> {
      for (;;) {
        const seen = Atomics.load(gate, 1)
        if (seen >= n) return
        await waitAsync(gate, 1, seen).value
      }
    },
    open(): void {
      Atomics.store(gate, 0, 1)
      Atomics.notify(gate, 0)
    },
    of: (kind: Event['kind']) => events.filter((e) => e.kind === kind).map((e) => e.payload),
    async close(): Promise<void> {
      Atomics.store(gate, 0, 1)
      Atomics.notify(gate, 0)
      await dispatcher.close()
    },
  }
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => String(from + i))

describe('PoolDispatcher', () => {
  for (const [drop, handled, dropped] of [
    ['newest', range(0, 6), range(6, 20)],
    ['oldest', ['0', ...range(15, 20)], range(1, 15)],
  ] as const) {
    it(`a full queue drops the ${drop} message, counted exactly`, async () => {
      const pool = gatedDispatcher({ threads: 1, queue: 5, drop })
      try {
        // The first message holds the only pool thread (gate closed) while 19 more arrive.
        pool.submit('0')
        await pool.started(1)
        pool.submit(...range(1, 20))
        assert.deepEqual(pool.of('dropped'), dropped)
        assert.deepEqual(pool.of('done'), [], 'nothing finished while the gate was closed')
        pool.open()
        await pool.dispatcher.drained()
        assert.deepEqual(pool.of('done'), handled, 'one thread: in queue order')
        assert.ok(pool.events.every((e) => e.kind !== 'dropped' || e.reason === 'pool_full'))
        // received = handled + dropped
        assert.equal(pool.of('done').length + pool.of('dropped').length, 20)
      } finally {
        await pool.close()
      }
    })
  }

  it('runs at most `threads` tasks at once; a slot frees only when its task settles', async () => {
    const pool = gatedDispatcher({ threads: 2, queue: 0, drop: 'newest' })
    try {
      pool.submit('a', 'b')
      await pool.started(2)
      pool.submit('c')
      assert.deepEqual(pool.events, [{ kind: 'dropped', payload: 'c', reason: 'pool_full' }])
      pool.open()
      await pool.dispatcher.drained()
      pool.submit('d')
      await pool.dispatcher.drained()
      assert.deepEqual(pool.of('done').sort(), ['a', 'b', 'd'])
    } finally {
      await pool.close()
    }
  })

  it('a failed handler is reported as failed and frees its slot for the next message', async () => {
    const pool = gatedDispatcher({ threads: 1, queue: 1, drop: 'newest' })
    try {
      pool.open()
      pool.submit('throw', 'after')
      await pool.dispatcher.drained()
      assert.deepEqual(pool.events, [
        { kind: 'failed', payload: 'throw', error: 'handler failed on x.msg' },
        { kind: 'done', payload: 'after' },
      ])
    } finally {
      await pool.close()
    }
  })

  it('discardWaiting drops what waits (shutdown); the running task goes on and drained waits for it', async () => {
    const pool = gatedDispatcher({ threads: 1, queue: 3, drop: 'newest' })
    try {
      pool.submit('0', '1', '2', '3')
      await pool.started(1)
      pool.dispatcher.discardWaiting()
      assert.deepEqual(pool.events, [
        { kind: 'dropped', payload: '1', reason: 'shutdown' },
        { kind: 'dropped', payload: '2', reason: 'shutdown' },
        { kind: 'dropped', payload: '3', reason: 'shutdown' },
      ])
      let drained = false
      const waiting = pool.dispatcher.drained().then(() => {
        drained = true
      })
      // The task cannot settle while the gate is closed: drained must still be pending.
      await new Promise(setImmediate)
      assert.equal(drained, false)
      pool.open()
      await waiting
      assert.deepEqual(pool.of('done'), ['0'])
    } finally {
      await pool.close()
    }
  })

  it('drained resolves at once when nothing waits or runs', async () => {
    const pool = gatedDispatcher({ threads: 1, queue: 1, drop: 'newest' })
    try {
      await pool.dispatcher.drained()
      assert.deepEqual(pool.events, [])
    } finally {
      await pool.close()
    }
  })
})
