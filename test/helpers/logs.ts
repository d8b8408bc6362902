import { Writable } from 'node:stream'
import pino from 'pino'
import type { Logger } from '../../src/shared/logger'

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** A real pino logger that keeps its lines in memory, with a way to wait for one. */
export function memoryLogger(): {
  log: Logger
  lines: LogLine[]
  waitFor: (match: (l: LogLine) => boolean) => Promise<LogLine>
} {
  const lines: LogLine[] = []
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      const line = JSON.parse(String(chunk)) as LogLine
      lines.push(line)
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
      callback()
    },
  })
  const log = pino({ level: 'debug' }, stream)
  const waitFor = (match: (l: LogLine) => boolean) => {
    const found = lines.find(match)
    if (found) return Promise.resolve(found)
    return new Promise<LogLine>((resolve) => waiters.push({ match, resolve }))
  }
  return { log, lines, waitFor }
}
