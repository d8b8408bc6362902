import type { LogFormat, LogLevel } from '../shared/config/types'
import { JsonLineLog } from '../shared/json-line-log'
import { LOGGER_NAME, type Log } from '../shared/log'
import type { Logger } from '../shared/logger'

/**
 * A receive thread's two loggers. Its own lines (`subscribed`, drops, socket events) go through
 * JsonLineLog, which writes pino's JSON lines without pino; the service's `ctx.log` is pino,
 * created the first time a handler asks for it. So a thread whose service never logs never
 * loads pino: about 1 MiB of RSS and several ms of start-up per thread (README "Footprint").
 * With LOG_FORMAT=pretty both are one pino logger (pino-pretty needs it).
 */
export class ThreadLogs {
  readonly own: Log
  readonly #level: LogLevel
  readonly #format: LogFormat
  readonly #bindings: Record<string, unknown>
  #service: Logger | undefined

  constructor(level: LogLevel, format: LogFormat, bindings: Record<string, unknown>) {
    this.#level = level
    this.#format = format
    this.#bindings = bindings
    this.own =
      format === 'pretty'
        ? this.service()
        : new JsonLineLog(level, { pid: process.pid, name: LOGGER_NAME, ...bindings })
  }

  /** `ctx.log`: pino with the same bindings, made on first use. */
  service(): Logger {
    if (this.#service) return this.#service
    // require, not import: the bundle runs pino's module code only when this line does. The
    // first call costs its loading (about N ms), once per thread.
    const { createLogger } = require('../shared/logger') as typeof import('../shared/logger')
    this.#service = createLogger(this.#level, this.#bindings, this.#format)
    return this.#service
  }
}
