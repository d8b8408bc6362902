import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Where the code runs from: the repository root under tsx (`.ts` files), or `dist/` when built
 * (`.js` files). tsc keeps the tree's shape, so thread entries (`workers/`) and the built-in
 * examples sit at the same place relative to this file in both cases.
 */
const CODE_ROOT = path.resolve(__dirname, '..', '..')
const EXTENSION = path.extname(__filename)

/** A thread entry of `workers/`: the receive worker or the piscina pool task. */
export function threadEntry(name: 'receive' | 'pool-task' | 'recorder'): string {
  return path.join(CODE_ROOT, 'workers', `${name}${EXTENSION}`)
}

/**
 * The logger module as a bundle of its own, with its code cache (scripts/write-entry.js), where
 * the build made one; undefined under tsx, or in a build without it. A receive thread loads it
 * when a handler first reads `ctx.log` (worker/thread-logs.ts).
 */
export function loggerBundle(): string | undefined {
  const file = path.join(CODE_ROOT, 'workers', 'logger.bundle.js')
  return EXTENSION === '.js' && existsSync(file) ? file : undefined
}

/** The module of a built-in example service (`camera`, `dashboard`). */
export function builtInServicePath(name: string): string {
  return path.join(CODE_ROOT, 'examples', name, `service${EXTENSION}`)
}

let version: string | undefined
/** The version in package.json, found by walking up from this file (src/ and dist/src/ alike). */
export function packageVersion(): string {
  if (version !== undefined) return version
  version = 'unknown'
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (existsSync(file)) {
      version = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
      break
    }
  }
  return version
}
