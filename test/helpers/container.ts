import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { LogLine } from './logs'

export const ROOT = path.join(__dirname, '..', '..')
export const MAIN = path.join(ROOT, 'dist', 'main.js')

export const fixtureService = (name: string) =>
  path.join(ROOT, 'test', 'fixtures', 'services', `${name}.js`)

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** From the `signal()` call that started the stop, when there was one. */
  sinceSignalMs: number | undefined
}

/**
 * `node dist/main.js` as a child process, the way an orchestrator runs it: environment only,
 * JSON log lines on stdout, one line per config problem on stderr.
 */
export class ContainerProcess {
  readonly child: ChildProcess
  readonly lines: LogLine[] = []
  readonly stderrLines: string[] = []
  readonly exited: Promise<Exit>
  #signalledAt: number | undefined
  #waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = []

  constructor(env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, [MAIN, ...args], {
      // Only what the test sets, plus PATH: nothing leaks in from the developer's shell.
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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

  /** Resolves with the first log line that matches, past or future; rejects if the process ends first. */
  waitForLog(match: string | ((l: LogLine) => boolean)): Promise<LogLine> {
    const predicate = typeof match === 'string' ? (l: LogLine) => l.msg === match : match
    const found = this.lines.find(predicate)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      this.#waiters.push({ match: predicate, resolve })
      void this.exited.then((exit) =>
        reject(
          new Error(
            `container exited (${exit.code ?? exit.signal}) before log ${String(match)}\n${this.dump()}`,
          ),
        ),
      )
    })
  }

  signal(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.#signalledAt ??= performance.now()
    this.child.kill(signal)
  }

  get lastLine(): LogLine | undefined {
    return this.lines.at(-1)
  }

  dump(): string {
    return [...this.lines.map((l) => JSON.stringify(l)), ...this.stderrLines].join('\n')
  }
}
