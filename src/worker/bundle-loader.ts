import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire, wrap } from 'node:module'
import path from 'node:path'
import { Script } from 'node:vm'
import { crc32 } from '../recording/native-crc32'
import { type CodeCacheOutcome, setCodeCacheOutcome } from './code-cache-outcome'

export type { CodeCacheOutcome } from './code-cache-outcome'

/**
 * Runs the receive thread's bundle (dist/workers/receive.bundle.js) with V8's code cache for it,
 * made at build time (scripts/write-entry.js). Every receive thread compiles its own copy of its
 * code; with the cache it skips most of that, about 8 ms a thread on the 2-core machine
 * (README "Performance"). Node 22's compile cache (NODE_COMPILE_CACHE) does the same for modules
 * its loader compiles, but Node 20 has none.
 *
 * The cache is a file beside the bundle: a header (the bundle's length and CRC-32), then V8's
 * data. V8 itself refuses data made by another V8 version or with other V8 flags, but of the
 * source it checks only the length, so the header makes an edited bundle ('stale') compile from
 * source too. Without a cache, or with one refused, the bundle runs all the same, compiled.
 */

/** Where the cache of `bundle` lives. */
export const cacheFileOf = (bundle: string) => `${bundle}.cache`

const HEADER_BYTES = 8

/** Length and CRC-32 of the source. */
function header(source: Buffer): Buffer {
  const out = Buffer.alloc(HEADER_BYTES)
  out.writeUInt32LE(source.length, 0)
  out.writeUInt32LE(crc32(source), 4)
  return out
}

function compile(bundle: string, source: Buffer, cachedData?: Buffer): Script {
  return new Script(wrap(source.toString('utf8')), {
    filename: bundle,
    // No importModuleDynamically: Node drops it for a script made from cached data, so the
    // bundle's one import() lives outside it (shared/import-module.ts).
    cachedData,
  })
}

/** Runs `bundle` as a CommonJS module would run, with `module` as its module object. */
function run(script: Script, bundle: string, module: { exports: unknown }): void {
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void
  wrapper.call(
    module.exports,
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    path.dirname(bundle),
  )
}

/** Runs `bundle`, from its code cache when there is a good one; says which. */
export function runBundle(
  bundle: string,
  module: { exports: unknown } = { exports: {} },
): CodeCacheOutcome {
  // The flag as given (a thread inherits the process's), not process.sourceMapsEnabled, which a
  // loader such as tsx turns on for its own use.
  if (
    process.execArgv.includes('--enable-source-maps') ||
    /(^|\s)--enable-source-maps(\s|$)/.test(process.env.NODE_OPTIONS ?? '')
  ) {
    setCodeCacheOutcome('source-maps')
    module.exports = createRequire(bundle)(bundle)
    return 'source-maps'
  }
  let file: Buffer | undefined
  try {
    file = readFileSync(cacheFileOf(bundle))
  } catch {
    // No cache (a build without one, or removed): compiled, as any module.
  }
  const source = readFileSync(bundle)
  let outcome: CodeCacheOutcome = 'none'
  let cachedData: Buffer | undefined
  if (file) {
    if (file.subarray(0, HEADER_BYTES).equals(header(source)))
      cachedData = file.subarray(HEADER_BYTES)
    else outcome = 'stale'
  }
  const script = compile(bundle, source, cachedData)
  if (cachedData) outcome = script.cachedDataRejected ? 'rejected' : 'used'
  setCodeCacheOutcome(outcome)
  run(script, bundle, module)
  return outcome
}

/**
 * Runs `bundle` once and writes its code cache. Made after the run, the cache holds the functions
 * the run compiled too (its module set-up), not only the top level. The run must stop short of
 * real work: the build runs the receive bundle in a thread started early, which loads its
 * modules and waits for an init that never comes.
 */
export function writeCodeCache(bundle: string): void {
  const source = readFileSync(bundle)
  const script = compile(bundle, source)
  run(script, bundle, { exports: {} })
  writeFileSync(cacheFileOf(bundle), Buffer.concat([header(source), script.createCachedData()]))
}
