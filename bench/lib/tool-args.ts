import { readFileSync } from 'node:fs'
import { type ParseArgsConfig, parseArgs } from 'node:util'

/**
 * The command line of a bench tool run on its own (bench/ab.ts, flood-ab.ts, record.ts, slice.ts,
 * hop.ts, tail-trace.ts, hot-path.ts): node:util's parseArgs, plus `--help`; `usage` serves
 * `npm run bench` (run.ts) too. A mistyped option or a bad value is one line
 * naming it, then the tool's usage (its header comment), exit 64, as `npm run bench` does: a
 * stack trace from parseArgs told a newcomer less.
 */
export function toolArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  // parseArgs reads the same arguments when given none.
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) usage()
  try {
    return parseArgs(config)
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error))
  }
}

/** Prints `problem` (if any) and the running tool's header comment; exits 64 on a problem. */
export function usage(problem?: string): never {
  const file = require.main?.filename ?? process.argv[1]
  const text = file ? (readFileSync(file, 'utf8').match(/\/\*\*([\s\S]*?)\*\//)?.[1] ?? '') : ''
  if (problem) process.stderr.write(`bench: ${problem}\n`)
  process.stderr.write(`${text.replace(/^ \* ?/gm, '')}\n`)
  process.exit(problem ? 64 : 0)
}
