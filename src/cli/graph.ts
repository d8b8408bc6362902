import { writeFile } from 'node:fs/promises'
import { integerOption, UsageError } from './args'
import { defineCommand } from './command'
import { CLI_EXIT, note } from './io'
import { fetchInfo, infoToView } from './live/fetch-info'
import { findingLine } from './topology/check-topology'
import { loadContainerViews } from './topology/containers'
import { TopologyFileError } from './topology/load'
import { buildTopology, type ContainerView } from './topology/model'
import { toDot, toMermaid, toSvg } from './topology/render'

const FORMATS = ['mermaid', 'dot', 'svg'] as const
type Format = (typeof FORMATS)[number]

const HELP = `Usage: zmq-container graph FILE... [--format mermaid|dot|svg] [--out F]
       zmq-container graph --live URL... [--format mermaid|dot|svg] [--out F]

Draws a topology: each container with its sockets (kind, name, latency class, endpoints), a
node per topic, and arrows from each publisher through the topic to each subscriber that is
linked to it and takes it. A subscribed topic that nothing feeds gets a dashed "no publisher"
arrow. FILE... are env files and compose files, read as \`zmq-container check FILE...\` does.

--live reads each running container's /info (HTTP_PORT) instead: http://camera:9464. A URL
that does not answer is named on stderr, and the graph draws the others (exit 69 if none
answers).

Formats: mermaid (default; renders in GitHub Markdown in a \`\`\`mermaid block), dot (Graphviz),
svg (Graphviz's own layout, compiled to WebAssembly: no dot binary needed).

Options:
  --format F     mermaid (default), dot or svg
  --out F        write to file F instead of stdout
  --live         the arguments are URLs of running containers
  --timeout MS   --live: how long each URL may take (default 2000)
  -h, --help     show this help

Exit codes: 0 drawn; 64 bad arguments; 66 a FILE cannot be read; 69 --live and no URL
answers; 73 --out cannot be written; 78 a container's configuration is invalid (as check).

Examples:
  zmq-container graph examples/camera/.env examples/dashboard/.env
  zmq-container graph compose.yaml --format svg --out topology.svg
  zmq-container graph --live http://camera:9464 http://dashboard:9464 --format dot`

export const graph = defineCommand({
  name: 'graph',
  summary: 'draw the topology of env files, a compose file or running containers',
  help: HELP,
  options: {
    format: { type: 'string' },
    out: { type: 'string', short: 'o' },
    live: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw new UsageError(values.live ? 'missing URL' : 'missing FILE')
    const format = (values.format ?? 'mermaid') as Format
    if (!FORMATS.includes(format))
      throw new UsageError(`--format is "${values.format}"; it must be ${FORMATS.join(', ')}`)
    const timeoutMs =
      values.timeout === undefined ? 2000 : integerOption('--timeout', values.timeout, 1)

    let views: ContainerView[]
    if (values.live) {
      const results = await Promise.all(positionals.map((url) => fetchInfo(url, timeoutMs)))
      views = []
      for (const r of results) {
        if (r.ok) views.push(infoToView(r))
        else note(io, 'graph', `${r.url}: ${r.problem}`)
      }
      if (views.length === 0) return CLI_EXIT.UNAVAILABLE
    } else {
      try {
        const loaded = await loadContainerViews(positionals, io.env)
        const errors = loaded.findings.filter((f) => f.severity === 'error')
        if (errors.length > 0) {
          for (const e of errors) io.stderr.write(`zmq-container: ${findingLine(e)}\n`)
          return CLI_EXIT.CONFIG_INVALID
        }
        views = loaded.views
      } catch (error) {
        if (!(error instanceof TopologyFileError)) throw error
        note(io, 'graph', error.message)
        return CLI_EXIT.NO_INPUT
      }
    }

    const topology = buildTopology(views)
    const text =
      format === 'svg'
        ? await toSvg(topology)
        : format === 'dot'
          ? toDot(topology)
          : toMermaid(topology)
    if (values.out === undefined) {
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
      return CLI_EXIT.OK
    }
    try {
      await writeFile(values.out, text)
    } catch (error) {
      note(io, 'graph', `cannot write ${values.out}: ${(error as Error).message}`)
      return CLI_EXIT.CANNOT_CREATE
    }
    return CLI_EXIT.OK
  },
})
