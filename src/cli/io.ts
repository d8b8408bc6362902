import { EXIT } from '../shared/exit-codes'

/**
 * What a command may touch. main.ts builds it from `process`, so the commands never reach for
 * globals: signals arrive as `signal`, and output goes to the streams given here.
 */
export interface CliIo {
  readonly stdout: Output
  readonly stderr: Output
  readonly env: Readonly<Record<string, string | undefined>>
  /**
   * Aborted on the first SIGINT or SIGTERM (reason: the signal name), or when stdout's reader
   * goes away (`tap | head`). A second signal is left to Node's default: the process dies.
   */
  readonly signal: AbortSignal
}

/** The part of a writable stream the commands use; `isTTY` selects the in-place display. */
export interface Output {
  write(chunk: string | Uint8Array): boolean
  readonly isTTY?: boolean
  readonly columns?: number
}

/**
 * Exit codes of the command-line tools. They reuse the container's codes (src/exit-codes.ts)
 * where the meaning is the same, and BSD sysexits otherwise.
 */
export const CLI_EXIT = {
  OK: EXIT.OK,
  /** `check`: the configuration is valid but has warnings. Not 1, which is an internal error. */
  WARNINGS: 2,
  /** Bad arguments: one line on stderr. */
  USAGE: EXIT.USAGE,
  /** A recording is damaged, cut off or not MCAP at all. */
  DATA_ERROR: 65,
  /** A file named on the command line (`--env-file`, `--file`) cannot be read. */
  NO_INPUT: 66,
  /** `pub`: no subscriber attached within `--wait-timeout`; `keygen`: libzmq lacks CURVE. */
  UNAVAILABLE: 69,
  /** A socket could not bind or connect. */
  SOCKET_FAILED: 70,
  /** `record`: the output file cannot be created or written. */
  CANNOT_CREATE: 73,
  /** `check`: the configuration is invalid, as the container would exit. */
  CONFIG_INVALID: EXIT.CONFIG_INVALID,
  /** `pub`: SIGINT before anything was sent (128 + 2). */
  INTERRUPTED: EXIT.FORCED_SIGINT,
  /** `pub`: SIGTERM before anything was sent (128 + 15). */
  TERMINATED: EXIT.FORCED_SIGTERM,
} as const

export type CliExitCode = (typeof CLI_EXIT)[keyof typeof CLI_EXIT]

/** Resolves when `signal` aborts; never rejects. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/** One subcommand of the `zmq-container` binary. */
export interface Command {
  readonly name: string
  /** One line for the top-level usage. */
  readonly summary: string
  /** The text of `zmq-container <name> --help`, with examples. */
  readonly help: string
  /**
   * Runs to completion and returns the exit code, `--help` and bad arguments (64) included;
   * throws only on a bug. Build one with `defineCommand` (command.ts).
   */
  run(args: readonly string[], io: CliIo): Promise<number>
}

/** A status or error line on stderr, so that stdout carries only the command's output. */
export function note(io: CliIo, command: string, text: string): void {
  io.stderr.write(`zmq-container ${command}: ${text}\n`)
}
