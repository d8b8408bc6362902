import { type Config, loadConfig } from '../../shared/config'
import { ConfigError, ZcError } from '../../shared/errors'
import { loadService, resolveServicePath, serviceKeyIssues } from '../../shared/service'
import { findWarnings } from '../check-warnings'
import type { TopologyFinding } from './findings'
import { type ContainerSource, isZmqContainer, loadContainers } from './load'
import type { ContainerView } from './model'

/** A finding of one container on its own: `check`'s single-container errors and warnings. */
export interface ContainerFinding {
  readonly severity: 'error' | 'warning'
  readonly kind: string
  readonly file: string
  readonly variable: string
  readonly message: string
}

export type Finding = ContainerFinding | TopologyFinding

export interface LoadedContainers {
  /** The containers whose configuration loaded; one that failed is left out of the topology. */
  readonly views: ContainerView[]
  readonly findings: ContainerFinding[]
  /** Compose services left out: they set no ZMQ_* variable. */
  readonly skipped: string[]
}

/**
 * Loads each container's configuration as the container would (loadConfig, then ZC_SERVICE and
 * its handler keys) and turns it into a {@link ContainerView}. Throws TopologyFileError for a
 * file that cannot be read.
 */
export async function loadContainerViews(
  files: readonly string[],
  hostEnv: Readonly<Record<string, string | undefined>>,
): Promise<LoadedContainers> {
  const views: ContainerView[] = []
  const findings: ContainerFinding[] = []
  const skipped: string[] = []
  for (const source of loadContainers(files, hostEnv)) {
    if (source.label !== source.file && !isZmqContainer(source)) {
      skipped.push(source.label)
      continue
    }
    let config: Config
    try {
      config = loadConfig(source.env)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      for (const issue of error.issues)
        findings.push(errorOf(source, issue.variable, issue.problem))
      continue
    }
    for (const issue of await serviceIssues(config))
      findings.push(errorOf(source, issue.variable, issue.problem))
    for (const w of findWarnings(config, source.env))
      findings.push({
        severity: 'warning',
        kind: w.kind,
        file: source.label,
        variable: w.variable,
        message: w.message,
      })
    views.push(viewOf(source, config))
  }
  return { views, findings, skipped }
}

function errorOf(source: ContainerSource, variable: string, problem: string): ContainerFinding {
  return { severity: 'error', kind: 'invalid', file: source.label, variable, message: problem }
}

function viewOf(source: ContainerSource, config: Config): ContainerView {
  return {
    name: source.name,
    label: source.label,
    hostNames: source.hostNames,
    sockets: config.sockets.map((s) => ({
      kind: s.kind,
      name: s.name,
      envPrefix: s.envPrefix,
      latencyClass: s.latencyClass,
      endpoints: s.endpoints.map((e) => ({ address: e.address, action: e.action })),
      topics: s.topics,
      envelope: s.envelope === true,
    })),
  }
}

/** ZC_SERVICE loads as at start-up, and its handler keys name sockets of their kind. */
export async function serviceIssues(
  config: Config,
): Promise<Array<{ variable: string; problem: string }>> {
  try {
    const service = await loadService(resolveServicePath(config.service))
    return serviceKeyIssues(service, config.sockets)
  } catch (error) {
    if (!(error instanceof ZcError)) throw error
    return [{ variable: 'ZC_SERVICE', problem: error.message.replace(/^ZC_SERVICE: /, '') }]
  }
}
