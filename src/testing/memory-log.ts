import { Writable } from 'node:stream'
import pino from 'pino'
import type { Logger } from '../shared/logger'

/** One pino log line as the harness keeps it. */
export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly [key: string]: unknown
}

/** A real pino logger whose lines stay in memory, with a way to wait for one. */
export interface MemoryLog {
  readonly log: Logger
  readonly lines: readonly LogLine[]
  /** Resolves with the first line, past or future, that `match` accepts. */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine>
}

/**
 * The harness reads the container's own log lines ("subscriber attached") to know when a peer is
 * attached, so it waits on a handshake instead of sleeping. Debug level: what the test may want
 * to read must be there whatever LOG_LEVEL the workers use.
 */
export function memoryLog(): MemoryLog {
  const lines: LogLine[] = []
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>()
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      const line = JSON.parse(String(chunk)) as LogLine
      lines.push(line)
      for (const waiter of waiters)
        if (waiter.match(line)) {
          waiters.delete(waiter)
          waiter.resolve(line)
        }
      callback()
    },
  })
  return {
    log: pino({ level: 'debug' }, stream),
    lines,
    waitFor(match) {
      const found = lines.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.add({ match, resolve }))
    },
  }
}
