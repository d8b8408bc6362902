import path from 'node:path'
import zlib from 'node:zlib'

/**
 * CRC-32 natively. @mcap/core computes every CRC32 it checks when reading (chunks, the data
 * section, the summary) and its McapWriter writes (the tests' and benchmarks' reference files)
 * with @foxglove/crc, a table-driven JavaScript CRC; Node's zlib.crc32 (Node 20.15+, 22.2+)
 * computes the same CRC-32 natively. The library looks its CRC functions up on the module
 * object at every call, so swapping them there keeps every value the same. Our own chunk writer
 * calls `crc32` below.
 */
type CrcModule = {
  crc32Update: (prev: number, data: Uint8Array) => number
  crc32: (data: Uint8Array) => number
}

/** The @foxglove/crc instance @mcap/core itself loads (resolved from its folder). */
export function mcapCrcModule(): CrcModule {
  const core = path.dirname(require.resolve('@mcap/core'))
  return require(require.resolve('@foxglove/crc', { paths: [core] })) as CrcModule
}

let javascript: Pick<CrcModule, 'crc32Update' | 'crc32'> | undefined

/** Points @mcap/core's CRC32 at zlib.crc32 when this Node has it; false when it has not. */
export function useNativeCrc32(): boolean {
  // Typed as always there, but older Node 20 releases lack it.
  const native: typeof zlib.crc32 | undefined = zlib.crc32
  if (typeof native !== 'function') return false
  const crc = mcapCrcModule()
  javascript ??= { crc32Update: crc.crc32Update, crc32: crc.crc32 }
  // @foxglove/crc carries the register (the CRC before its final inversion) between updates,
  // zlib the finished CRC: one inversion each way.
  crc.crc32Update = (prev, data) => ~native(data, ~prev >>> 0)
  crc.crc32 = (data) => native(data)
  return true
}

/** Back to @foxglove/crc's own JavaScript CRC32 (tests compare the two). */
export function useJavaScriptCrc32(): void {
  if (javascript) Object.assign(mcapCrcModule(), javascript)
}

/** CRC-32 natively where Node has it (shared/crc32.ts, which the bundle loader uses too). */
export { crc32 } from '../shared/crc32'
