import { existsSync } from 'node:fs'
import path from 'node:path'

/** The repository root, found from bench/ (tsx) or dist/bench/ (compiled) alike. */
function findRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bench')))
      return dir
  }
  throw new Error('cannot find the repository root')
}

export const ROOT = findRoot()
export const MAIN = path.join(ROOT, 'dist', 'main.js')
export const BENCH = path.join(ROOT, 'bench')
export const RESULTS = path.join(BENCH, 'results')
/** Compiled C peers; ignored by git. */
export const BUILD = path.join(BENCH, '.build')
export const benchService = (name: string) => path.join(BENCH, 'services', `${name}.js`)
/** Compiled baselines sit beside this file's compiled form. */
export const baselineScript = (name: string) =>
  path.join(__dirname, '..', 'baselines', `${name}${path.extname(__filename)}`)
export const pythonScript = (name: string) => path.join(BENCH, 'baselines', `${name}.py`)
