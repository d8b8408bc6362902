// crc32Combine must give what zlib.crc32 gives over the joined bytes, for any split: the chunk
// writer's data-section CRC rests on it.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import zlib from 'node:zlib'
import { crc32Combine } from '../src/recording/crc32-combine'

describe('crc32Combine', () => {
  it('equals the CRC of the joined bytes, for empty, short and megabyte runs', () => {
    const lengths = [0, 1, 2, 3, 7, 8, 9, 63, 64, 1000, 65_537, 1024 * 1024 + 5]
    for (const lengthA of [0, 1, 49, 4096]) {
      for (const lengthB of lengths) {
        const a = randomBytes(lengthA)
        const b = randomBytes(lengthB)
        const joined = zlib.crc32(Buffer.concat([a, b]))
        const combined = crc32Combine(zlib.crc32(a), zlib.crc32(b), lengthB)
        assert.equal(combined, joined, `${lengthA} + ${lengthB} bytes`)
      }
    }
  })

  it('holds for lengths beyond 32 bits: combining is associative, at lengths no test can allocate', () => {
    // crc(A|B|C) two ways: (A|B)|C and A|(B|C). A length handled as a 32-bit integer anywhere
    // breaks the equality; real runs of 4 GiB and more are too large to build here.
    const [a, b, c] = [randomBytes(4), randomBytes(4), randomBytes(4)].map((x) => zlib.crc32(x))
    for (const [lengthB, lengthC] of [
      [2 ** 32 - 5, 2 ** 31 + 77],
      [2 ** 33 + 12_345, 2 ** 40 + 7],
      [3, 2 ** 52 + 3],
    ] as const) {
      const left = crc32Combine(
        crc32Combine(a as number, b as number, lengthB),
        c as number,
        lengthC,
      )
      const right = crc32Combine(
        a as number,
        crc32Combine(b as number, c as number, lengthC),
        lengthB + lengthC,
      )
      assert.equal(left, right, `${lengthB} + ${lengthC} bytes`)
    }
  })

  it('chains: a running CRC combined run by run equals one pass', () => {
    const runs = Array.from({ length: 50 }, (_, i) => randomBytes((i * 7919) % 3000))
    let running = 0
    for (const run of runs) running = crc32Combine(running, zlib.crc32(run), run.length)
    assert.equal(running, zlib.crc32(Buffer.concat(runs)))
  })
})
