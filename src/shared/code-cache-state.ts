/**
 * A thread's code-cache state, kept for the bundle's own code: what the bundle's loader
 * (bundle-loader.ts) did with the build's code cache, which the main thread logs with
 * `starting` and a receive thread with `subscribed` (a V8 flag in NODE_OPTIONS or another Node
 * version makes V8 refuse the cache without a word); and, in the build's training run, how to
 * write this thread's cache. Registered symbols on the thread's global, because the loader runs
 * outside the bundle and the bundle has its own copy of this module. Imports nothing: the
 * bundles carry it.
 */
export type CodeCacheOutcome =
  /** V8 took the cache: the bundle's code was not compiled again. */
  | 'used'
  /** No cache file. */
  | 'none'
  /** The cache was made for other source (the bundle was edited after the build). */
  | 'stale'
  /** V8 refused it: another Node version, other V8 flags (a NODE_OPTIONS flag, say). */
  | 'rejected'
  /**
   * Node runs with --enable-source-maps: the bundle is loaded by require(), which registers its
   * source map, so stack traces name src/*.ts (a script run through vm has no map). No cache.
   */
  | 'source-maps'
  /**
   * The build's training run (TRAINING_VARIABLE set): compiled from source, to write the cache
   * into the folder the variable names.
   */
  | 'training'

/**
 * Set by the build's training run only (scripts/train-code-caches.js), to a folder: each thread
 * that runs a bundle compiles it from source and writes its code cache there when its part of
 * the run is done. The build then moves the caches beside the bundles: a run never writes a
 * cache where a bundle loads one from.
 */
export const TRAINING_VARIABLE = 'ZC_CODE_CACHE_TRAINING'

const OUTCOME = Symbol.for('zmq-container.code-cache')
const TRAINED_WRITER = Symbol.for('zmq-container.code-cache-writer')
type Holder = Record<symbol, unknown>

/** What the loader did in this thread; undefined when it did not load this code. */
export function codeCacheOutcome(): CodeCacheOutcome | undefined {
  return (globalThis as Holder)[OUTCOME] as CodeCacheOutcome | undefined
}

export function setCodeCacheOutcome(outcome: CodeCacheOutcome): void {
  ;(globalThis as Holder)[OUTCOME] = outcome
}

/** The loader, in a training run: how to write this thread's cache when its run is over. */
export function setTrainedCodeCacheWriter(write: () => void): void {
  ;(globalThis as Holder)[TRAINED_WRITER] = write
}

/**
 * In the build's training run, writes this thread's code cache, once: it then holds the code of
 * every function the run has called so far. Elsewhere does nothing. A receive thread calls it
 * once it is ready; the main thread as it exits after a clean stop (main.ts).
 */
export function writeTrainedCodeCache(): void {
  const write = (globalThis as Holder)[TRAINED_WRITER] as (() => void) | undefined
  ;(globalThis as Holder)[TRAINED_WRITER] = undefined
  write?.()
}
