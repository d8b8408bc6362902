// The receive thread's recording hook on its own: no threads, no sockets, no timing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  BUDGET_WORDS,
  batchData,
  batchLayout,
  RECORD_BATCH_BYTES,
  type RecordBatch,
  TALLY,
  TALLY_WORDS,
} from '../src/shared/record-batch'
import { RecordCapture } from '../src/worker/record-capture'

function capture(limitBytes: number) {
  const budget = new SharedArrayBuffer(BUDGET_WORDS * 4)
  const batches: RecordBatch[] = []
  const hook = new RecordCapture(budget, limitBytes, (batch) => batches.push(batch))
  return { hook, batches, pending: () => Atomics.load(new Int32Array(budget), 0) }
}

function unpack(batch: RecordBatch): Array<[string, string]> {
  const data = Buffer.from(batchData(batch))
  const layout = batchLayout(batch)
  const out: Array<[string, string]> = []
  let offset = 0
  for (let i = 0; i < layout.length; i += 3) {
    const t = layout[i] as number
    const p = layout[i + 1] as number
    out.push([
      data.subarray(offset, offset + t).toString(),
      data.subarray(offset + t, offset + t + p).toString('hex'),
    ])
    offset += t + p
  }
  return out
}

describe('RecordCapture', () => {
  it('copies the frames: a payload changed after the call is recorded as received', () => {
    const { hook, batches } = capture(1 << 20)
    const payload = Buffer.from([1, 2, 3])
    hook.add([Buffer.from('a.b'), payload], performance.now())
    payload.fill(9)
    hook.stop()
    assert.deepEqual(unpack(batches[0] as RecordBatch), [['a.b', '010203']])
  })

  it('over the byte budget: left out and counted, never waited for; written bytes free the budget', () => {
    const { hook, batches, pending } = capture(150)
    for (let i = 0; i < 5; i++)
      hook.add([Buffer.from('a.b'), Buffer.alloc(40, i)], performance.now())
    // 43 bytes each and 24 of layout: two fit in 150.
    assert.equal(pending(), 134)
    hook.add([Buffer.from('a.b'), Buffer.from('x'), Buffer.from('y')], performance.now())
    hook.stop()
    const [batch] = batches
    assert.equal(batch?.messages, 2)
    assert.equal(batch?.overflow, 3)
    assert.equal(batch?.skipped, 1)
  })

  it("receive times are the loop's own readings, as wall-clock milliseconds", () => {
    const { hook, batches } = capture(1 << 20)
    const first = performance.now()
    hook.add([Buffer.from('a.b'), Buffer.from('1')], first)
    hook.add([Buffer.from('a.b'), Buffer.from('2')], first + 2.5)
    hook.stop()
    const layout = batchLayout(batches[0] as RecordBatch)
    assert.equal(layout[2], performance.timeOrigin + first)
    assert.equal(layout[5], performance.timeOrigin + first + 2.5)
  })

  it("the budget counts each message's layout too: a backlog of 1-byte messages is bounded like a large one", () => {
    const { hook, batches, pending } = capture(1000)
    for (let i = 0; i < 100; i++) hook.add([Buffer.alloc(0), Buffer.from([i])], performance.now())
    // 1 byte and 24 of layout each: 40 fit in 1000, not 1000.
    assert.equal(pending(), 40 * 25)
    hook.stop()
    assert.equal(batches[0]?.messages, 40)
    assert.equal(batches[0]?.overflow, 60)
  })

  it('a batch buffer the recorder gives back is filled again, not a new one', () => {
    const { hook, batches } = capture(1 << 30)
    const half = Buffer.alloc(512 * 1024, 1)
    hook.add([Buffer.from('a.b'), half], performance.now())
    hook.flush()
    const first = batches[0]?.buffer as ArrayBuffer
    assert.equal(first.byteLength, RECORD_BATCH_BYTES, 'half full or more: the buffer leaves whole')
    hook.recycle(first)
    hook.add([Buffer.from('a.b'), Buffer.alloc(512 * 1024, 2)], performance.now())
    hook.flush()
    assert.equal(batches[1]?.buffer, first, 'the same buffer again')
    assert.deepEqual(
      unpack(batches[1] as RecordBatch).map(([t, hex]) => [t, hex.slice(0, 4), hex.length / 2]),
      [['a.b', '0202', 512 * 1024]],
    )
    // Anything else is left to the garbage collector.
    hook.recycle(new ArrayBuffer(16))
    hook.add([Buffer.from('a.b'), half], performance.now())
    hook.flush()
    assert.notEqual(batches[2]?.buffer.byteLength, 16)
  })

  it('a full batch buffer leaves at once; a message larger than the buffer gets its own', () => {
    const { hook, batches } = capture(1 << 30)
    const big = Buffer.alloc(600 * 1024, 1)
    hook.add([Buffer.from('a.b'), big], performance.now())
    hook.add([Buffer.from('a.b'), big], performance.now())
    assert.equal(batches.length, 1, 'the second did not fit: the first batch left')
    hook.add([Buffer.from('a.b'), Buffer.alloc(3 * 1024 * 1024, 2)], performance.now())
    hook.stop()
    const sizes = batches.map((b) => unpack(b).map(([, hex]) => hex.length / 2))
    assert.deepEqual(sizes, [[600 * 1024], [600 * 1024], [3 * 1024 * 1024]])
  })

  it('what is captured and not yet posted is in the shared tally (for a thread that is terminated); a post clears it', () => {
    const budget = new SharedArrayBuffer(BUDGET_WORDS * 4)
    const tally = new SharedArrayBuffer(TALLY_WORDS * 4)
    const words = new Int32Array(tally)
    const batches: RecordBatch[] = []
    const hook = new RecordCapture(budget, 150, (batch) => batches.push(batch), tally)
    hook.add([Buffer.from('a.b'), Buffer.alloc(40)], performance.now())
    hook.add([Buffer.from('a.b'), Buffer.alloc(40)], performance.now())
    hook.add([Buffer.from('a.b'), Buffer.alloc(40)], performance.now())
    hook.add([Buffer.from('a.b')], performance.now())
    assert.deepEqual(
      [words[TALLY.messages], words[TALLY.bytes], words[TALLY.overflow], words[TALLY.skipped]],
      [2, 86, 1, 1],
    )
    assert.equal(batches.length, 0)
    hook.stop()
    assert.equal(batches.length, 1)
    assert.deepEqual([...words], [0, 0, 0, 0])
  })
})
