// White-box tests of the shared counters: a batching worker's view and the supervisor's view of
// one SharedArrayBuffer, as the two threads hold them (here in one thread, which the buffer does
// not know).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import { FLAG_BYTES, FLUSH_DELAY_MS, SocketCounters, WorkerState } from '../src/shared/shared-state'

/** The supervisor's counters for a socket with two subscriptions, and a worker's batched view. */
function pair() {
  const main = new SocketCounters(undefined, 2)
  const worker = SocketCounters.batched(main.buffer)
  return { main, worker }
}

/** The flushed total of `received` as stored (slot 0 after the flag words): white-box. */
const storedReceived = (c: SocketCounters) => Number(new BigUint64Array(c.buffer, FLAG_BYTES, 1)[0])

/** One message as the receive loop counts it: received, its subscription, its handler time. */
function countMessage(worker: SocketCounters, outcome: 'handled' | 'handler_error'): void {
  worker.add('received')
  worker.addForSubscription(1)
  worker.observeDuration(0.0003)
  worker.add(outcome)
}

describe('SocketCounters state word: when terminate() is safe', () => {
  it('a thread still booting (loading zeromq) is not safe; once its modules are in, it is', () => {
    const counters = new SocketCounters()
    // The initial value, and a restart's: the thread may be inside zeromq's addon set-up.
    assert.equal(counters.state, WorkerState.Booting)
    assert.equal(counters.claimTerminate(), false)
    counters.state = WorkerState.Loading
    assert.equal(counters.claimTerminate(), true)
    counters.resetForRestart()
    assert.equal(counters.state, WorkerState.Booting)
    assert.equal(counters.claimTerminate(), false)
  })

  it('Loading is claimed by one side only: a claimed thread opens nothing, an opening one is not cut', () => {
    const claimed = new SocketCounters()
    claimed.state = WorkerState.Loading
    assert.equal(claimed.claimTerminate(), true)
    assert.equal(claimed.enterOpening(), false)
    const opening = new SocketCounters()
    opening.state = WorkerState.Loading
    assert.equal(opening.enterOpening(), true)
    assert.equal(opening.claimTerminate(), false)
    assert.equal(opening.state, WorkerState.Opening)
  })
})

describe('SocketCounters thread priority words', () => {
  it('keeps the nice and slice a worker set, and forgets both for a restarted worker', () => {
    const counters = new SocketCounters(undefined, 1)
    assert.deepEqual([counters.nice, counters.sliceUs], [undefined, undefined])
    counters.nice = -3
    counters.sliceUs = 100
    assert.deepEqual([counters.nice, counters.sliceUs], [-3, 100])
    counters.resetForRestart()
    assert.deepEqual([counters.nice, counters.sliceUs], [undefined, undefined])
  })
})

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

/**
 * A real thread writing `main`'s counters as a receive worker does: `body` (which sees `counters`
 * and the loop index `i`) as fast as it can until stopped, then a last flush. Resolves once it
 * runs; `stop()` ends it and waits for its exit.
 */
async function concurrentWriter(main: SocketCounters, body: string) {
  const stop = new SharedArrayBuffer(4)
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads')
    require('tsx/cjs')
    const { SocketCounters } = require(workerData.module)
    const counters = SocketCounters.batched(workerData.buffer)
    const stop = new Int32Array(workerData.stop)
    parentPort.postMessage('running')
    for (let i = 0; Atomics.load(stop, 0) === 0; i++) {
      ${body}
    }
    counters.flush()
    `,
    {
      eval: true,
      workerData: {
        buffer: main.buffer,
        stop,
        module: require.resolve('../src/shared/shared-state'),
      },
    },
  )
  await new Promise((resolve) => worker.once('message', resolve))
  return {
    stop: async () => {
      Atomics.store(new Int32Array(stop), 0, 1)
      await new Promise((resolve) => worker.once('exit', resolve))
    },
  }
}

describe('SocketCounters histograms under a concurrent writer', () => {
  it('a reader never sees a bucket above the count (+Inf), while a worker observes and flushes', async () => {
    const main = new SocketCounters(undefined, 1)
    // A bucket, the sum, then the count, with a flush now and then. The reader below reads between
    // those writes: before the fix, a bucket it read could include a message the count did not.
    const writer = await concurrentWriter(
      main,
      `counters.observeDuration((i % 7) * 0.0005)
      if (i % 1000 === 0) counters.flush()`,
    )
    let bad: string | undefined
    let reads = 0
    for (; reads < 300_000 && bad === undefined; reads++) {
      const h = main.durationHistogram()
      const last = h.buckets[h.buckets.length - 1] as number
      if (last > h.count) bad = `bucket ${last} > count ${h.count} at read ${reads}`
      for (let i = 1; i < h.buckets.length; i++)
        if ((h.buckets[i] as number) < (h.buckets[i - 1] as number))
          bad = `buckets not cumulative at read ${reads}`
    }
    const seen = main.durationHistogram().count
    await writer.stop()
    assert.equal(bad, undefined)
    assert.ok(seen > 10_000, `the worker wrote while the reader read (${seen} observations)`)
  })

  it('a count a reader reads never goes down, while a worker adds and flushes', async () => {
    const main = new SocketCounters(undefined, 1)
    // A flush zeroes a pending count, then adds it to the total. A reader that gives up its
    // retries between the two (the writer descheduled mid-flush) read a count one flush low, after
    // having read it whole: 2-225 times in 5 s before the fix, with a flush every 50 messages.
    const writer = await concurrentWriter(
      main,
      `counters.add('received')
      counters.addForSubscription(0)
      counters.observeDuration(0.0003)
      if (i % 50 === 0) counters.flush()`,
    )
    const last = { received: 0, subscription: 0, count: 0 }
    const down: string[] = []
    let reads = 0
    for (; reads < 2_000_000 && down.length === 0; reads++) {
      const now = {
        received: main.get('received'),
        subscription: main.receivedBySubscription()[0] as number,
        count: main.durationHistogram().count,
      }
      for (const key of Object.keys(now) as Array<keyof typeof now>)
        if (now[key] < last[key]) down.push(`${key} ${last[key]} -> ${now[key]} at read ${reads}`)
      Object.assign(last, now)
    }
    await writer.stop()
    assert.deepEqual(down, [])
    assert.ok(last.received > 10_000, `the worker wrote while the reader read (${last.received})`)
  })
})
