/**
 * Issue 14's hot-path figures: the per-message bookkeeping of a receive worker, old way against
 * new way, in one process with the rounds interleaved (A, B, A, B...), so machine load shifts
 * both sides alike and the ratio holds on a busy machine where absolute figures do not.
 *
 *   npm run bench:hot-path -- [--rounds 15]
 *
 * - counting: what the receive loop counts per handled message (received, subscription, handler
 *   time histogram, handled) through SocketCounters unbatched (a BigInt Atomics.add each, as the
 *   worker counted before issue 14 and the supervisor still does) against
 *   SocketCounters.batched (the worker's now). Load-independent instruction counts against
 *   main's code are in the README's Performance section;
 * - topic: a topic frame to (subscription, topic string): decode it and look it up (the old
 *   path) against matching its bytes (TopicMatcher.indexOfBytes + exactTopicAt);
 * - clock: one performance.now(), for scale (a message costs two: receive and handler end, plus
 *   the heap check's).
 */
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { SocketCounters } from '../src/shared/shared-state'
import { TopicMatcher } from '../src/shared/topics'
import { wholeNumber } from './lib/builds'
import { median } from './lib/stats'
import { toolArgs } from './lib/tool-args'

const { values: args } = toolArgs({ options: { rounds: { type: 'string', default: '15' } } })
const ROUNDS = wholeNumber('rounds', args.rounds, 1)
const OPS = 1_000_000

/** ns per op of `body` run `OPS` times. */
function time(body: (i: number) => void): number {
  const start = performance.now()
  for (let i = 0; i < OPS; i++) body(i)
  return ((performance.now() - start) * 1e6) / OPS
}

function countMessage(counters: SocketCounters, i: number): void {
  counters.add('received')
  counters.addForSubscription(i & 1)
  counters.observeDuration(0.00003)
  counters.add('handled')
}

const direct = new SocketCounters(undefined, 2)
const batchedMain = new SocketCounters(undefined, 2)
const batched = SocketCounters.batched(batchedMain.buffer)

const SUBSCRIPTIONS = ['camera.cmd', 'camera.frame', 'lidar.scan', 'dashboard.']
const matcher = new TopicMatcher(SUBSCRIPTIONS)
const frames = ['camera.frame', 'lidar.scan', 'dashboard.ack'].map((t) => Buffer.from(t))
let sink = 0

const pairs: Array<[string, [(i: number) => void, (i: number) => void]]> = [
  [
    'counting (4 counts + histogram per message)',
    [(i) => countMessage(direct, i), (i) => countMessage(batched, i)],
  ],
  [
    'topic frame -> subscription + topic string',
    [
      (i) => {
        const frame = frames[i % 3] as Buffer
        const topic = frame.toString('latin1')
        sink += matcher.indexOf(topic) + topic.length
      },
      (i) => {
        const frame = frames[i % 3] as Buffer
        const index = matcher.indexOfBytes(frame)
        const topic = matcher.exactTopicAt(index) ?? frame.toString('latin1')
        sink += index + topic.length
      },
    ],
  ],
]

const results = pairs.map(() => ({ a: [] as number[], b: [] as number[] }))
let clock: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  pairs.forEach(([, [a, b]], k) => {
    const r = results[k] as { a: number[]; b: number[] }
    // Alternate which side goes first, so neither always runs on a warmer cache.
    if (round % 2 === 0) {
      r.a.push(time(a))
      r.b.push(time(b))
    } else {
      r.b.push(time(b))
      r.a.push(time(a))
    }
  })
  clock = [...clock, time(() => (sink += performance.now()))]
}
batched.flush()

console.log(
  `hot path, ${ROUNDS} interleaved rounds of ${OPS} ops, medians (load ${loadavg()[0]?.toFixed(1)}, ${cpus().length} x ${cpus()[0]?.model})`,
)
console.log('| measure | old ns/op | new ns/op | new/old |')
console.log('| --- | --- | --- | --- |')
pairs.forEach(([label], k) => {
  const r = results[k] as { a: number[]; b: number[] }
  const a = median(r.a)
  const b = median(r.b)
  console.log(`| ${label} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}x |`)
})
console.log(`| performance.now() | ${median(clock).toFixed(1)} | | |`)
// Checks the batched side counted everything (and keeps `sink` alive).
if (batchedMain.get('received') !== direct.get('received') || sink === 0)
  throw new Error('batched counts differ from direct ones')
