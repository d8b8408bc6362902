import {
  type CommandArgs,
  type CommandOptions,
  expectPositionals,
  parseCommandArgs,
  UsageError,
  wantsHelp,
} from './args'
import { CLI_EXIT, type CliIo, type Command } from './io'

/** What a subcommand declares; {@link defineCommand} turns it into a {@link Command}. */
export interface CommandSpec<O extends CommandOptions> {
  readonly name: string
  /** One line for the top-level usage. */
  readonly summary: string
  /** The text of `zmq-container <name> --help`, with examples. */
  readonly help: string
  /** The options, as node:util parseArgs takes them (`--help` is added for every command). */
  readonly options: O
  /**
   * The positionals that must be there, by name for the "missing ENDPOINT" message, and how many
   * are allowed at most (default: exactly those). Left out, the command checks them itself.
   */
  readonly positionals?: { readonly required: readonly string[]; readonly max?: number }
  /** The work, with the arguments parsed; a {@link UsageError} it throws becomes exit 64. */
  run(args: CommandArgs<O>, io: CliIo): Promise<number>
}

/**
 * One subcommand with the prologue every command shares: `--help` prints the help and exits 0;
 * the arguments are parsed by {@link parseCommandArgs} and the positionals counted; bad
 * arguments, found here or by the command, print one line on stderr and give 64. Any other
 * error is a bug and rejects.
 */
export function defineCommand<const O extends CommandOptions>(spec: CommandSpec<O>): Command {
  const { name, summary, help, options, positionals } = spec
  return {
    name,
    summary,
    help,
    async run(args, io) {
      if (wantsHelp(args)) {
        io.stdout.write(`${help}\n`)
        return CLI_EXIT.OK
      }
      try {
        const parsed = parseCommandArgs(args, options)
        if (positionals)
          expectPositionals(parsed.positionals, positionals.required, positionals.max)
        return await spec.run(parsed, io)
      } catch (error) {
        if (!(error instanceof UsageError)) throw error
        io.stderr.write(
          `zmq-container ${name}: ${error.message} (see zmq-container ${name} --help)\n`,
        )
        return CLI_EXIT.USAGE
      }
    },
  }
}
