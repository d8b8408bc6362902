import type { DecompressHandlers } from './mcap'

/**
 * Chunk compression through Foxglove's WebAssembly builds of zstd and lz4 (the ones their MCAP
 * tools use): no native build step, so `npm ci` is all CI needs. Node 20's zlib has neither.
 * wasm-lz4 only decompresses, so lz4 is read-only here (files from other writers).
 */
type Zstd = typeof import('@foxglove/wasm-zstd')
// wasm-lz4 is `module.exports = decompress`, which its types call a default export.
type Lz4 = typeof import('@foxglove/wasm-lz4')['default']

let zstd: Zstd | undefined
let lz4: Lz4 | undefined

/** Loads the zstd module and waits for its WebAssembly to compile. */
export async function loadZstd(): Promise<Zstd> {
  if (!zstd) {
    const module = require('@foxglove/wasm-zstd') as Zstd
    await module.isLoaded
    zstd = module
  }
  return zstd
}

/** The zstd module once {@link loadZstd} has resolved. */
export function loadedZstd(): Zstd {
  if (!zstd) throw new Error('zstd is not loaded: await loadZstd() first')
  return zstd
}

/** Decompressors for every chunk compression MCAP names, loaded once. */
export async function decompressHandlers(): Promise<DecompressHandlers> {
  const z = await loadZstd()
  if (!lz4) {
    const module = require('@foxglove/wasm-lz4') as Lz4
    await module.isLoaded
    lz4 = module
  }
  const l = lz4
  return {
    zstd: (buffer, size) => z.decompress(buffer, Number(size)),
    lz4: (buffer, size) => l(buffer, Number(size)),
  }
}
