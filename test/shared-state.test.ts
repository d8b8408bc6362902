// White-box tests of the shared counters: a batching worker's view and the supervisor's view of
// one SharedArrayBuffer, as the two threads hold them (here in one thread, which the buffer does
// not know).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FLUSH_DELAY_MS, SocketCounters } from '../src/shared/shared-state'

/** The supervisor's counters for a socket with two subscriptions, and a worker's batched view. */
function pair() {
  const main = new SocketCounters(undefined, 2)
  const worker = SocketCounters.batched(main.buffer)
  return { main, worker }
}

/** The flushed total of `received` as stored (slot 0 after the 32 bytes of flags): white-box. */
const storedReceived = (c: SocketCounters) => Number(new BigUint64Array(c.buffer, 32, 1)[0])

/** One message as the receive loop counts it: received, its subscription, its handler time. */
function countMessage(worker: SocketCounters, outcome: 'handled' | 'handler_error'): void {
  worker.add('received')
  worker.addForSubscription(1)
  worker.observeDuration(0.0003)
  worker.add(outcome)
}

describe('SocketCounters batching', () => {
  it('shows readers a batching worker’s counts before and after they are flushed, once', () => {
    const { main, worker } = pair()
    for (let i = 0; i < 1000; i++) countMessage(worker, i % 10 === 0 ? 'handler_error' : 'handled')
    // Not yet in the stored totals, yet readers see them (no staleness at scrape time).
    assert.equal(storedReceived(main), 0)
    assert.deepEqual(main.snapshot(), {
      received: 1000,
      handled: 900,
      errorReplies: 0,
      dropped: { ...main.snapshot().dropped, handler_error: 100 },
      droppedTotal: 100,
      publishRejected: 0,
    })
    worker.flush()
    assert.equal(storedReceived(main), 1000)
    const snap = main.snapshot()
    assert.equal(snap.received, 1000)
    assert.equal(snap.handled, 900)
    assert.equal(snap.dropped.handler_error, 100)
    assert.equal(snap.received, snap.handled + snap.droppedTotal)
    assert.deepEqual(main.receivedBySubscription(), [0, 1000])
    const h = main.durationHistogram()
    assert.equal(h.count, 1000)
    assert.equal(h.sumSeconds, 0.3)
    // 0.3 ms falls in the 0.5 ms bucket (cumulative: 0 below it, all from it on).
    assert.deepEqual(h.buckets.slice(0, 4), [0, 0, 1000, 1000])
    // A second flush moves nothing twice.
    worker.flush()
    assert.equal(main.get('received'), 1000)
    assert.equal(storedReceived(main), 1000)
  })

  it('flushes on the liveness tick', () => {
    const { main, worker } = pair()
    countMessage(worker, 'handled')
    worker.tick()
    assert.equal(storedReceived(main), 1)
    assert.equal(main.get('received'), 1)
  })

  it('flushes by itself within FLUSH_DELAY_MS', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const { main, worker } = pair()
    countMessage(worker, 'handled')
    t.mock.timers.tick(FLUSH_DELAY_MS - 1)
    assert.equal(storedReceived(main), 0)
    t.mock.timers.tick(1)
    assert.equal(storedReceived(main), 1)
    assert.equal(main.get('received'), 1)
  })

  it('lets the supervisor absorb what a worker that died never flushed', () => {
    const { main, worker } = pair()
    countMessage(worker, 'handled')
    // The next message was in flight when the thread was cut: received, not yet handled.
    worker.add('received')
    main.absorbPending()
    assert.equal(storedReceived(main), 2)
    assert.equal(main.get('received'), 2)
    assert.equal(main.get('handled'), 1)
    // A restarted worker starts from an empty pending area; the totals carry on.
    main.resetForRestart()
    const next = SocketCounters.batched(main.buffer)
    countMessage(next, 'handled')
    next.flush()
    assert.equal(main.get('received'), 3)
    assert.equal(main.get('handled'), 2)
    assert.deepEqual(main.receivedBySubscription(), [0, 2])
  })

  it('writes straight to the totals when not batched (the supervisor’s own counts)', () => {
    const { main } = pair()
    main.add('restarts')
    assert.equal(main.get('restarts'), 1)
  })
})
