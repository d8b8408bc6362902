import { nearestName } from './args'
import { check } from './check'
import { graph } from './graph'
import { hz } from './hz'
import { info } from './info'
import { init } from './init'
import type { CliIo, Command } from './io'
import { keygen } from './keygen'
import { pub } from './pub'
import { record } from './record'
import { replay } from './replay'
import { req } from './req'
import { tap } from './tap'
import { top } from './top'

export type { CliIo } from './io'

/** The subcommands of the `zmq-container` binary besides `run`, in usage order. */
export const COMMANDS: readonly Command[] = [
  check,
  graph,
  top,
  tap,
  hz,
  pub,
  req,
  record,
  replay,
  info,
  keygen,
  init,
]

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name)
}

/** The command `name` probably means (`chek`: `check`), by the rule for options. */
export function nearestCommand(name: string): string | undefined {
  return nearestName(name, ['run', ...COMMANDS.map((c) => c.name)])
}

/**
 * Runs one command to its exit code: `--help` prints its help, and bad arguments print one
 * line on stderr and give 64 (both in {@link defineCommand}). Any other error is a bug and
 * rejects.
 */
export function runCommand(command: Command, args: readonly string[], io: CliIo): Promise<number> {
  return command.run(args, io)
}
