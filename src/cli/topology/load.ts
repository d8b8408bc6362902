import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseEnv } from 'node:util'
import { parseDocument } from 'yaml'
import { InterpolationError, interpolateAll } from './interpolate'

type Env = Record<string, string | undefined>

/** One container of a topology, as the files describe it: its variables and where they came from. */
export interface ContainerSource {
  /** The compose service name, or for an env file its directory name (`camera` for camera/.env). */
  readonly name: string
  /** The file named on the command line (an env file, or the compose file). */
  readonly file: string
  /** How a finding names this container: the file, plus the service for compose. */
  readonly label: string
  /** The container's environment, as the container would see it. */
  readonly env: Env
  /** Names that resolve to this container: its compose service name (and aliases), or its name. */
  readonly hostNames: readonly string[]
}

/** A file that cannot be read or parsed: check exits 66 with this one line. */
export class TopologyFileError extends Error {
  override readonly name = 'TopologyFileError'
}

/** True for a file that `check`/`graph` read as Compose rather than as an env file. */
export function isComposeFile(file: string): boolean {
  return /\.ya?ml$/i.test(file)
}

/**
 * The containers the files describe: an env file is one container, a compose file one per
 * service. `hostEnv` fills list-form `environment` entries without a value (`- FOO`), as
 * Compose takes those from the shell.
 */
export function loadContainers(files: readonly string[], hostEnv: Env): ContainerSource[] {
  return files.flatMap((file) =>
    isComposeFile(file) ? composeContainers(file, hostEnv) : [envFileContainer(file)],
  )
}

/**
 * A compose service with no ZMQ_* variable is not a zmq-container (a database, a proxy): it is
 * left out of the topology rather than reported as a container with no socket.
 */
export function isZmqContainer(source: ContainerSource): boolean {
  return Object.keys(source.env).some((k) => k.startsWith('ZMQ_'))
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new TopologyFileError(`cannot read ${file}: ${(error as Error).message}`)
  }
}

/** Dotenv syntax by Node's own parser (the one `node --env-file` uses). */
function readEnvFile(file: string): Env {
  return parseEnv(readText(file))
}

function envFileContainer(file: string): ContainerSource {
  const env = readEnvFile(file)
  const base = path.basename(file)
  // camera/.env and camera/loopback.env are the camera; camera.env is the camera too.
  const name =
    base.startsWith('.') || base === 'loopback.env'
      ? path.basename(path.dirname(path.resolve(file)))
      : base.replace(/\.env$/, '')
  const hostNames = [...new Set([name, env.ZC_SERVICE].filter((n): n is string => !!n))]
  return { name, file, label: file, env, hostNames }
}

interface ComposeService {
  env_file?: unknown
  environment?: unknown
  networks?: unknown
  hostname?: unknown
  container_name?: unknown
}

/**
 * Services of a compose file, each with its env merged as Compose does: the `env_file`s in order
 * (later ones win), then `environment` (map or list form) over them. YAML anchors and merge keys
 * (`<<: *container`) resolve as in Compose, and so does `${VAR}` interpolation (see interpolate).
 */
function composeContainers(file: string, hostEnv: Env): ContainerSource[] {
  const doc = parseDocument(readText(file), { merge: true })
  if (doc.errors.length > 0)
    throw new TopologyFileError(`cannot parse ${file}: ${doc.errors[0]?.message.split('\n')[0]}`)
  const dir = path.dirname(file)
  // Compose interpolates from the shell, then the project's .env beside the compose file.
  const projectEnv = path.join(dir, '.env')
  const variables = { ...(existsSync(projectEnv) ? readEnvFile(projectEnv) : {}), ...hostEnv }
  let root: { services?: Record<string, ComposeService> }
  try {
    root = interpolateAll(doc.toJS({ maxAliasCount: 1000 }), variables) as typeof root
  } catch (error) {
    if (!(error instanceof InterpolationError)) throw error
    throw new TopologyFileError(`cannot interpolate ${file}: ${error.message}`)
  }
  const services = root?.services
  if (!services || typeof services !== 'object')
    throw new TopologyFileError(`${file} has no services: it is not a compose file`)
  return Object.entries(services).map(([name, service]) => {
    const env: Env = {}
    for (const envFile of envFileList(service.env_file)) {
      const where = path.join(dir, envFile.path)
      // Compose skips a missing `required: false` file; a required one that is missing fails.
      if (!envFile.required && !existsSync(where)) continue
      Object.assign(env, readEnvFile(where))
    }
    Object.assign(env, environmentOf(service.environment, hostEnv))
    const hostNames = [name, service.hostname, service.container_name, ...aliasesOf(service)]
    return {
      name,
      file,
      label: `${file} (${name})`,
      env,
      hostNames: [...new Set(hostNames.filter((n): n is string => typeof n === 'string'))],
    }
  })
}

/** `env_file: a.env`, `[a.env, b.env]`, or the long form `[{path: a.env, required: false}]`. */
function envFileList(value: unknown): Array<{ path: string; required: boolean }> {
  if (value === undefined || value === null) return []
  const items = Array.isArray(value) ? value : [value]
  return items.flatMap((item) => {
    if (typeof item === 'string') return [{ path: item, required: true }]
    const entry = item as { path?: unknown; required?: unknown }
    return typeof entry?.path === 'string'
      ? [{ path: entry.path, required: entry.required !== false }]
      : []
  })
}

function environmentOf(value: unknown, hostEnv: Env): Env {
  if (value === undefined || value === null) return {}
  if (Array.isArray(value)) {
    const env: Env = {}
    for (const item of value) {
      const text = String(item)
      const eq = text.indexOf('=')
      if (eq === -1) env[text] = hostEnv[text]
      else env[text.slice(0, eq)] = text.slice(eq + 1)
    }
    return env
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      // `FOO:` (null) takes the shell's value, as `- FOO` does.
      v === null ? hostEnv[k] : String(v),
    ]),
  )
}

/** Network aliases (`networks: {vision: {aliases: [cam]}}`) resolve to the service too. */
function aliasesOf(service: ComposeService): string[] {
  const networks = service.networks
  if (!networks || typeof networks !== 'object' || Array.isArray(networks)) return []
  return Object.values(networks as Record<string, { aliases?: unknown } | null>).flatMap((n) =>
    Array.isArray(n?.aliases) ? n.aliases.map(String) : [],
  )
}
