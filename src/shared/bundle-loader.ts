import { isAscii } from 'node:buffer'
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, wrap } from 'node:module'
import path from 'node:path'
import { Script } from 'node:vm'
import {
  type CodeCacheOutcome,
  setCodeCacheOutcome,
  setTrainedCodeCacheWriter,
  TRAINING_VARIABLE,
} from './code-cache-state'
import { crc32 } from './crc32'

export {
  type CodeCacheOutcome,
  TRAINING_VARIABLE,
  writeTrainedCodeCache,
} from './code-cache-state'

/**
 * Runs one of the build's bundles (dist/main.bundle.js, the container's main thread, and
 * dist/workers/receive.bundle.js, each receive thread) with V8's code cache for it. Every
 * thread compiles its own copy of its code, function by function as they are first called;
 * with the cache it skips most of that (README "Start-up"). Node 22's compile cache
 * (NODE_COMPILE_CACHE) does the same for modules its loader compiles, but Node 20 has none, and
 * it keeps the code of a module's top level, not of the functions a whole run calls.
 *
 * The cache is a file beside the bundle: a header (the bundle's length and CRC-32), then V8's
 * data. V8 itself refuses data made by another V8 version or with other V8 flags, but of the
 * source it checks only the length, so the header makes an edited bundle ('stale') compile from
 * source too. Without a cache, or with one refused, the bundle runs all the same, compiled.
 *
 * The build makes the caches from a training run (scripts/train-code-caches.js): the container
 * started with TRAINING_VARIABLE set to a folder, fed messages, scraped and stopped. The main
 * thread writes its cache there as it exits, so it holds the code of start-up, the health
 * server and shutdown alike; a receive thread writes its cache once it is ready, so it holds
 * its start-up's code (receive-worker.ts says why not more).
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
  return new Script(wrap(decode(source)), {
    filename: bundle,
    // No importModuleDynamically: Node drops it for a script made from cached data, so a
    // bundle's import() lives outside it (shared/import-module.ts).
    cachedData,
  })
}

/**
 * The bundle's text. The build writes ASCII (esbuild's `charset: 'ascii'`; a comment it keeps is
 * checked by test/bundle-loader.test.ts), and ASCII decodes as latin1 at half UTF-8's cost:
 * 0.26 against 0.62 ms for the receive bundle, in every thread that starts. Anything else is
 * decoded as UTF-8, as before.
 */
function decode(source: Buffer): string {
  return isAscii(source) ? source.toString('latin1') : source.toString('utf8')
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

/**
 * Writes the cache of `script`, the compiled `source` of `bundle`, into `folder`, by way of a
 * temporary file: a reader never sees half of one. A failure is one line on stderr, not an
 * error: the run that writes it is a build's, which then finds no cache and says so, and a
 * bundle without a cache still runs.
 */
function writeCache(bundle: string, source: Buffer, script: Script, folder: string): void {
  const file = path.join(folder, path.basename(cacheFileOf(bundle)))
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`
  try {
    writeFileSync(temporary, Buffer.concat([header(source), script.createCachedData()]))
    renameSync(temporary, file)
  } catch (error) {
    process.stderr.write(`code cache of ${bundle} not written: ${String(error)}\n`)
    try {
      rmSync(temporary, { force: true })
    } catch {
      // The folder itself is the problem (not one, say): there is no temporary file to remove.
    }
  }
}

export interface RunBundleOptions {
  /**
   * Compile from source, and write the cache into this folder when writeTrainedCodeCache is
   * called: the build's training run. Defaults to TRAINING_VARIABLE's value.
   */
  readonly trainInto?: string
  /**
   * A bundle a thread loads later, beside its own (the logger bundle: worker/thread-logs.ts):
   * its outcome is not recorded as the thread's (the `codeCache` of its log lines), and it
   * trains only into an explicit `trainInto`, never from TRAINING_VARIABLE (the thread's own
   * bundle is what the container's training run trains).
   */
  readonly secondary?: boolean
}

/** Runs `bundle`, from its code cache when there is a good one; says which. */
export function runBundle(
  bundle: string,
  module: { exports: unknown } = { exports: {} },
  options: RunBundleOptions = {},
): CodeCacheOutcome {
  // The flag as given (a thread inherits the process's), not process.sourceMapsEnabled, which a
  // loader such as tsx turns on for its own use.
  if (
    process.execArgv.includes('--enable-source-maps') ||
    /(^|\s)--enable-source-maps(\s|$)/.test(process.env.NODE_OPTIONS ?? '')
  ) {
    if (!options.secondary) setCodeCacheOutcome('source-maps')
    module.exports = createRequire(bundle)(bundle)
    return 'source-maps'
  }
  const source = readFileSync(bundle)
  const trainInto =
    options.trainInto ?? (options.secondary ? undefined : process.env[TRAINING_VARIABLE])
  if (trainInto) {
    const script = compile(bundle, source)
    if (!options.secondary) setCodeCacheOutcome('training')
    setTrainedCodeCacheWriter(() => writeCache(bundle, source, script, trainInto))
    run(script, bundle, module)
    return 'training'
  }
  let file: Buffer | undefined
  try {
    file = readFileSync(cacheFileOf(bundle))
  } catch {
    // No cache (a build without one, or removed): compiled, as any module.
  }
  let outcome: CodeCacheOutcome = 'none'
  let cachedData: Buffer | undefined
  if (file) {
    if (file.subarray(0, HEADER_BYTES).equals(header(source)))
      cachedData = file.subarray(HEADER_BYTES)
    else outcome = 'stale'
  }
  const script = compile(bundle, source, cachedData)
  if (cachedData) outcome = script.cachedDataRejected ? 'rejected' : 'used'
  if (!options.secondary) setCodeCacheOutcome(outcome)
  run(script, bundle, module)
  return outcome
}
