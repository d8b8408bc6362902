import pino, { type Logger, type LoggerOptions } from 'pino'
import type { PrettyOptions } from 'pino-pretty'
import type { LogFormat, LogLevel } from './config'
import { LOGGER_NAME } from './log'

export type { Logger }

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
 * main thread's last line must be out before process.exit. A receive thread writes its own
 * lines with jsonLineLog (json-line-log.ts), which must match these byte for byte.
 */
export function createLogger(
  level: LogLevel,
  bindings: Record<string, unknown> = {},
  format: LogFormat = 'json',
): Logger {
  return pino(
    loggerOptions(level, bindings),
    format === 'pretty' ? prettyStream() : pino.destination({ fd: 1, sync: true }),
  )
}

/** The options of every container logger; test/json-line-log.test.ts compares with them. */
export function loggerOptions(level: LogLevel, bindings: Record<string, unknown>): LoggerOptions {
  return {
    level,
    base: { pid: process.pid, name: LOGGER_NAME, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }
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
