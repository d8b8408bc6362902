// Issue 16 on the receive path, in process: the envelope's layout, what a SUB learns from it
// (loss, duplicates, restarts, age), and the deadline watch. Real sockets, real worker threads.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { XPublisher } from 'zeromq'
import {
  decodeEnvelope,
  ENVELOPE_BYTES,
  EnvelopeStamper,
  encodeEnvelope,
  publisherId,
} from '../src/shared/envelope'
import { errorCode } from '../src/shared/errors'
import { SequenceTracker } from '../src/shared/sequence-tracker'
import { startContainer } from '../src/testing'
import { DeadlineWatch } from '../src/worker/deadline-watch'
import { fixtureService } from './helpers/container'

interface Seen {
  topic: string
  payload: string
  seq: number | undefined
  sentAt: number | undefined
  publisher: string | undefined
  ageMs: number | undefined
}

/** The value of one sample of the Prometheus text, by name and labels (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}

const envelopeOf = (seq: bigint, epoch = 7) =>
  ({ source: 42, epoch, seq, sentAtNs: 1n, monotonicNs: 2n }) as const

describe('envelope layout', () => {
  it('round-trips every field through the fixed 40-byte little-endian frame', () => {
    const envelope = {
      source: 0xdeadbeef,
      epoch: 0x01020304,
      seq: 2n ** 63n + 5n,
      sentAtNs: 1_764_000_000_123_456_789n,
      monotonicNs: 987_654_321n,
    }
    const frame = encodeEnvelope(envelope)
    assert.equal(frame.length, ENVELOPE_BYTES)
    assert.equal(frame[0], 1, 'version first')
    assert.equal(frame.readUInt32LE(4), 0xdeadbeef, 'source at 4, little-endian')
    assert.equal(frame.readBigUInt64LE(16), envelope.seq, 'sequence at 16')
    assert.deepEqual(decodeEnvelope(frame), envelope)
    assert.equal(publisherId(envelope), 'deadbeef-01020304')
  })

  it('refuses another version or length, with the reason', () => {
    const frame = encodeEnvelope(envelopeOf(1n))
    frame[0] = 2
    assert.match((decodeEnvelope(frame) as { invalid: string }).invalid, /version 2/)
    assert.match(
      (decodeEnvelope(Buffer.alloc(39)) as { invalid: string }).invalid,
      /39 bytes, not 40/,
    )
  })

  it('stamps a sequence per topic from 1, with the same source for the same socket name', () => {
    const a = new EnvelopeStamper('cam')
    const b = new EnvelopeStamper('cam')
    const seqOf = (frame: Buffer) => (decodeEnvelope(frame) as { seq: bigint }).seq
    assert.deepEqual(
      [seqOf(a.next('x.a')), seqOf(a.next('x.a')), seqOf(a.next('x.b'))],
      [1n, 2n, 1n],
    )
    assert.equal(a.source, b.source, 'stable across restarts')
    assert.notEqual(a.epoch, b.epoch, 'a new epoch per opening')
  })
})

describe('sequence tracker', () => {
  it('tells next, gaps, duplicates and restarts apart, per publisher and topic', () => {
    const t = new SequenceTracker()
    assert.deepEqual(t.observe('x.a', envelopeOf(5n)), { kind: 'first' })
    assert.deepEqual(t.observe('x.a', envelopeOf(6n)), { kind: 'next' })
    assert.deepEqual(t.observe('x.a', envelopeOf(10n)), { kind: 'gap', lost: 3 })
    assert.deepEqual(t.observe('x.a', envelopeOf(10n)), { kind: 'duplicate' })
    assert.deepEqual(t.observe('x.a', envelopeOf(8n)), { kind: 'duplicate' })
    assert.deepEqual(t.observe('x.b', envelopeOf(1n)), { kind: 'first' }, 'another topic')
    assert.deepEqual(t.observe('x.a', envelopeOf(1n, 8)), { kind: 'restart' })
    assert.deepEqual(t.observe('x.a', envelopeOf(2n, 8)), { kind: 'next' })
  })
})

describe('deadline watch', () => {
  it('reports a silence once per episode, and the recovery once', () => {
    const events: string[] = []
    const watch = new DeadlineWatch(2, 100, {
      missed: (i, silentMs) => events.push(`missed ${i} ${silentMs}`),
      recovered: (i, silentMs) => events.push(`recovered ${i} ${silentMs}`),
    })
    watch.check(1000)
    assert.deepEqual(events, [], 'nothing before a first message')
    watch.seen(0, 1000)
    watch.check(1100)
    watch.check(1101)
    watch.check(1500)
    watch.seen(0, 1600)
    watch.seen(0, 1610)
    assert.deepEqual(events, ['missed 0 101', 'recovered 0 600'])
  })
})

describe('an enveloped SUB', () => {
  it('gives handlers seq, sentAt and publisher, and measures age from a send time set back', async () => {
    const container = await startContainer({
      service: fixtureService('envelope-echo'),
      env: { ZMQ_SUB_TOPICS: 'x.data', ZMQ_SUB_ENVELOPE: 'true', LOG_LEVEL: 'fatal' },
    })
    try {
      // A publisher whose messages are 300 ms old when sent: the wire cannot make them younger.
      const stamper = new EnvelopeStamper('age-test', { clockOffsetNs: -300_000_000n })
      for (const payload of ['1', '2', '3'])
        await container.sendFrames(['x.data', payload, stamper.next('x.data')])
      await container.nextMessage((d) => (d as Seen).payload === '3')
      const seen = container.messages.map((m) => m.data as Seen)
      assert.deepEqual(
        seen.map((s) => s.seq),
        [1, 2, 3],
      )
      for (const s of seen) {
        assert.equal(s.publisher, publisherId(stamper))
        assert.ok((s.ageMs as number) >= 300, `age ${s.ageMs} ms`)
      }
      const metrics = await container.metrics()
      const labels = { socket: 'sub' }
      assert.equal(sample(metrics, 'zc_message_age_seconds_count', labels), 3)
      assert.equal(
        sample(metrics, 'zc_message_age_seconds_bucket', { ...labels, le: '0.25' }),
        0,
        'no message younger than the delay',
      )
      assert.ok(sample(metrics, 'zc_message_age_seconds_sum', labels) >= 0.9)
      // The control class's 10 ms budget is judged on age: every one overran.
      assert.equal(sample(metrics, 'zc_latency_budget_overruns_total', labels), 3)
    } finally {
      await container.close()
    }
  })

  it('gives pool-mode handlers the same fields', async () => {
    const container = await startContainer({
      service: fixtureService('envelope-echo'),
      env: {
        ZMQ_SUB_TOPICS: 'x.data',
        ZMQ_SUB_ENVELOPE: 'true',
        ZMQ_SUB_POOL_THREADS: '1',
        LOG_LEVEL: 'fatal',
      },
    })
    try {
      const stamper = new EnvelopeStamper('pool-test')
      await container.sendFrames(['x.data', 'one', stamper.next('x.data')])
      const seen = (await container.nextMessage()) as Seen
      assert.equal(seen.seq, 1)
      assert.equal(seen.publisher, publisherId(stamper))
      assert.equal(typeof seen.sentAt, 'number')
    } finally {
      await container.close()
    }
  })

  it('drops duplicates, sees a restart without loss, and passes 2-frame messages', async () => {
    const container = await startContainer({
      service: fixtureService('envelope-echo'),
      env: { ZMQ_SUB_TOPICS: 'x.data', ZMQ_SUB_ENVELOPE: 'true', LOG_LEVEL: 'fatal' },
    })
    try {
      const first = new EnvelopeStamper('restart-test')
      await container.sendFrames(['x.data', 'a1', first.next('x.data')])
      const again = first.next('x.data')
      await container.sendFrames(['x.data', 'a2', again])
      await container.sendFrames(['x.data', 'a2', again])
      // The same publisher restarted: a new epoch, its sequence back at 1.
      const restarted = new EnvelopeStamper('restart-test')
      await container.sendFrames(['x.data', 'b1', restarted.next('x.data')])
      await container.sendFrames(['x.data', 'plain'])
      await container.sendFrames(['x.data', 'b2', restarted.next('x.data')])
      const counts = await container.waitForMessages(6)
      assert.deepEqual(
        container.messages.map((m) => (m.data as Seen).payload),
        ['a1', 'a2', 'b1', 'plain', 'b2'],
      )
      assert.equal(counts.received, 6)
      assert.equal(counts.handled, 5)
      assert.equal(counts.dropped.duplicate, 1)
      assert.equal(counts.droppedTotal, 1)
      const metrics = await container.metrics()
      assert.equal(sample(metrics, 'zc_messages_lost_total', { topic: 'x.data' }), 0)
      assert.equal(sample(metrics, 'zc_publisher_restarts_total', { socket: 'sub' }), 1)
      assert.equal(sample(metrics, 'zc_messages_unenveloped_total', { socket: 'sub' }), 1)
    } finally {
      await container.close()
    }
  })

  it('counts as lost exactly what a publisher at a tiny high-water mark dropped', async () => {
    // The test owns both ends: an XPUB with ZMQ_XPUB_NODROP rejects a send at a full high-water
    // mark (EAGAIN) instead of dropping it silently, so the source counts its own drops.
    const address = `inproc://envelope-loss-${process.pid}`
    const pub = new XPublisher({ linger: 0, sendHighWaterMark: 1, noDrop: true, sendTimeout: 0 })
    await pub.bind(address)
    const container = await startContainer({
      // 30 ms of CPU per x.slow message: the SUB falls behind at once.
      service: fixtureService('slow-handler'),
      env: {
        ZMQ_SUB_ENDPOINT: address,
        ZMQ_SUB_TOPICS: 'x.slow',
        ZMQ_SUB_ENVELOPE: 'true',
        ZMQ_RCVHWM: '1',
        LOG_LEVEL: 'fatal',
      },
    })
    try {
      for (;;) {
        const [frame] = await pub.receive()
        if (frame?.[0] === 1 && frame.subarray(1).toString() === 'x.slow') break
      }
      const stamper = new EnvelopeStamper('loss-test')
      let accepted = 0
      let droppedAtSource = 0
      for (let i = 0; i < 200; i++) {
        try {
          await pub.send(['x.slow', 'p', stamper.next('x.slow')])
          accepted++
        } catch (error) {
          if (errorCode(error) !== 'EAGAIN') throw error
          droppedAtSource++
        }
      }
      assert.ok(droppedAtSource > 0, 'the flood overran the high-water mark')
      await container.waitForMessages(accepted, { timeoutMs: 60_000 })
      // One more, sent until accepted (the reader frees the pipe in its own time): it closes a
      // gap at the end of the flood, which no receiver could see otherwise.
      const last = ['x.slow', 'last', stamper.next('x.slow')]
      for (let attempt = 0; ; attempt++) {
        try {
          await pub.send(last)
          break
        } catch (error) {
          if (errorCode(error) !== 'EAGAIN' || attempt > 500) throw error
          await delay(10)
        }
      }
      const counts = await container.waitForMessages(accepted + 1, { timeoutMs: 60_000 })
      assert.equal(counts.handled, accepted + 1)
      const lost = sample(await container.metrics(), 'zc_messages_lost_total', {
        socket: 'sub',
        topic: 'x.slow',
      })
      assert.equal(lost, droppedAtSource)
    } finally {
      await container.close()
      pub.close()
    }
  })
})
