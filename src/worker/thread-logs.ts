import type { LogFormat, LogLevel } from '../shared/config/types'
import { jsonLineLog } from '../shared/json-line-log'
import { LOGGER_NAME, type Log } from '../shared/log'
import type { Logger } from '../shared/logger'

/**
 * A receive thread's two loggers. Its own lines (`subscribed`, drops, socket events) go through
 * jsonLineLog, which writes pino's JSON lines without pino; the service's `ctx.log` is pino,
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
        ? this.serviceLog()
        : jsonLineLog(level, { pid: process.pid, name: LOGGER_NAME, ...bindings })
  }

  /** `ctx.log`: pino with the same bindings, made on first use. */
  serviceLog(): Logger {
    this.#service ??= loggerModule().createLogger(this.#level, this.#bindings, this.#format)
    return this.#service
  }
}

type LoggerModule = typeof import('../shared/logger')

/**
 * The logger module (pino and the container's options for it). In a built container it is a
 * bundle of its own with its code cache (dist/workers/logger.bundle.js), outside the receive
 * thread's bundle, so that pino's source is in no thread's memory until a handler reads
 * `ctx.log`; under tsx, the module itself. Required, not imported, for the same reason: the
 * receive bundle leaves all three modules outside (scripts/write-entry.js).
 */
function loggerModule(): LoggerModule {
  const { loggerBundle } = require('../shared/paths') as typeof import('../shared/paths')
  const bundle = loggerBundle()
  if (bundle === undefined) return require('../shared/logger') as LoggerModule
  const { runBundle } =
    require('../shared/bundle-loader') as typeof import('../shared/bundle-loader')
  const module = { exports: {} as LoggerModule }
  runBundle(bundle, module, { secondary: true })
  return module.exports
}
