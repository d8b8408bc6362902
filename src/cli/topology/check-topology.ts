import { CLI_EXIT, type CliIo } from '../io'
import { type Finding, loadContainerViews } from './containers'
import { topologyFindings } from './findings'
import { TopologyFileError } from './load'
import { buildTopology, describeSocket, type Topology } from './model'

/**
 * `check FILE...` with several containers (or a compose file): each container's own checks,
 * then the checks between them. One line per finding, naming the file and the variable.
 * Exit 0 clean, 2 warnings only, 78 any error, 66 a file that cannot be read.
 */
export async function checkTopology(
  files: readonly string[],
  io: CliIo,
  json: boolean,
): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadContainerViews>>
  try {
    loaded = await loadContainerViews(files, io.env)
  } catch (error) {
    if (!(error instanceof TopologyFileError)) throw error
    io.stderr.write(`zmq-container check: ${error.message}\n`)
    return CLI_EXIT.NO_INPUT
  }
  const topology = buildTopology(loaded.views)
  const findings: Finding[] = [...loaded.findings, ...topologyFindings(topology)]
  const errors = findings.filter((f) => f.severity === 'error')
  const warnings = findings.filter((f) => f.severity === 'warning')
  const status = errors.length > 0 ? 'invalid' : warnings.length > 0 ? 'warnings' : 'ok'
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ status, files, ...describeTopology(topology), skipped: loaded.skipped, findings }, null, 2)}\n`,
    )
  } else {
    io.stdout.write(report(files, topology, warnings, errors.length, loaded.skipped))
    for (const e of errors) io.stderr.write(`zmq-container: ${findingLine(e)}\n`)
    if (errors.length > 0)
      io.stderr.write(
        `zmq-container: invalid topology (${errors.length} problem${errors.length === 1 ? '' : 's'}); exit ${CLI_EXIT.CONFIG_INVALID}\n`,
      )
  }
  if (errors.length > 0) return CLI_EXIT.CONFIG_INVALID
  return warnings.length > 0 ? CLI_EXIT.WARNINGS : CLI_EXIT.OK
}

/** `examples/x.env: ZMQ_SUB_TOPICS: subscribes to ...` */
export function findingLine(f: Finding): string {
  return `${f.file}: ${f.variable}: ${f.message}`
}

function describeTopology(topology: Topology) {
  return {
    containers: topology.containers.map((c) => ({
      name: c.name,
      file: c.label,
      hostNames: c.hostNames,
      sockets: c.sockets,
    })),
    links: topology.links.map((l) => ({
      from: { container: l.connector.container.name, socket: l.connector.socket.name },
      to: { container: l.binder.container.name, socket: l.binder.socket.name },
      address: l.address,
    })),
  }
}

function report(
  files: readonly string[],
  topology: Topology,
  warnings: readonly Finding[],
  errorCount: number,
  skipped: readonly string[],
): string {
  const out = [
    `topology: ${topology.containers.length} container${topology.containers.length === 1 ? '' : 's'} from ${files.join(', ')}`,
    '',
  ]
  if (skipped.length > 0)
    out.push(`not zmq-containers (no ZMQ_* variable), left out: ${skipped.join(', ')}`, '')
  for (const c of topology.containers) {
    out.push(`${c.name} (${c.label})`)
    for (const s of c.sockets) {
      const endpoints = s.endpoints.map((e) => `${e.action} ${e.address}`).join(', ')
      const topics = s.topics.length > 0 ? `  ${s.topics.join(', ')}` : ''
      out.push(`  ${s.kind.toUpperCase()} ${s.name} (${s.latencyClass}): ${endpoints}${topics}`)
    }
  }
  out.push('', 'links')
  if (topology.links.length === 0) out.push('  (none)')
  for (const l of topology.links)
    out.push(`  ${describeSocket(l.connector)} -> ${describeSocket(l.binder)} via ${l.address}`)
  out.push('')
  for (const w of warnings) out.push(`warning: ${findingLine(w)}`)
  if (errorCount > 0)
    out.push(
      `${errorCount} error${errorCount === 1 ? '' : 's'} (on stderr); exit ${CLI_EXIT.CONFIG_INVALID}`,
    )
  else
    out.push(
      warnings.length === 0
        ? 'ok: no findings between or within the containers'
        : `${warnings.length} warning${warnings.length === 1 ? '' : 's'}; exit ${CLI_EXIT.WARNINGS}`,
    )
  return `${out.join('\n')}\n`
}
