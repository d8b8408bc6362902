// CRC32 through zlib.crc32: the same values as @mcap/core's own JavaScript CRC, for the library
// (reading, checking) and for our chunk writer, which falls back to the JavaScript CRC on a Node
// without zlib.crc32 and must then write the same bytes.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import zlib from 'node:zlib'
import {
  crc32,
  mcapCrcModule,
  useJavaScriptCrc32,
  useNativeCrc32,
} from '../src/recording/native-crc32'
import { Recording } from '../src/recording/reader'
import { RecordingWriter } from '../src/recording/writer'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-native-crc-'))
after(() => {
  useNativeCrc32()
  rmSync(dir, { recursive: true, force: true })
})

type Crc = ReturnType<typeof mcapCrcModule> & {
  crc32Init: () => number
  crc32Final: (r: number) => number
}

/** crc32 in one go, and crc32Update over pieces then crc32Final, with whichever is installed. */
function both(data: Uint8Array, cuts: number[]): [number, number] {
  const crc = mcapCrcModule() as Crc
  let r = crc.crc32Init()
  let at = 0
  for (const cut of [...cuts, data.length]) {
    r = crc.crc32Update(r, data.subarray(at, cut))
    at = cut
  }
  return [crc.crc32(data), crc.crc32Final(r)]
}

describe('native CRC32 for @mcap/core', { skip: !useNativeCrc32() && 'no zlib.crc32' }, () => {
  it('gives the JavaScript CRC32 values, whole and in pieces, at any alignment', () => {
    for (const size of [0, 1, 7, 8, 9, 1000, 65539]) {
      const data = randomBytes(size + 3).subarray(3)
      const cuts = size > 10 ? [1, 5, Math.floor(size / 2)] : []
      useJavaScriptCrc32()
      const expected = both(data, cuts)
      useNativeCrc32()
      assert.deepEqual(both(data, cuts), expected, `${size} bytes`)
    }
  })

  it('crc32 without zlib.crc32 gives its values, whole and continued', () => {
    for (const size of [0, 1, 7, 1000, 65539]) {
      const data = randomBytes(size)
      const cut = Math.floor(size / 3)
      const native = [crc32(data), crc32(data.subarray(cut), crc32(data.subarray(0, cut)))]
      const fallback = withoutZlibCrc32(() => [
        crc32(data),
        crc32(data.subarray(cut), crc32(data.subarray(0, cut))),
      ])
      assert.deepEqual(fallback, native, `${size} bytes`)
      assert.equal(native[0], native[1])
    }
  })

  it('a file is byte for byte the same without zlib.crc32, and reads back with CRC checks', async () => {
    const seed = randomBytes(4).readUInt32LE()
    const js = await withoutZlibCrc32(() => writeSeeded(path.join(dir, 'js.mcap'), seed))
    const native = await writeSeeded(path.join(dir, 'native.mcap'), seed)
    assert.ok(js.equals(native), 'the two files differ')
    const recording = await Recording.open(path.join(dir, 'native.mcap'))
    try {
      let count = 0
      for await (const _ of recording.messages()) count++
      assert.equal(count, 2000)
    } finally {
      await recording.close()
    }
  })
})

/** Runs `body` as on a Node 20 before 20.15, which has no zlib.crc32 (restored when it settles). */
function withoutZlibCrc32<T>(body: () => T): T {
  const native = zlib.crc32
  const restore = () => {
    zlib.crc32 = native
  }
  ;(zlib as { crc32?: unknown }).crc32 = undefined
  let result: T
  try {
    result = body()
  } catch (error) {
    restore()
    throw error
  }
  if (result instanceof Promise) return result.finally(restore) as T
  restore()
  return result
}

/** 2000 messages on 3 topics, payloads from a seeded generator: two runs write the same. */
async function writeSeeded(file: string, seed: number): Promise<Buffer> {
  let state = seed || 1
  const next = () => {
    // xorshift32: a repeatable byte stream.
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state & 0xff
  }
  const writer = await RecordingWriter.open(file, {
    source: { socket: 'sub', endpoint: 'connect tcp://127.0.0.1:1' },
  })
  for (let i = 0; i < 2000; i++) {
    const payload = Buffer.alloc(i % 700)
    for (let j = 0; j < payload.length; j++) payload[j] = next()
    await writer.add(Buffer.from(`t.${i % 3}`), payload, BigInt(i) * 1_000_000n)
  }
  await writer.close()
  return readFileSync(file)
}
