import { statSync } from 'node:fs'
import path from 'node:path'
import { usage } from './tool-args'

/**
 * A build named on an A/B tool's command line (bench/ab.ts, bench/flood-ab.ts): `label=path` or
 * a path to a built dist/main.js, labelled by the folder above its dist/ when no label is given.
 */
export function buildArgument(arg: string, index: number): { label: string; main: string } {
  const [label, file] = arg.includes('=') ? arg.split('=', 2) : [undefined, arg]
  const main = path.resolve(file as string)
  if (!statSync(main, { throwIfNoEntry: false })?.isFile())
    usage(`${main}: no such file (a built dist/main.js)`)
  return {
    label: label || path.basename(path.dirname(path.dirname(main))) || `build ${index + 1}`,
    main,
  }
}

/** An option's value as a whole number of at least `min`, or one line naming it and the usage. */
export function wholeNumber(option: string, text: unknown, min: number): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < min)
    usage(`--${option}: a whole number >= ${min}, not "${String(text)}"`)
  return value
}
