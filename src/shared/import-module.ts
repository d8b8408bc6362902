/**
 * `import()` of an ES module, from a module Node's own loader compiled. The container's code (the
 * main thread's and each receive thread's) is a bundle run through vm with its code cache
 * (shared/bundle-loader.ts), and there a cached script's import() has no loader to call (Node
 * drops a script's importModuleDynamically when it comes from cached data). So both bundles
 * leave this module outside, as they do paths.js.
 */
export function importModule(url: string): Promise<unknown> {
  return import(url)
}
