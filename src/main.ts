import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { loadConfig } from './config'
import { ConfigError, ZcError } from './errors'
import { EXIT, type ExitCode } from './exit-codes'
import { createLogger } from './logger'
import { Supervisor } from './supervisor'

/**
 * `node dist/main.js`: the container process. The only module that touches `process`: signals,
 * fatal-error hooks and the exit code.
 */
export async function runContainer(): Promise<ExitCode> {
  const startedAt = performance.now()
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    reportConfigError(error)
    return EXIT.CONFIG_INVALID
  }

  const log = createLogger(config.logLevel, { name: 'zmq-container' })
  const supervisor = new Supervisor(config, { log })
  let stopping: Promise<ExitCode> | undefined
  // The exit code comes from an orderly stop, or from a second signal, whichever ends first.
  let stopped: (code: Promise<ExitCode>) => void = () => {}
  let forced: (code: ExitCode) => void = () => {}
  const finished = Promise.race([
    new Promise<ExitCode>((resolve) => {
      stopped = resolve
    }),
    new Promise<ExitCode>((resolve) => {
      forced = resolve
    }),
  ])

  const stop = (reason: 'signal' | 'fatal', code: ExitCode): Promise<ExitCode> => {
    if (!stopping) {
      stopping = supervisor
        .close(reason)
        .then((result) => (!result.clean && code === EXIT.OK ? EXIT.SHUTDOWN_TIMEOUT : code))
      stopped(stopping)
    }
    return stopping
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      log.info({ signal }, 'shutdown requested')
      void stop('signal', EXIT.OK)
      return
    }
    log.warn({ signal }, 'second signal: stopping now')
    const code = signal === 'SIGINT' ? EXIT.FORCED_SIGINT : EXIT.FORCED_SIGTERM
    void supervisor.abort().then(() => forced(code))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const onFatal = (error: unknown) => {
    log.fatal({ err: error }, 'uncaught error in main thread')
    void stop('fatal', EXIT.INTERNAL)
  }
  process.on('uncaughtException', onFatal)
  process.on('unhandledRejection', onFatal)

  supervisor.on('workerFailed', (socket, error) => {
    log.error({ socket, err: error }, 'receive worker failed; shutting down')
    void stop('fatal', EXIT.WORKER_FAILED)
  })

  log.info(
    {
      version: packageVersion(),
      sockets: config.sockets.map((s) => `${s.kind}:${s.name}:${s.latencyClass}`),
      service: config.service ?? 'logging',
    },
    'starting',
  )
  try {
    const started = await supervisor.start()
    if (started) {
      log.info({ startupMs: Math.round(performance.now() - startedAt) }, 'ready')
    }
  } catch (error) {
    // A service's own variables are configuration too (the camera's CAMERA_FPS, say).
    if (error instanceof ConfigError) {
      reportConfigError(error)
      void stop('fatal', EXIT.CONFIG_INVALID)
    } else {
      log.fatal(
        { err: error, code: error instanceof ZcError ? error.code : undefined },
        'start-up failed',
      )
      void stop('fatal', EXIT.STARTUP_FAILED)
    }
  }

  // The container runs until a signal, a fatal error or a failed start-up starts a stop.
  const exitCode = await finished
  log.info({ exitCode, uptimeMs: Math.round(performance.now() - startedAt) }, 'stopped')
  return exitCode
}

/** One line per bad variable on stderr, no stack trace. */
function reportConfigError(error: ConfigError): void {
  for (const line of error.message.split('\n')) process.stderr.write(`zmq-container: ${line}\n`)
  process.stderr.write(
    `zmq-container: invalid configuration (${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}); exit ${EXIT.CONFIG_INVALID}\n`,
  )
}

const USAGE = `Usage: zmq-container [run]

Runs the container described by the environment (see README "Configuration").

Commands:
  run          start the container (the default)
  --help, -h   show this help
  --version    print the version`

/** The process entry behind `node dist/main.js` and the `zmq-container` binary. */
export function main(argv: readonly string[]): void {
  const [command = 'run', ...rest] = argv
  let run: () => Promise<ExitCode>
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  } else if (command === '--version') {
    process.stdout.write(`${packageVersion()}\n`)
    return
  } else if (command === 'run' && rest.length === 0) {
    run = runContainer
  } else {
    process.stderr.write(
      `zmq-container: unknown command or argument "${[command, ...rest].join(' ')}"\n${USAGE}\n`,
    )
    process.exitCode = EXIT.USAGE
    return
  }
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`zmq-container: internal error: ${String(error)}\n`)
      process.exit(EXIT.INTERNAL)
    },
  )
}

/** The version in package.json, found from src/ (tsx) or dist/src/ (built) alike. */
function packageVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  }
  return 'unknown'
}
