/**
 * What the receive thread's loader (bundle-loader.ts) did with the build's code cache, kept for
 * the bundle's own code to read: the thread logs it with `subscribed`, since a V8 flag in
 * NODE_OPTIONS or another Node version makes V8 refuse the cache without a word. A registered
 * symbol on the thread's global, because the loader runs outside the bundle and the bundle has
 * its own copy of this module. Imports nothing: the bundle carries it.
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
const KEY = Symbol.for('zmq-container.code-cache')
type Holder = Record<symbol, CodeCacheOutcome | undefined>

/** What the loader did in this thread; undefined when it did not load this code. */
export function codeCacheOutcome(): CodeCacheOutcome | undefined {
  return (globalThis as Holder)[KEY]
}

export function setCodeCacheOutcome(outcome: CodeCacheOutcome): void {
  ;(globalThis as Holder)[KEY] = outcome
}
