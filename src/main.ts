import type { Registry } from 'prom-client'
import type * as Cli from './cli'
import { releaseSignals, STOP_SIGNALS, type StopSignal } from './early-signals'
import { HealthServer, readinessStatus } from './main/health'
import { earlyThreadsLeft, settleEarlyThreads } from './main/receive-threads'
import { runsContainer } from './main/runs-container'
import { Supervisor } from './main/supervisor'
import { codeCacheOutcome, writeTrainedCodeCache } from './shared/code-cache-state'
import { describeUnknownVariable, loadConfig, unknownVariables } from './shared/config'
import { ConfigError, ZcError } from './shared/errors'
import { EXIT, type ExitCode } from './shared/exit-codes'
import { describeAddressFailure } from './shared/failure-cause'
import { createLogger, type Logger, logAlways } from './shared/logger'
import { packageVersion } from './shared/paths'

/**
 * `node dist/main.js`: the container process. The only module that touches `process` (signals,
 * fatal-error hooks and the exit code), besides early-signals.ts, which holds signals while this
 * one loads.
 */
export async function runContainer(): Promise<Outcome> {
  const startedAt = performance.now()
  // Signals first: one that arrives while the config loads is acted on once there is a
  // supervisor to stop, with those the entry script held while the modules loaded.
  const early: StopSignal[] = []
  let onSignal: (signal: StopSignal) => void = (signal) => early.push(signal)
  const signalListener = (signal: StopSignal) => onSignal(signal)
  for (const signal of STOP_SIGNALS) process.on(signal, signalListener)
  early.push(...releaseSignals())

  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    reportConfigError(error)
    return { exitCode: EXIT.CONFIG_INVALID, kill: false }
  }

  const log = createLogger(config.logLevel, {}, config.logFormat)
  const supervisor = new Supervisor(config, { log })
  // Until the exit code is known, nothing may let the process end quietly with 0.
  const keepAlive = setInterval(() => {}, 1 << 30)

  // The outcome comes from an orderly stop, or from a second signal, whichever ends first.
  let resolveOutcome: (outcome: Outcome | Promise<Outcome>) => void = () => {}
  let resolveForced: (outcome: Outcome) => void = () => {}
  const forced = new Promise<Outcome>((resolve) => {
    resolveForced = resolve
  })
  const finished = Promise.race([
    new Promise<Outcome>((resolve) => {
      resolveOutcome = resolve
    }),
    forced,
  ])

  let stopReason: 'signal' | 'fatal' | undefined
  let forcing = false
  const stop = (reason: 'signal' | 'fatal', code: ExitCode): void => {
    if (stopReason) return
    stopReason = reason
    resolveOutcome(
      supervisor.close(reason).then((result): Outcome | Promise<Outcome> => {
        // After a second signal the forced stop decides, even when the joins end first (it
        // terminated the workers they waited for, and is still finishing the recording).
        if (forcing) return forced
        if (result.stuck.length > 0) return { exitCode: EXIT.KILLED_STUCK_WORKER, kill: true }
        if (!result.clean && code === EXIT.OK)
          return { exitCode: EXIT.SHUTDOWN_TIMEOUT, kill: false }
        return { exitCode: code, kill: false }
      }),
    )
  }

  // After `stopped` nothing more is logged: it stays the last line whatever arrives late.
  let done = false
  onSignal = (signal) => {
    if (done) return
    if (!stopReason) {
      log.info({ signal }, 'shutdown requested')
      stop('signal', EXIT.OK)
      return
    }
    // A signal during a shutdown we started for a failure keeps that failure's exit code.
    if (stopReason === 'fatal' || forcing) {
      log.info({ signal }, 'shutdown already in progress')
      return
    }
    forcing = true
    log.warn({ signal }, 'second signal: stopping now')
    const code = FORCED_EXIT[signal]
    void supervisor
      .forceStop()
      .then((unsafe) =>
        resolveForced(
          unsafe.length > 0
            ? { exitCode: EXIT.KILLED_STUCK_WORKER, kill: true }
            : { exitCode: code, kill: false },
        ),
      )
  }

  const onFatal = (error: unknown) => {
    if (done) return
    logAlways(log, (l) => l.fatal({ err: error }, 'uncaught error in main thread'))
    stop('fatal', EXIT.INTERNAL)
  }
  process.on('uncaughtException', onFatal)
  process.on('unhandledRejection', onFatal)

  supervisor.on('gaveUp', (socket, reason, error) => {
    log.error({ socket, reason, err: error }, 'receive worker cannot go on; shutting down')
    stop('fatal', EXIT.WORKER_FAILED)
  })

  log.info(
    {
      version: packageVersion(),
      sockets: config.sockets.map((s) => `${s.kind}:${s.name}:${s.latencyClass}`),
      service: config.service ?? 'logging',
      // How this thread's bundle ran (shared/bundle-loader.ts); absent when tsc's modules run.
      codeCache: codeCacheOutcome(),
    },
    'starting',
  )
  for (const unknown of unknownVariables(process.env))
    log.warn(
      {
        variable: unknown.variable,
        suggestion: unknown.suggestion,
        problem: describeUnknownVariable(unknown),
      },
      'unknown variable',
    )
  for (const signal of early.splice(0)) onSignal(signal)
  // A signal that came while the modules loaded waits in libuv's queue until the event loop
  // first turns. That turn could also bring the `ready` of a receive thread started early, and
  // the stop would then come just after `ready`: one turn here acts on it before start-up begins.
  await new Promise<void>((resolve) => setImmediate(resolve))
  let http: HealthServer | undefined
  // prom-client is the largest module graph the container loads: made at the first scrape or
  // once the container is ready, whichever comes first, so it does not delay start-up.
  let registry: Registry | undefined
  const metrics = () => {
    registry ??= (require('./main/metrics') as typeof import('./main/metrics')).createMetrics(
      supervisor,
      { version: packageVersion() },
    )
    return registry
  }
  try {
    // Up before the sockets, so probes get answers (live, not ready) during start-up.
    if (config.http) http = await listenHttp(config.http, supervisor, metrics, log)
    if (await supervisor.start()) {
      // Every socket is up; /readyz may still wait (for a subscriber gate, say). The same
      // function answers both, so the line and the probe cannot disagree.
      const { ready, reasons, degraded } = supervisor.readiness()
      log.info(
        {
          startupMs: Math.round(performance.now() - startedAt),
          readyz: readinessStatus(ready, degraded),
          waitingFor: reasons,
          ...(degraded.length > 0 ? { degraded } : {}),
          receiveCopies: supervisor.receiveCopies,
        },
        'ready',
      )
      if (config.http) setImmediate(metrics)
    }
  } catch (error) {
    // A service's own variables are configuration too (the camera's CAMERA_FPS, say), and so
    // are its handler keys.
    if (error instanceof ConfigError) {
      reportConfigError(error)
      stop('fatal', EXIT.CONFIG_INVALID)
    } else {
      const code = error instanceof ZcError ? error.code : undefined
      const exitCode =
        code === 'ZC_ERR_BIND_FAILED' ? EXIT.ENDPOINT_UNAVAILABLE : EXIT.STARTUP_FAILED
      // For people: one line on stderr, as config errors get. For collectors: the JSON line.
      const message = error instanceof Error ? error.message : String(error)
      process.stderr.write(
        `zmq-container: ${oneLine(message)}; start-up failed (${code ?? 'internal'}), exit ${exitCode}\n`,
      )
      logAlways(log, (l) => l.fatal({ err: error, code, exitCode }, 'start-up failed'))
      stop('fatal', exitCode)
    }
  }

  // The container runs until a signal, a fatal error or a failed start-up starts a stop.
  const outcome = await finished
  // Last: /readyz answered "shutting down" through the drain.
  await http?.close()
  clearInterval(keepAlive)
  done = true
  // The README promises this line last, at every LOG_LEVEL: it is how a reader knows the end.
  logAlways(log, (l) =>
    l.info(
      { exitCode: outcome.exitCode, uptimeMs: Math.round(performance.now() - startedAt) },
      'stopped',
    ),
  )
  return outcome
}

async function listenHttp(
  options: { port: number; host: string },
  supervisor: Supervisor,
  metrics: () => Registry,
  log: Logger,
): Promise<HealthServer> {
  try {
    return await HealthServer.listen(options, supervisor, metrics, log, () =>
      supervisor.info(packageVersion()),
    )
  } catch (error) {
    const address = `${options.host}:${options.port}`
    throw new ZcError(
      'ZC_ERR_BIND_FAILED',
      `HTTP_PORT: cannot listen on ${address}: ${describeAddressFailure(error, address)}`,
      {
        cause: error,
      },
    )
  }
}

/** Exit codes of a second signal during shutdown: 128 + the signal's number. */
const FORCED_EXIT: Record<StopSignal, ExitCode> = {
  SIGINT: EXIT.FORCED_SIGINT,
  SIGTERM: EXIT.FORCED_SIGTERM,
  SIGHUP: EXIT.FORCED_SIGHUP,
}

/** How the process must end: `kill` when a worker is stuck where any orderly exit would abort. */
export interface Outcome {
  readonly exitCode: ExitCode
  readonly kill: boolean
}

/** A message that may quote a value stays one line on stderr. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

/** One line per bad variable on stderr, no stack trace. */
function reportConfigError(error: ConfigError): void {
  for (const line of error.message.split('\n')) process.stderr.write(`zmq-container: ${line}\n`)
  process.stderr.write(
    `zmq-container: invalid configuration (${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}); exit ${EXIT.CONFIG_INVALID}\n`,
  )
}

/**
 * The command-line tools, loaded only for a tool or the usage text: their module graph (yaml,
 * the MCAP libraries...) would add tens of milliseconds to every container's start-up.
 */
const cli = (): typeof Cli => require('./cli') as typeof Cli

const usage = () => `Usage: zmq-container [run]
       zmq-container <command> [options]    (zmq-container <command> --help for details)

Runs the container described by the environment (see README "Configuration").

Commands:
  run          start the container (the default)
${cli()
  .COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`)
  .join('\n')}
  --help, -h   show this help
  --version    print the version`

/** The process entry behind `node dist/main.js` and the `zmq-container` binary. */
export function main(argv: readonly string[]): void {
  const [command = 'run', ...rest] = argv
  let run: () => Promise<Outcome>
  const container = runsContainer(argv)
  // Looked up only for a tool: --version needs none of the CLI's modules (about 200).
  const tool = container || command === '--version' ? undefined : cli().findCommand(command)
  // Only the container acts on signals held during loading (see early-signals.ts).
  const held = container ? [] : releaseSignals()
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage()}\n`)
    return
  } else if (command === '--version') {
    process.stdout.write(`${packageVersion()}\n`)
    return
  } else if (container) {
    run = runContainer
  } else if (tool) {
    // The tools end cleanly on the first signal (hz prints its summary); a second one finds no
    // listener and Node's default kills the process, so a stuck tool still stops.
    const stop = new AbortController()
    const onSignal = (signal: NodeJS.Signals) => stop.abort(signal)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    // A tool signalled while it loaded stops at once, as it would have without the hold.
    if (held[0]) stop.abort(held[0])
    // `tap | head` closes the pipe early: the reader is done, which is no crash.
    process.stdout.on('error', () => stop.abort('EPIPE'))
    const io = {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: stop.signal,
    }
    cli()
      .runCommand(tool, rest, io)
      .then(
        (code) => {
          // Not process.exit(): a pub's last messages are still leaving (linger), and libzmq
          // holds the exit until they are out or the linger ends.
          process.exitCode = code
        },
        (error: unknown) => {
          process.stderr.write(`zmq-container ${command}: internal error: ${String(error)}\n`)
          process.exit(EXIT.INTERNAL)
        },
      )
    return
  } else {
    // `run --foo`: the command is right, an argument is not; no guess then.
    const near = cli().nearestCommand(command)
    const meant = near === command ? undefined : near
    process.stderr.write(
      `zmq-container: unknown command or argument "${[command, ...rest].join(' ')}"${meant ? `; did you mean ${meant}?` : ''}\n${usage()}\n`,
    )
    process.exitCode = EXIT.USAGE
    return
  }
  // Receive threads started early that nobody took (a start-up that failed or was stopped) may
  // still be loading zeromq's addon, and ending the process under that aborts it (134): each
  // first finishes loading (see receive-threads.ts). Otherwise at once, in this turn: nothing may
  // log after `stopped`.
  const exit = (code: ExitCode) => {
    // Only in the build's training run: the main thread's code cache, now that it holds the code
    // of a whole run (shared/bundle-loader.ts). Not after a failed one, which the build rejects.
    if (code === EXIT.OK) writeTrainedCodeCache()
    if (earlyThreadsLeft() === 0) process.exit(code)
    else void settleEarlyThreads().finally(() => process.exit(code))
  }
  run().then(
    ({ exitCode, kill }) => {
      // SIGKILL skips the worker teardown that would abort (134); the last log line is out.
      if (kill) process.kill(process.pid, 'SIGKILL')
      else exit(exitCode)
    },
    (error: unknown) => {
      process.stderr.write(`zmq-container: internal error: ${String(error)}\n`)
      exit(EXIT.INTERNAL)
    },
  )
}
