import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

export type Line = Record<string, unknown> & { msg?: string; event?: string }

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** From the stop() call to the process's exit. */
  stopMs: number | undefined
}

/**
 * A child process that prints JSON lines (the container's pino logs, or the peers' events):
 * waits on lines with deadlines, stops with a signal and times the exit, reads its RSS.
 */
export class Proc {
  readonly child: ChildProcess
  readonly lines: Line[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<Exit>
  readonly spawnedAt = performance.now()
  #stoppedAt: number | undefined
  #waiters: Array<{ match: (l: Line) => boolean; resolve: (l: Line) => void }> = []

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.child.stdin?.on('error', () => {})
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (text) =>
      this.#onLine(text),
    )
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
      if (this.stderr.length < 200) this.stderr.push(text)
    })
    this.exited = once(this.child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stopMs: this.#stoppedAt === undefined ? undefined : performance.now() - this.#stoppedAt,
    }))
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  #onLine(text: string): void {
    let line: Line
    try {
      const parsed: unknown = JSON.parse(text)
      line = parsed && typeof parsed === 'object' ? (parsed as Line) : { raw: text }
    } catch {
      line = { raw: text }
    }
    // When it was read: spawn -> ready is measured here, the same way for every design.
    line.__at = performance.now()
    // Only what is waited on or read later is kept: a soak must not grow the bench itself.
    if (this.lines.length < 10_000) this.lines.push(line)
    for (const w of [...this.#waiters]) {
      if (w.match(line)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }

  /** The first line that matches, past or future; rejects on exit or after `timeoutMs`. */
  waitFor(match: (l: Line) => boolean, timeoutMs: number, what: string): Promise<Line> {
    const found = this.lines.find(match)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: Line) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms${this.#tail()}`))
      }, timeoutMs)
      this.#waiters.push(waiter)
      void this.exited.then((exit) => {
        clearTimeout(timer)
        reject(
          new Error(
            `${this.label}: exited (${exit.code ?? exit.signal}) before ${what}${this.#tail()}`,
          ),
        )
      })
    })
  }

  #tail(): string {
    const out = this.lines.slice(-3).map((l) => JSON.stringify(l))
    return `\n  ${[...out, ...this.stderr.slice(-5)].join('\n  ')}`
  }

  write(text: string): void {
    this.child.stdin?.write(text)
  }

  /** Sends `signal` and resolves with the exit, timed from now. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.#stoppedAt ??= performance.now()
      this.child.kill(signal)
    }
    return this.exited
  }

  /** Stops it, and kills it if it has not exited within `graceMs`. */
  async end(graceMs = 3000): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    try {
      return await this.stop()
    } finally {
      clearTimeout(timer)
    }
  }

  /** Resident set size in bytes (VmRSS), or undefined once it has exited. */
  rss(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
      return kb === undefined ? undefined : Number(kb) * 1024
    } catch {
      return undefined
    }
  }
}
