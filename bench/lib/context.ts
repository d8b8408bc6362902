import type { Design } from './designs'
import type { Tools } from './peers'
import type { ChartPanel, Goal } from './report'

export interface BenchOptions {
  /** A few seconds per scenario: fewer messages, one repetition. */
  readonly quick: boolean
  readonly reps: number
  /** Messages in the memory soak. */
  readonly soakMessages: number
  /** Whether that is the issue's full 10 M. */
  readonly fullSoak: boolean
}

export interface BenchContext extends BenchOptions {
  readonly tools: Tools
  /** The designs that can run here; notes the others once. */
  available(designs: readonly Design[]): Design[]
  /** Progress on stderr. */
  log(message: string): void
}

/** What a scenario hands the report. */
export interface ScenarioOutput {
  readonly body: string[]
  readonly goals: Goal[]
  readonly charts: ChartPanel[]
  readonly raw: unknown
}

export interface Scenario {
  readonly id: string
  readonly title: string
  run(ctx: BenchContext): Promise<ScenarioOutput>
}

/** Runs `fn`; a failure is logged and noted, and yields undefined, so one bad run ends nothing. */
export async function attempt<T>(
  ctx: BenchContext,
  failures: string[],
  label: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await fn()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    ctx.log(`  FAILED ${label}: ${message}`)
    failures.push(`${label}: ${message.split('\n')[0]}`)
    return undefined
  }
}

export function failureNote(failures: readonly string[]): string[] {
  if (failures.length === 0) return []
  return [`Failed runs (left out of the medians):\n\n${failures.map((f) => `- ${f}`).join('\n')}`]
}
