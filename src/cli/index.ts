import { UsageError, wantsHelp } from './args'
import { check } from './check'
import { hz } from './hz'
import { info } from './info'
import { init } from './init'
import { CLI_EXIT, type CliIo, type Command } from './io'
import { keygen } from './keygen'
import { pub } from './pub'
import { record } from './record'
import { replay } from './replay'
import { req } from './req'
import { tap } from './tap'

export type { CliIo } from './io'

/** The subcommands of the `zmq-container` binary besides `run`, in usage order. */
export const COMMANDS: readonly Command[] = [
  check,
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

/**
 * Runs one command to its exit code: `--help` prints its help, and bad arguments print one
 * line on stderr and give 64. Any other error is a bug and rejects.
 */
export async function runCommand(
  command: Command,
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(`${command.help}\n`)
    return CLI_EXIT.OK
  }
  try {
    return await command.run(args, io)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.stderr.write(
      `zmq-container ${command.name}: ${error.message} (see zmq-container ${command.name} --help)\n`,
    )
    return CLI_EXIT.USAGE
  }
}
