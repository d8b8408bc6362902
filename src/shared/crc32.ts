import zlib from 'node:zlib'

/**
 * CRC-32 of `data`, continuing from the CRC of the bytes before it (0 for none), as zlib.crc32
 * takes it: natively where Node has it (20.15+, 22.2+), else with @foxglove/crc's JavaScript
 * CRC-32 (the one @mcap/core uses), loaded only then.
 */
export function crc32(data: Uint8Array, before = 0): number {
  // Typed as always there, but older Node 20 releases lack it.
  const native: typeof zlib.crc32 | undefined = zlib.crc32
  if (typeof native === 'function') return native(data, before)
  const { crc32Update } = require('@foxglove/crc') as typeof import('@foxglove/crc')
  return ~crc32Update(~before >>> 0, data) >>> 0
}
