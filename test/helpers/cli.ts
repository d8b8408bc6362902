import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { MAIN, ROOT } from './container'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * One `node dist/main.js <command> ...` run, as a user types it: stdout and stderr are kept
 * whole (tap --raw writes bytes), and a test waits on what they say, never on time.
 */
export class CliProcess {
  readonly child: ChildProcess
  readonly exited: Promise<CliResult>
  #stdout: Buffer[] = []
  #stderr = ''
  #waiters: Array<() => void> = []

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    // Only PATH and what the test sets: a developer's ZMQ_* variables must not leak in.
    this.child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout.push(chunk)
      this.#wake()
    })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString()
      this.#wake()
    })
    this.exited = once(this.child, 'close').then(([code, signal]) => {
      this.#wake()
      return {
        code: code as number | null,
        signal: signal as NodeJS.Signals | null,
        stdout: this.stdout,
        stderr: this.#stderr,
      }
    })
  }

  get stdout(): string {
    return this.stdoutBytes.toString()
  }

  get stdoutBytes(): Buffer {
    return Buffer.concat(this.#stdout)
  }

  get stderr(): string {
    return this.#stderr
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Resolves with the first match of `pattern` in stdout, past or future. */
  waitForStdout(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitFor('stdout', pattern)
  }

  /** Resolves with the first match of `pattern` in stderr, past or future. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitFor('stderr', pattern)
  }

  async #waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = (stream === 'stdout' ? this.stdout : this.#stderr).match(pattern)
      if (match) return match
      if (!this.running && this.child.stdout?.readableEnded && this.child.stderr?.readableEnded)
        throw new Error(
          `process ended before ${stream} matched ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.#stderr}`,
        )
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  signal(signal: NodeJS.Signals = 'SIGINT'): void {
    if (this.running) this.child.kill(signal)
  }

  /** For cleanup after a failed test: nothing may outlive the suite. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL')
  }
}

/** Runs a command to its end. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new CliProcess(args, env).exited
}
