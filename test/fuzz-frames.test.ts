// Property tests of the receive path's frame checks: classifyFrames alone over every kind of
// hostile input, then the same kind of input through a real XPUB -> SUB pair into a running
// Supervisor, where every received message must end handled or counted under the predicted reason.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Supervisor } from '../src/main/supervisor'
import { loadConfig } from '../src/shared/config'
import { DROP_REASONS, type DropReason } from '../src/shared/shared-state'
import { MAX_TOPIC_LENGTH, TopicMatcher, topicProblem } from '../src/shared/topics'
import { classifyFrames, exactSubscriptionIndex } from '../src/worker/frames'
import { fixtureService } from './helpers/container'
import { memoryLogger } from './helpers/logs'
import { TestPublisher } from './helpers/peers'
import { assertProperty, NUM_RUNS } from './helpers/property'

/** A ZMQ_MAX_MESSAGE_BYTES analogue, small so that ten thousand cases stay fast. */
const LIMIT = 2048

const buf = (bytes: Uint8Array | string) =>
  typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)

// --- Arbitraries -------------------------------------------------------------------------------

const ALNUM = 'abcxyzABXYZ0189'
/** A topic segment: mostly from a tiny alphabet, so generated topics and subscriptions collide. */
const segment = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'x', 'cmd', 'frame'),
  fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 1, maxLength: 10 }),
)
const validTopic = fc
  .array(segment, { minLength: 2, maxLength: 5 })
  .map((s) => s.join('.'))
  .filter((t) => t.length <= MAX_TOPIC_LENGTH)

/** Valid in shape, one character either side of the 64-character limit, or well over it. */
const boundaryTopic = fc
  .tuple(
    segment,
    fc.constantFrom(MAX_TOPIC_LENGTH - 1, MAX_TOPIC_LENGTH, MAX_TOPIC_LENGTH + 1, 200),
  )
  .map(([head, length]) => {
    const start = `${head}.`
    return start + 'z'.repeat(Math.max(1, length - start.length))
  })

/** Bytes that break a topic wherever they land: NUL, space, stray dots, non-ASCII, UTF-8 leads. */
const badByte = fc.constantFrom(0x00, 0x20, 0x2e, 0x2d, 0x5f, 0x2f, 0x7f, 0x80, 0xc3, 0xe2, 0xff)
const mutatedTopic = fc.tuple(validTopic, badByte, fc.nat()).map(([t, b, at]) => {
  const bytes = Buffer.from(t, 'latin1')
  const i = at % (bytes.length + 1)
  return Buffer.concat([bytes.subarray(0, i), Buffer.from([b]), bytes.subarray(i)])
})

/** Invalid UTF-8: lone continuation, truncated lead, overlong, surrogate, out of range. */
const invalidUtf8 = fc.constantFrom(
  [0x80],
  [0xc3],
  [0xc0, 0xaf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xfe, 0xff],
)
const subscribedPrefix = fc.constantFrom('', 'a.', 'b.x', 'b.', 'c.', 'a')
const withInvalidUtf8 = fc
  .tuple(subscribedPrefix, invalidUtf8, fc.constantFrom('', 'x', '.y'))
  .map(([p, bad, tail]) => Buffer.concat([buf(p), Buffer.from(bad), buf(tail)]))
const unicodeTopic = fc
  .tuple(subscribedPrefix, fc.string({ unit: 'grapheme', maxLength: 20 }))
  .map(([p, s]) => Buffer.from(p + s, 'utf8'))

const topicFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: validTopic.map(buf), weight: 6 },
  { arbitrary: fc.tuple(subscribedPrefix, validTopic).map(([p, t]) => buf(p + t)), weight: 3 },
  { arbitrary: boundaryTopic.map(buf), weight: 2 },
  { arbitrary: mutatedTopic, weight: 3 },
  { arbitrary: withInvalidUtf8, weight: 2 },
  { arbitrary: unicodeTopic, weight: 2 },
  {
    arbitrary: fc
      .constantFrom('', '.', 'a.', '.a', 'a..b', 'a.b.', 'ab', 'a.b\0', '\0a.b')
      .map(buf),
    weight: 2,
  },
  { arbitrary: fc.uint8Array({ maxLength: 80 }).map(buf), weight: 2 },
)

/** Payloads from empty to twice the size limit: random bytes, or large filled buffers. */
const payloadFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map(buf), weight: 3 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 2 * LIMIT }), fc.integer({ min: 0, max: 255 }))
      .map(([n, b]) => Buffer.alloc(n, b)),
    weight: 1,
  },
)

/** 0-5 frames; two-frame messages (the only valid shape) are the most frequent. */
const framesArb: fc.Arbitrary<Buffer[]> = fc.oneof(
  { arbitrary: fc.tuple(topicFrame, payloadFrame).map((f) => [...f]), weight: 3 },
  {
    arbitrary: fc.array(fc.oneof(topicFrame, payloadFrame), { minLength: 0, maxLength: 5 }),
    weight: 2,
  },
)

/** 1-4 subscriptions: exact topics, or prefixes ending in `.`. */
const subscriptionsArb = fc.uniqueArray(
  fc.oneof(
    validTopic,
    fc.array(segment, { minLength: 1, maxLength: 2 }).map((s) => `${s.join('.')}.`),
  ),
  { minLength: 1, maxLength: 4 },
)

// --- The oracle --------------------------------------------------------------------------------

type Outcome = 'ok' | Exclude<DropReason, 'handler_error'>

/** What the rules say, written independently of src/ (a regex over the latin1 view of the bytes). */
function predict(frames: readonly Buffer[], subscriptions: readonly string[]): Outcome {
  if (frames.length !== 2) return 'bad_frames'
  const topic = (frames[0] as Buffer).toString('latin1')
  if (topic.length > MAX_TOPIC_LENGTH || !/^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+$/.test(topic))
    return 'invalid_topic'
  const match = subscriptions.some((s) => (s.endsWith('.') ? topic.startsWith(s) : topic === s))
  return match ? 'ok' : 'unsubscribed'
}

const DROPS = new Set<string>(DROP_REASONS.filter((r) => r !== 'handler_error'))

describe('classifyFrames (property)', () => {
  it(`every input ends ok or dropped with a reason, as the rules predict (${NUM_RUNS} runs)`, () => {
    assertProperty(
      fc.property(framesArb, subscriptionsArb, (frames, subscriptions) => {
        const verdict = classifyFrames(frames, new TopicMatcher(subscriptions))
        const expected = predict(frames, subscriptions)
        if (verdict.ok) {
          assert.equal(frames.length, 2)
          assert.equal(verdict.topic, (frames[0] as Buffer).toString('latin1'))
          assert.equal(topicProblem(verdict.topic), undefined, 'a rule-valid topic')
          assert.ok(
            subscriptions.some((s) =>
              s.endsWith('.') ? verdict.topic.startsWith(s) : verdict.topic === s,
            ),
            'an exact or explicit-prefix subscription matches',
          )
          assert.equal(verdict.payload, frames[1], 'the payload frame itself, not a copy')
          assert.equal(expected, 'ok')
          return
        }
        assert.ok(DROPS.has(verdict.reason), `unknown reason ${verdict.reason}`)
        assert.equal(verdict.reason, expected)
        const details = verdict.details()
        assert.equal(typeof details, 'object')
        // The log line must be serialisable and bounded, whatever the input was.
        const text = JSON.stringify(details)
        assert.ok(text.length < 512, `details of ${text.length} characters`)
        if (verdict.reason === 'bad_frames') assert.equal(details.frames, frames.length)
        if (verdict.reason === 'invalid_topic')
          assert.equal(details.bytes, (frames[0] as Buffer).length)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it(`the receive loop's fast path (exactSubscriptionIndex) takes only what classifyFrames accepts, with the same subscription (${NUM_RUNS} runs)`, () => {
    let taken = 0
    // Half the two-frame messages carry one of the subscriptions as their topic: random frames
    // alone seldom hit an exact subscription.
    const inputArb = fc
      .tuple(subscriptionsArb, framesArb, fc.nat(), fc.boolean())
      .map(([subscriptions, frames, pick, reuse]): [string[], Buffer[]] =>
        reuse && frames.length === 2
          ? [
              subscriptions,
              [buf(subscriptions[pick % subscriptions.length] as string), frames[1] as Buffer],
            ]
          : [subscriptions, frames],
      )
    assertProperty(
      fc.property(inputArb, ([subscriptions, frames]) => {
        const matcher = new TopicMatcher(subscriptions)
        const index = exactSubscriptionIndex(frames, matcher)
        const verdict = classifyFrames(frames, matcher)
        if (index === -1) {
          // Nothing the fast path could have taken: an accepted message there matched a prefix.
          if (verdict.ok) assert.equal(matcher.exactTopicAt(verdict.subscription), undefined)
          return
        }
        taken++
        assert.ok(verdict.ok, 'the fast path took a message classifyFrames drops')
        assert.equal(verdict.subscription, index)
        assert.equal(matcher.exactTopicAt(index), verdict.topic)
      }),
      { numRuns: NUM_RUNS },
    )
    // The generators must reach the fast path, or the property above holds vacuously.
    assert.ok(taken > 0, 'no input took the fast path')
  })

  it('the boundary cases the generators aim at are all covered', () => {
    // Guards the generators themselves: a refactor that stops producing a class of input would
    // otherwise leave the property above passing vacuously.
    const seen = new Set<string>()
    assertProperty(
      fc.property(framesArb, subscriptionsArb, (frames, subscriptions) => {
        seen.add(predict(frames, subscriptions))
        seen.add(`frames:${frames.length}`)
        const t = frames[0]
        if (frames.length === 2 && t) {
          if (t.length === 0) seen.add('empty topic')
          if (t.length > MAX_TOPIC_LENGTH) seen.add('long topic')
          if (t.includes(0)) seen.add('NUL')
          if (!Buffer.from(t.toString('utf8'), 'utf8').equals(t)) seen.add('invalid UTF-8')
          if ((frames[1] as Buffer).length > LIMIT) seen.add('payload over the limit')
        }
      }),
      { numRuns: 2_000, seed: 42 },
    )
    for (const expected of [
      'ok',
      'bad_frames',
      'invalid_topic',
      'unsubscribed',
      'empty topic',
      'long topic',
      'NUL',
      'invalid UTF-8',
      'payload over the limit',
      ...[0, 1, 2, 3, 4, 5].map((n) => `frames:${n}`),
    ])
      assert.ok(seen.has(expected), `no generated case of: ${expected}`)
  })
})

// --- Live: through real sockets into a running Supervisor ---------------------------------------

let unique = 0
const inproc = (name: string) => `inproc://${name}-${process.pid}-${unique++}`

interface Handled {
  topic: string
  bytes: number
  payloadHex: string
}

/** What libzmq's own SUB filter lets through: the first frame starts with a subscription. */
const passesLibzmqFilter = (frames: readonly Buffer[], subscriptions: readonly string[]) =>
  frames.length > 0 &&
  subscriptions.some((s) => (frames[0] as Buffer).subarray(0, s.length).equals(buf(s)))

describe('fuzzed frames through a running container (inproc XPUB -> SUB worker)', () => {
  it('counters match the prediction per reason, and valid messages still flow after', async (t) => {
    const SUBSCRIPTIONS = ['a.', 'b.x']
    // A message on the wire has at least one frame. Most start with a subscribed prefix, so
    // that most of them get past libzmq's own filter and into the checks under test.
    const firstFrame = fc.oneof(
      {
        arbitrary: fc
          .tuple(fc.constantFrom(...SUBSCRIPTIONS), topicFrame)
          .map(([p, t]) => Buffer.concat([buf(p), t])),
        weight: 4,
      },
      { arbitrary: topicFrame, weight: 1 },
    )
    const wireFrames = fc.oneof(
      { arbitrary: fc.tuple(firstFrame, payloadFrame).map((f) => [...f]), weight: 3 },
      {
        arbitrary: fc
          .tuple(firstFrame, fc.array(fc.oneof(topicFrame, payloadFrame), { maxLength: 4 }))
          .map(([first, rest]) => [first, ...rest]),
        weight: 1,
      },
    )
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
    const [messages = []] = fc.sample(fc.array(wireFrames, { minLength: 300, maxLength: 300 }), {
      numRuns: 1,
      seed,
    })
    const context = `seed ${seed} (rerun with FUZZ_SEED=${seed})`

    const matcher = new TopicMatcher(SUBSCRIPTIONS)
    const delivered = messages.filter((m) => passesLibzmqFilter(m, SUBSCRIPTIONS))
    const expectedDrops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
      DropReason,
      number
    >
    const expectedHandled: Handled[] = []
    for (const frames of delivered) {
      const verdict = classifyFrames(frames, matcher)
      if (verdict.ok)
        expectedHandled.push({
          topic: verdict.topic,
          bytes: verdict.payload.length,
          payloadHex: verdict.payload.toString('hex'),
        })
      else expectedDrops[verdict.reason]++
    }
    // The sample is only useful if it exercises every path.
    for (const reason of ['bad_frames', 'invalid_topic', 'unsubscribed'] as const)
      assert.ok(expectedDrops[reason] > 0, `${context}: no ${reason} case in the sample`)
    assert.ok(expectedHandled.length > 0, `${context}: no valid case in the sample`)
    assert.ok(delivered.length < messages.length, `${context}: libzmq filters none`)

    t.diagnostic(
      `${context}: ${messages.length} sent, ${delivered.length} past libzmq's filter, ${expectedHandled.length} valid, drops ${JSON.stringify(expectedDrops)}`,
    )

    const pub = await new TestPublisher().bind(inproc('fuzz'))
    const memory = memoryLogger()
    const config = loadConfig({
      ZC_SERVICE: fixtureService('fuzz-sink'),
      ZMQ_SETTLE_MS: '0',
      LOG_LEVEL: 'fatal',
      ZMQ_SUB_ENDPOINT: pub.endpoint,
      ZMQ_SUB_TOPICS: SUBSCRIPTIONS.join(','),
      ZMQ_MAX_MESSAGE_BYTES: String(4 * LIMIT),
    })
    const supervisor = new Supervisor(config, { log: memory.log })
    const handled: Handled[] = []
    supervisor.on('workerMessage', (data) => handled.push(data as Handled))
    const until = async (payloadHex: string) => {
      for (;;) {
        if (handled.some((h) => h.payloadHex === payloadHex)) return
        await once(supervisor, 'workerMessage')
      }
    }
    try {
      assert.equal(await supervisor.start(), true)
      await pub.subscribed(...SUBSCRIPTIONS)
      // Fewer messages than either high-water mark: nothing is lost before the SUB sees it.
      for (const frames of messages) await pub.send(frames)
      const sentinel = randomBytes(16)
      await pub.send(['a.sentinel', sentinel])
      await until(sentinel.toString('hex'))

      // After all that, valid messages still flow, in order.
      const after = Array.from({ length: 10 }, (_, i) => Buffer.from(`after-${i}`))
      for (const payload of after) await pub.send(['b.x', payload])
      await until((after.at(-1) as Buffer).toString('hex'))
      await supervisor.close('manual')

      const extra = [
        { topic: 'a.sentinel', bytes: 16, payloadHex: sentinel.toString('hex') },
        ...after.map((p) => ({ topic: 'b.x', bytes: p.length, payloadHex: p.toString('hex') })),
      ]
      assert.deepEqual(handled, [...expectedHandled, ...extra], `${context}: handled, in order`)
      const counts = supervisor.counters().sub
      assert.ok(counts, 'counters of the sub socket')
      assert.equal(counts.received, delivered.length + extra.length, `${context}: received`)
      assert.equal(counts.handled, expectedHandled.length + extra.length, `${context}: handled`)
      assert.deepEqual(counts.dropped, expectedDrops, `${context}: drops per reason`)
      assert.equal(counts.received, counts.handled + counts.droppedTotal, context)
    } finally {
      await supervisor.close('manual')
      pub.close()
    }
  })
})
