import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { LogLine } from './logs'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** From the first `signal()` call, when there was one. */
  sinceSignalMs: number | undefined
}

/**
 * Any command that prints one JSON object per line on stdout: the container (ContainerProcess),
 * a container started through a wrapper (`ip netns exec <ns> node dist/main.js`), or the pyzmq
 * peer. The environment is exactly `env`.
 */
export class LogProcess {
  readonly child: ChildProcess
  readonly lines: LogLine[] = []
  readonly stderrLines: string[] = []
  readonly exited: Promise<Exit>
  #signalledAt: number | undefined
  #waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = []

  constructor(
    readonly label: string,
    command: string,
    args: readonly string[],
    env: Record<string, string>,
    options: { cwd?: string } = {},
  ) {
    this.child = spawn(command, args, { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (text) =>
      this.#onLine(text),
    )
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (text) =>
      this.stderrLines.push(text),
    )
    this.exited = once(this.child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      sinceSignalMs:
        this.#signalledAt === undefined ? undefined : performance.now() - this.#signalledAt,
    }))
  }

  #onLine(text: string): void {
    let line: LogLine
    try {
      line = JSON.parse(text) as LogLine
    } catch {
      line = { level: 0, msg: text, raw: true }
    }
    this.lines.push(line)
    for (const w of [...this.#waiters]) {
      if (w.match(line)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }

  /** The first matching line, past or future; rejects if the process ends first. */
  waitForLog(match: string | ((l: LogLine) => boolean)): Promise<LogLine> {
    const predicate = typeof match === 'string' ? (l: LogLine) => l.msg === match : match
    const found = this.lines.find(predicate)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      this.#waiters.push({ match: predicate, resolve })
      void this.exited.then((exit) =>
        reject(
          new Error(
            `${this.label} exited (${exit.code ?? exit.signal}) before log ${String(match)}\n${this.dump()}`,
          ),
        ),
      )
    })
  }

  /** The next matching line from now on, ignoring earlier ones. */
  waitForNextLog(match: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.length
    return this.waitForLog((l) => this.lines.indexOf(l) >= seen && match(l))
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  signal(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.running) return
    this.#signalledAt ??= performance.now()
    this.child.kill(signal)
  }

  get lastLine(): LogLine | undefined {
    return this.lines.at(-1)
  }

  /** SIGTERM, then SIGKILL if the process is still there after `graceMs`: for cleanup only. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }

  dump(): string {
    return [
      ...this.lines.map((l) => `[${this.label}] ${JSON.stringify(l)}`),
      ...this.stderrLines.map((l) => `[${this.label} stderr] ${l}`),
    ].join('\n')
  }
}
