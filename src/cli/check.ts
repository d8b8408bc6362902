import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import {
  type Config,
  LATENCY_BUDGET_MS,
  loadConfig,
  type SocketSpec,
  THREAD_NICE_OFFSET,
} from '../shared/config'
import { ConfigError, type ConfigIssue, formatIssue, ZcError } from '../shared/errors'
import { loadService, resolveServicePath, serviceKeyIssues } from '../shared/service'
import { isPrefixSubscription } from '../shared/topics'
import { UsageError } from './args'
import { type CheckWarning, findWarnings } from './check-warnings'
import { defineCommand } from './command'
import { CLI_EXIT, type CliIo } from './io'
import { checkTopology } from './topology/check-topology'
import { isComposeFile } from './topology/load'

type Env = Record<string, string | undefined>

const HELP = `Usage: zmq-container check [--env-file FILE]... [--json]
       zmq-container check FILE... [--json]

Loads the configuration exactly as the container would (same variables, same errors) and prints
the resolved topology: each socket's direction, bind or connect, endpoints, topics, latency
class, limits and security (CURVE role and public keys; secret keys are never printed). Then
it warns about what is valid but probably wrong:

  prefix-collision    nav.pose on one SUB socket and nav.pose2 on another: libzmq delivers
                      nav.pose2 to both, and exact matching drops it on the first
  duplicate-endpoint  two sockets on one address
  role                an unmarked address written for the other role: a SUB connecting to
                      0.0.0.0, a PUB binding a peer's host name (mark with @ or >)
  undeclared-topics   a PUB socket without ZMQ_PUB_*_TOPICS
  curve-unused        ZMQ_CURVE_PUBLIC_KEY and the like: the container reads CURVE keys per
                      socket (ZMQ_PUB_CURVE_SECRET_KEY, ...), so these protect nothing
  unknown-variable    a ZC_*, ZMQ_* or HTTP_* variable the container does not read (ZC_SERVCE,
                      ZMQ_LINGER, HTTP_PROT), with the name it probably meant
  ipc-directory       an ipc:// endpoint whose directory does not exist here

It also loads ZC_SERVICE as the container would: a service that does not resolve or load, or
whose handlers/replies keys name no socket of their kind, is an error (exit 78).

Options:
  --env-file FILE   read variables from FILE (KEY=VALUE lines, as Docker's env_file); its values
                    win over the environment; repeat for several files, later ones win
  --json            print the topology, warnings and errors as one JSON object on stdout
  -h, --help        show this help

Exit codes: 0 valid, no warnings; 2 valid with warnings; 78 invalid (one line per variable on
stderr, as the container prints them); 66 an env file cannot be read; 64 bad arguments.
Node itself looks at every --env-file argument, even after the script name, without loading
it: a missing or malformed FILE ends the process before check runs, with
"node: FILE: not found" and exit 9 (nodejs/node#54232).

A service's own variables (CAMERA_FPS, ...) are checked when the service starts, not here.

Topology: FILE... names several containers: each env file is one container (named after its
directory: examples/camera/.env is camera), and a compose.yaml one per service (its env_file(s),
then environment over them, as Compose merges them; service names resolve as hosts). Each
container gets the checks above, then the checks between them:

  unreached-connect   error: a connect endpoint that no container in the set binds
  kind-mismatch       error: a SUB connecting to a REP, a PUB to a PUB, ...
  duplicate-bind      error: two containers bind one ipc path or one tcp IP:port
  class-mismatch      error: a subscriber and its publisher disagree on the latency class
  no-publisher        error: a subscribed topic that no linked publisher declares
  unsubscribed-topic  warning: a declared topic that no linked subscriber takes
  prefix-matches-nothing
                      warning: a prefix subscription (camera.) no linked publisher's topic has
  envelope-unread     warning: a SUB without _ENVELOPE=true linked to a PUB that sends the
                      envelope frame: it would drop every such message (bad_frames)

One line per finding: FILE: VARIABLE: message (errors on stderr). One FILE that is an env file
is the single-container check above, over the environment, as with --env-file.

Examples:
  zmq-container check --env-file examples/camera/.env
  zmq-container check examples/camera/.env examples/dashboard/.env
  zmq-container check compose.yaml --json
  docker compose run --rm camera node dist/main.js check   # in the image, with its env
  zmq-container check --env-file .env --json | jq '.warnings[].message'`

export const check = defineCommand({
  name: 'check',
  summary: 'validate the env as the container would; print topology and warnings',
  help: HELP,
  options: {
    'env-file': { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0 && values['env-file'])
      throw new UsageError(
        'give env files as FILE... (one container each) or as --env-file (merged into one), not both',
      )
    // One env file is one container: today's check of it, over the environment.
    if (positionals.length > 1 || positionals.some(isComposeFile))
      return checkTopology(positionals, io, values.json === true)
    const files = values['env-file'] ?? positionals
    const env: Env = { ...io.env }
    for (const file of files) {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (error) {
        io.stderr.write(`zmq-container check: cannot read ${file}: ${(error as Error).message}\n`)
        return CLI_EXIT.NO_INPUT
      }
      // Like Docker's env_file: the file's values are what the container sees, so they win.
      Object.assign(env, parseEnv(text))
    }

    let config: Config
    try {
      config = loadConfig(env)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      reportErrors(io, error.issues)
      if (values.json) writeJson(io, { status: 'invalid', files, errors: error.issues })
      return CLI_EXIT.CONFIG_INVALID
    }

    const serviceIssues = await checkService(config)
    if (serviceIssues.length > 0) {
      reportErrors(io, serviceIssues)
      if (values.json) writeJson(io, { status: 'invalid', files, errors: serviceIssues })
      return CLI_EXIT.CONFIG_INVALID
    }

    const warnings = findWarnings(config, env)
    const status = warnings.length > 0 ? 'warnings' : 'ok'
    if (values.json) {
      writeJson(io, { status, files, ...describe(config, env), warnings, errors: [] })
    } else {
      io.stdout.write(report(config, env, files, warnings))
    }
    return warnings.length > 0 ? CLI_EXIT.WARNINGS : CLI_EXIT.OK
  },
})

/**
 * Loads ZC_SERVICE as the container's start-up does, and checks its handler and reply keys
 * against the configured sockets. Loading runs the module's top-level code, as start-up would.
 */
async function checkService(config: Config): Promise<ConfigIssue[]> {
  try {
    const service = await loadService(resolveServicePath(config.service))
    return serviceKeyIssues(service, config.sockets)
  } catch (error) {
    if (!(error instanceof ZcError)) throw error
    return [
      { variable: 'ZC_SERVICE', problem: error.message.replace(/^ZC_SERVICE: /, ''), example: '' },
    ]
  }
}

/** The container's own format (main.ts), so `check` and a failed start read the same. */
function reportErrors(io: CliIo, issues: readonly ConfigIssue[]): void {
  for (const issue of issues) io.stderr.write(`zmq-container: ${formatIssue(issue)}\n`)
  io.stderr.write(
    `zmq-container: invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}); exit ${CLI_EXIT.CONFIG_INVALID}\n`,
  )
}

function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** The SocketSpec fields shown on their own lines; any others (added later) are listed as is. */
const SHOWN_SOCKET_FIELDS = new Set([
  'kind',
  'name',
  'envPrefix',
  'latencyClass',
  'endpoints',
  'topics',
  'curve',
])

/**
 * The resolved configuration as plain data, with the applied latency-class defaults marked.
 * Settings pass through whole, so a new tunable shows up without a change here; secrets never
 * do (see {@link redact}).
 */
function describe(config: Config, env: Env) {
  const { sockets, service, logLevel, ...settings } = config
  return {
    sockets: sockets.map((s) => ({
      ...(redact(s) as object),
      latencyBudgetMs: LATENCY_BUDGET_MS[s.latencyClass],
      latencyClassDefaulted: env[`${s.envPrefix}_CLASS`] === undefined,
      // JSON drops undefined; null says "plaintext".
      curve: s.curve ? redact(s.curve) : null,
    })),
    service: service ?? null,
    logLevel,
    // null says "off" (no heartbeat, no HTTP listener).
    settings: Object.fromEntries(
      Object.entries(settings).map(([k, v]) => [k, v === undefined ? null : redact(v)]),
    ),
  }
}

/**
 * A copy without secret values: any field whose name says secret shows only that it is set.
 * The config holds CURVE secret keys, and check's output lands in CI logs and terminals.
 */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, /secret/i.test(k) ? '(set, not shown)' : redact(v)]),
  )
}

function report(
  config: Config,
  env: Env,
  files: readonly string[],
  warnings: readonly CheckWarning[],
): string {
  const source =
    files.length === 0
      ? 'the environment'
      : `${files.join(', ')} over the environment (file values win)`
  const { sockets, service, logLevel, ...settings } = config
  const out: string[] = [`configuration: ${source}`, '']
  for (const s of sockets) out.push(...socketLines(s, env, config.threadPriority))
  out.push('', 'settings')
  const width = Math.max(...Object.keys(settings).map((k) => k.length))
  for (const [key, value] of Object.entries(settings))
    out.push(`  ${key.padEnd(width)}  ${showValue(value)}`)
  out.push(
    '',
    `service    ${service ?? 'none (the logging service)'}`,
    `log level  ${logLevel}`,
    '',
  )
  for (const w of warnings) out.push(`warning: ${w.variable}: ${w.message}`)
  out.push(
    warnings.length === 0
      ? 'ok: valid, no warnings'
      : `${warnings.length} warning${warnings.length === 1 ? '' : 's'}; exit ${CLI_EXIT.WARNINGS}`,
  )
  return `${out.join('\n')}\n`
}

function showValue(value: unknown): string {
  if (value === undefined || value === null) return 'off'
  const safe = redact(value)
  return typeof safe === 'object' ? JSON.stringify(safe) : String(safe)
}

function socketLines(s: SocketSpec, env: Env, threadPriority: boolean): string[] {
  const defaulted = env[`${s.envPrefix}_CLASS`] === undefined ? ', default' : ''
  const lines = [
    `${s.kind.toUpperCase()} ${s.name} (${s.envPrefix}_*): ${s.latencyClass} class, ${LATENCY_BUDGET_MS[s.latencyClass]} ms budget${defaulted}`,
  ]
  for (const e of s.endpoints) {
    const marker = e.explicit ? ` (marked ${e.action === 'bind' ? '@' : '>'})` : ''
    lines.push(`  ${e.action.padEnd(8)} ${e.address}${marker}`)
  }
  if (s.kind === 'sub' || s.topics.length > 0) {
    const topics = s.topics
      .map((t) => (s.kind === 'sub' && isPrefixSubscription(t) ? `${t} (prefix)` : t))
      .join(', ')
    lines.push(`  ${'topics'.padEnd(8)} ${topics}${s.kind === 'pub' ? ' (declared)' : ''}`)
  } else if (s.kind === 'pub') {
    lines.push(`  ${'topics'.padEnd(8)} (none declared)`)
  }
  lines.push(`  ${'security'.padEnd(8)} ${securityLine(s.curve)}`)
  const limits = Object.entries(s)
    .filter(([key]) => !SHOWN_SOCKET_FIELDS.has(key) && key !== 'sliceUs')
    .map(([key, value]) =>
      key === 'nice' ? `nice ${niceLine(s, threadPriority)}` : `${key} ${showValue(value)}`,
    )
  if (s.kind !== 'pub') limits.push(`slice ${sliceLine(s, threadPriority)}`)
  if (limits.length > 0) lines.push(`  ${'limits'.padEnd(8)} ${limits.join(', ')}`)
  return lines
}

/**
 * The receive thread's nice as the worker will set it (worker/thread-priority.ts): `_NICE` when
 * given, else the class's offset over the process's own nice. A PUB has no thread of its own.
 */
function niceLine(s: SocketSpec, threadPriority: boolean): string {
  if (s.kind === 'pub') return 'n/a (the main thread)'
  if (!threadPriority) return "the process's own (ZC_THREAD_PRIORITY=false)"
  if (s.nice !== undefined) return `${s.nice} (${s.envPrefix}_NICE)`
  const offset = THREAD_NICE_OFFSET[s.latencyClass]
  return `+${offset} over the process's own (${s.latencyClass} class)`
}

/** The receive thread's scheduler slice as the worker will ask for it (worker/thread-priority.ts). */
function sliceLine(s: SocketSpec, threadPriority: boolean): string {
  if (!threadPriority) return "the kernel's own (ZC_THREAD_PRIORITY=false)"
  return s.sliceUs ? `${s.sliceUs} µs (${s.envPrefix}_SLICE_US)` : "the kernel's own"
}

/** The CURVE role and public keys; the secret key is never printed. */
function securityLine(curve: SocketSpec['curve']): string {
  if (!curve) return 'plaintext (no CURVE keys)'
  if (curve.role === 'server') return `CURVE server, public key ${curve.publicKey}`
  return `CURVE client, public key ${curve.publicKey}, server key ${curve.serverKey}`
}
