/**
 * `import()` of an ES module, from a module Node's own loader compiled. The receive thread's code
 * is a bundle run through vm with its code cache (worker/bundle-loader.ts), and there a cached
 * script's import() has no loader to call (Node drops a script's importModuleDynamically when it
 * comes from cached data). So the bundle leaves this module outside, as it does paths.js.
 */
export function importModule(url: string): Promise<unknown> {
  return import(url)
}
