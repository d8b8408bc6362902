/**
 * What the container's own code needs from a logger: the level methods, each taking a fields
 * object and a message, or a message alone. pino's Logger has them, and so has the receive
 * thread's jsonLineLog (json-line-log.ts), which writes the same lines without loading pino.
 * Code that both kinds of thread run takes a `Log`; main-thread code keeps pino's `Logger`.
 */
export interface LogFn {
  (fields: object, msg?: string): void
  (msg: string): void
}

export interface Log {
  readonly trace: LogFn
  readonly debug: LogFn
  readonly info: LogFn
  readonly warn: LogFn
  readonly error: LogFn
  readonly fatal: LogFn
}

/** The `name` every container log line carries, whichever thread wrote it. */
export const LOGGER_NAME = 'zmq-container'
