// The receive thread's recording hook on its own: no threads, no sockets, no timing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BUDGET_WORDS, type RecordBatch, TALLY, TALLY_WORDS } from '../src/shared/record-batch'
import { RecordCapture } from '../src/worker/record-capture'

function capture(limitBytes: number) {
  const budget = new SharedArrayBuffer(BUDGET_WORDS * 4)
  const batches: RecordBatch[] = []
  const hook = new RecordCapture(budget, limitBytes, (batch) => batches.push(batch))
  return { hook, batches, pending: () => Atomics.load(new Int32Array(budget), 0) }
}

function unpack(batch: RecordBatch): Array<[string, string]> {
  const data = Buffer.from(batch.data)
  const out: Array<[string, string]> = []
  let offset = 0
  for (let i = 0; i < batch.layout.length; i += 3) {
    const t = batch.layout[i] as number
    const p = batch.layout[i + 1] as number
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
    hook.add([Buffer.from('a.b'), payload])
    payload.fill(9)
    hook.stop()
    assert.deepEqual(unpack(batches[0] as RecordBatch), [['a.b', '010203']])
  })

  it('over the byte budget: left out and counted, never waited for; written bytes free the budget', () => {
    const { hook, batches, pending } = capture(100)
    for (let i = 0; i < 5; i++) hook.add([Buffer.from('a.b'), Buffer.alloc(40, i)])
    // 43 bytes each: two fit in 100.
    assert.equal(pending(), 86)
    hook.add([Buffer.from('a.b'), Buffer.from('x'), Buffer.from('y')])
    hook.stop()
    const [batch] = batches
    assert.equal(batch?.layout.length, 6)
    assert.equal(batch?.overflow, 3)
    assert.equal(batch?.skipped, 1)
  })

  it('receive times are wall-clock milliseconds, in order', () => {
    const { hook, batches } = capture(1 << 20)
    const before = performance.timeOrigin + performance.now()
    hook.add([Buffer.from('a.b'), Buffer.from('1')])
    hook.add([Buffer.from('a.b'), Buffer.from('2')])
    hook.stop()
    const layout = batches[0]?.layout as Float64Array
    assert.ok((layout[2] as number) >= before)
    assert.ok((layout[5] as number) >= (layout[2] as number))
  })

  it('a full batch buffer leaves at once; a message larger than the buffer gets its own', () => {
    const { hook, batches } = capture(1 << 30)
    const big = Buffer.alloc(600 * 1024, 1)
    hook.add([Buffer.from('a.b'), big])
    hook.add([Buffer.from('a.b'), big])
    assert.equal(batches.length, 1, 'the second did not fit: the first batch left')
    hook.add([Buffer.from('a.b'), Buffer.alloc(3 * 1024 * 1024, 2)])
    hook.stop()
    const sizes = batches.map((b) => unpack(b).map(([, hex]) => hex.length / 2))
    assert.deepEqual(sizes, [[600 * 1024], [600 * 1024], [3 * 1024 * 1024]])
  })

  it('what is captured and not yet posted is in the shared tally (for a thread that is terminated); a post clears it', () => {
    const budget = new SharedArrayBuffer(BUDGET_WORDS * 4)
    const tally = new SharedArrayBuffer(TALLY_WORDS * 4)
    const words = new Int32Array(tally)
    const batches: RecordBatch[] = []
    const hook = new RecordCapture(budget, 100, (batch) => batches.push(batch), tally)
    hook.add([Buffer.from('a.b'), Buffer.alloc(40)])
    hook.add([Buffer.from('a.b'), Buffer.alloc(40)])
    hook.add([Buffer.from('a.b'), Buffer.alloc(40)])
    hook.add([Buffer.from('a.b')])
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
