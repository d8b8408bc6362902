import type { CliIo } from '../../src/cli/io'

/** What an in-process command run printed, and its exit code. */
export interface CapturedRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * A {@link CliIo} that keeps what a command writes, for running a command in this process
 * through the seam main.ts uses (no child process). `env` is all the command sees: a
 * developer's ZMQ_* variables must not leak in.
 */
export function capturingIo(
  env: Record<string, string> = {},
  signal: AbortSignal = new AbortController().signal,
) {
  const out: string[] = []
  const err: string[] = []
  const text = (chunk: string | Uint8Array) =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
  const io: CliIo = {
    stdout: {
      write: (chunk) => out.push(text(chunk)) > 0,
    },
    stderr: {
      write: (chunk) => err.push(text(chunk)) > 0,
    },
    env,
    signal,
  }
  return { io, stdout: () => out.join(''), stderr: () => err.join('') }
}

/** Runs `command` with `args` in this process and returns its exit code and output. */
export async function runInProcess(
  command: { run(args: readonly string[], io: CliIo): Promise<number> },
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CapturedRun> {
  const captured = capturingIo(env)
  const code = await command.run(args, captured.io)
  return { code, stdout: captured.stdout(), stderr: captured.stderr() }
}
