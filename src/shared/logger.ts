import pino, { type Logger } from 'pino'
import type { PrettyOptions } from 'pino-pretty'
import type { LogFormat, LogLevel } from './config'

export type { Logger }

/** The `name` every container log line carries, whichever thread wrote it. */
export const LOGGER_NAME = 'zmq-container'

/**
 * pino-pretty's settings for people: one line a message, local clock time, without the fields
 * every line repeats. The demo runner formats the containers' JSON lines with the same ones.
 */
export const PRETTY_OPTIONS: PrettyOptions = {
  singleLine: true,
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,name',
}

/**
 * One logger per thread: JSON lines (the default), or pino-pretty's lines. Writes are
 * synchronous to fd 1 either way: a worker's exit does not flush asynchronous streams, and the
 * main thread's last line must be out before process.exit.
 */
export function createLogger(
  level: LogLevel,
  bindings: Record<string, unknown> = {},
  format: LogFormat = 'json',
): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, name: LOGGER_NAME, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'pretty' ? prettyStream() : pino.destination({ fd: 1, sync: true }),
  )
}

/** Loaded only when asked for: it costs every thread ~20 ms of start-up, which JSON never pays. */
function prettyStream() {
  const pinoPretty = require('pino-pretty') as typeof import('pino-pretty')
  return pinoPretty({ ...PRETTY_OPTIONS, destination: 1, sync: true })
}

/**
 * Writes one line that must print whatever LOG_LEVEL says (the last `stopped` line, a fatal
 * start-up error): the level is lowered to `info` for that line only.
 */
export function logAlways(log: Logger, write: (log: Logger) => void): void {
  const level = log.level
  if (log.levelVal > (log.levels.values.info ?? 30)) log.level = 'info'
  try {
    write(log)
  } finally {
    log.level = level
  }
}

/**
 * Lets the first occurrence of each kind of event through, then at most one per interval with a
 * count of what was held back, so a flood of bad frames cannot become a flood of log lines.
 * With a `flush`, what was held back is reported when its interval ends even if no further event
 * comes (a single burst would otherwise never show its count).
 */
export class LogThrottle {
  readonly #intervalMs: number
  readonly #flush: ((key: string, suppressed: number) => void) | undefined
  readonly #last = new Map<
    string,
    { at: number; suppressed: number; timer: NodeJS.Timeout | undefined }
  >()

  constructor(
    options: { intervalMs?: number; flush?: (key: string, suppressed: number) => void } = {},
  ) {
    this.#intervalMs = options.intervalMs ?? 1000
    this.#flush = options.flush
  }

  /** Returns undefined to stay quiet, or how many events were held back since the last line. */
  admit(key: string, now = Date.now()): number | undefined {
    const entry = this.#last.get(key)
    if (!entry) {
      this.#last.set(key, { at: now, suppressed: 0, timer: undefined })
      return 0
    }
    if (now - entry.at < this.#intervalMs) {
      entry.suppressed++
      if (this.#flush && !entry.timer) {
        // Unref'd: a pending report never keeps a thread alive at shutdown.
        entry.timer = setTimeout(() => this.#flushKey(key), entry.at + this.#intervalMs - now)
        entry.timer.unref()
      }
      return undefined
    }
    clearTimeout(entry.timer)
    entry.timer = undefined
    const suppressed = entry.suppressed
    entry.at = now
    entry.suppressed = 0
    return suppressed
  }

  #flushKey(key: string): void {
    const entry = this.#last.get(key)
    if (!entry) return
    entry.timer = undefined
    if (entry.suppressed === 0) return
    const suppressed = entry.suppressed
    entry.suppressed = 0
    entry.at = Date.now()
    this.#flush?.(key, suppressed)
  }
}

/** The `flush` for a LogThrottle: one line with the count, when a burst has ended. */
export function reportHeldBack(log: Logger, level: 'warn' | 'error' = 'warn') {
  return (key: string, suppressed: number) =>
    log[level]({ kind: key, suppressed }, 'similar log lines held back')
}

/** A short, log-safe view of a payload: UTF-8 text when printable, else hex. */
export function previewPayload(payload: Uint8Array, max = 64): string {
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.length, max))
  const text = head.toString('utf8')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
  const printable = !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)
  const shown = printable ? text : `0x${head.toString('hex')}`
  return payload.length > max ? `${shown}... (${payload.length} bytes)` : shown
}
