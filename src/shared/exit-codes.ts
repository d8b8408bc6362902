/**
 * Process exit codes of `node dist/main.js`. Orchestrators read these; the README lists them.
 * 64-78 follow BSD sysexits; 128+N is the shell convention for "ended by signal N".
 */
export const EXIT = {
  /** Stopped on request; every worker joined within the deadline. */
  OK: 0,
  /** An unexpected internal error (a bug); the container still shut down in order. */
  INTERNAL: 1,
  /** Bad command-line usage. */
  USAGE: 64,
  /**
   * An endpoint could not be bound or connected at start-up (address in use, ipc directory
   * missing, permission denied), or HTTP_PORT could not listen: one stderr line names the
   * variable, the address and the cause. The environment, not the configuration, is at fault.
   */
  ENDPOINT_UNAVAILABLE: 69,
  /** Start-up failed: the service module, or a worker's ready handshake. */
  STARTUP_FAILED: 70,
  /**
   * A worker failed after start-up and was not restarted: more than ZC_RESTART_LIMIT restarts
   * within ZC_RESTART_WINDOW_MS. The container shut down so the orchestrator restarts it whole.
   */
  WORKER_FAILED: 71,
  /** A worker missed the shutdown join deadline and was terminated. */
  SHUTDOWN_TIMEOUT: 75,
  /** The environment is invalid: one line per problem was printed to stderr. */
  CONFIG_INVALID: 78,
  /**
   * A worker was blocked with native zeromq work in flight (a receive pending under a timer that
   * never returns, say). Ending its thread any other way aborts the process with SIGABRT, so the
   * container logs its last line and sends itself SIGKILL: the shell reports 128 + 9.
   */
  KILLED_STUCK_WORKER: 137,
  /** A second SIGHUP during shutdown: stopped at once (128 + 1). */
  FORCED_SIGHUP: 129,
  /** A second SIGINT during shutdown: stopped at once (128 + 2). */
  FORCED_SIGINT: 130,
  /** A second SIGTERM during shutdown: stopped at once (128 + 15). */
  FORCED_SIGTERM: 143,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
