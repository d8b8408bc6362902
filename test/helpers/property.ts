import fc from 'fast-check'

/** 10,000 cases in CI (CI=true), 1,000 on a developer's machine. */
export const NUM_RUNS = process.env.CI ? 10_000 : 1_000

/**
 * fc.assert, but the failure names the assertion that failed as well as the counterexample and
 * seed: node:test prints an error's message and not its `cause`, where fast-check keeps it.
 */
export function assertProperty<Ts>(property: fc.IProperty<Ts>, params?: fc.Parameters<Ts>): void {
  const details = fc.check(property, params)
  if (!details.failed) return
  const cause = details.errorInstance
  const why = cause instanceof Error ? cause.message : String(cause)
  throw new Error(
    `${why}\n\nCounterexample: ${fc.stringify(details.counterexample)}\nSeed: ${details.seed}, path: ${details.counterexamplePath}, after ${details.numRuns} runs (shrunk ${details.numShrinks} times)`,
    { cause },
  )
}
