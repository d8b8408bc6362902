import { TopicMatcher } from '../../shared/topics'
import { type ContainerView, pubSub, type SocketView, type Topology } from './model'

/**
 * The graph of a topology, independent of the output format: containers hold sockets; a topic
 * node sits between each publisher that declares it and each linked subscriber that takes it,
 * as rqt_graph draws ROS topics. A link whose publisher declares no topics is drawn socket to
 * socket. A subscribed topic with no publisher gets a dashed edge from its topic node.
 */
interface GraphModel {
  readonly containers: ReadonlyArray<{
    readonly id: string
    readonly label: string
    readonly sockets: ReadonlyArray<{ readonly id: string; readonly label: string }>
  }>
  readonly topics: ReadonlyArray<{ readonly id: string; readonly topic: string }>
  readonly edges: ReadonlyArray<{
    readonly from: string
    readonly to: string
    readonly label?: string
    readonly dashed?: boolean
  }>
}

function graphModel(topology: Topology): GraphModel {
  const ids = new Map<SocketView, string>()
  const containerId = (c: ContainerView, i: number) => `c${i}_${safe(c.name)}`
  const containers = topology.containers.map((c, i) => ({
    id: containerId(c, i),
    label: c.name,
    sockets: c.sockets.map((s) => {
      const id = `${containerId(c, i)}_${s.kind}_${safe(s.name)}`
      ids.set(s, id)
      const where = s.endpoints.map((e) => `${e.action === 'bind' ? '@' : '>'}${e.address}`)
      return {
        id,
        label: `${s.kind.toUpperCase()} ${s.name} · ${s.latencyClass}\n${where.join('\n')}`,
      }
    }),
  }))
  const topicIds = new Map<string, string>()
  const topicId = (topic: string) => {
    let id = topicIds.get(topic)
    if (!id) {
      id = `t_${safe(topic)}`
      topicIds.set(topic, id)
    }
    return id
  }
  const edges: Array<{ from: string; to: string; label?: string; dashed?: boolean }> = []
  const seen = new Set<string>()
  const edge = (from: string, to: string, extra: { label?: string; dashed?: boolean } = {}) => {
    const key = `${from}>${to}`
    if (seen.has(key)) return
    seen.add(key)
    edges.push({ from, to, ...extra })
  }
  const delivered = new Set<string>()
  for (const c of topology.containers) {
    for (const s of c.sockets) {
      if (s.kind !== 'pub') continue
      for (const t of s.topics) edge(ids.get(s) as string, topicId(t))
    }
  }
  for (const link of topology.links) {
    const ends = pubSub(link)
    if (!ends) {
      edge(ids.get(link.connector.socket) as string, ids.get(link.binder.socket) as string, {
        label: 'wrong kinds',
        dashed: true,
      })
      continue
    }
    const subId = ids.get(ends.sub.socket) as string
    if (ends.pub.socket.topics.length === 0) {
      edge(ids.get(ends.pub.socket) as string, subId, { label: 'undeclared topics' })
      continue
    }
    const matcher = new TopicMatcher(ends.sub.socket.topics)
    for (const t of ends.pub.socket.topics) {
      if (!matcher.matches(t)) continue
      edge(topicId(t), subId)
      delivered.add(`${t}>${subId}`)
    }
  }
  // Subscriptions nothing feeds: drawn, dashed, so the gap shows.
  for (const c of topology.containers) {
    for (const s of c.sockets) {
      if (s.kind !== 'sub') continue
      const subId = ids.get(s) as string
      for (const t of s.topics) {
        if (t.endsWith('.') || delivered.has(`${t}>${subId}`)) continue
        const fedWhole = topology.links.some((l) => {
          const ends = pubSub(l)
          return ends?.sub.socket === s && ends.pub.socket.topics.length === 0
        })
        if (!fedWhole) edge(topicId(t), subId, { label: 'no publisher', dashed: true })
      }
    }
  }
  const topics = [...topicIds].map(([topic, id]) => ({ id, topic }))
  return { containers, topics, edges }
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '_')
}

/** Mermaid flowchart source (renders in GitHub Markdown inside a ```mermaid block). */
export function toMermaid(topology: Topology): string {
  const g = graphModel(topology)
  const text = (s: string) => s.replace(/"/g, '#quot;').replace(/\n/g, '<br/>')
  const out = ['flowchart LR']
  for (const c of g.containers) {
    out.push(`  subgraph ${c.id}["${text(c.label)}"]`)
    for (const s of c.sockets) out.push(`    ${s.id}["${text(s.label)}"]`)
    out.push('  end')
  }
  for (const t of g.topics) out.push(`  ${t.id}(["${text(t.topic)}"])`)
  for (const e of g.edges) {
    const arrow = e.dashed ? '-.->' : '-->'
    const label = e.label ? `|"${text(e.label)}"|` : ''
    out.push(`  ${e.from} ${arrow}${label} ${e.to}`)
  }
  return `${out.join('\n')}\n`
}

/** Graphviz DOT source: a cluster per container, topics as ellipses. */
export function toDot(topology: Topology): string {
  const g = graphModel(topology)
  const q = (s: string) => JSON.stringify(s)
  const out = [
    'digraph zmq {',
    '  rankdir=LR;',
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ]
  for (const c of g.containers) {
    out.push(`  subgraph cluster_${c.id} {`, `    label=${q(c.label)};`, '    style=rounded;')
    for (const s of c.sockets) out.push(`    ${s.id} [shape=box, label=${q(s.label)}];`)
    out.push('  }')
  }
  for (const t of g.topics) out.push(`  ${t.id} [shape=ellipse, label=${q(t.topic)}];`)
  for (const e of g.edges) {
    const attrs = [
      ...(e.label ? [`label=${q(e.label)}`] : []),
      ...(e.dashed ? ['style=dashed'] : []),
    ]
    out.push(`  ${e.from} -> ${e.to}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`)
  }
  out.push('}')
  return `${out.join('\n')}\n`
}

/** SVG by Graphviz compiled to WebAssembly (@viz-js/viz): the layout is Graphviz's own. */
export async function toSvg(topology: Topology): Promise<string> {
  const { instance } = await import('@viz-js/viz')
  const viz = await instance()
  return viz.renderString(toDot(topology), { format: 'svg' })
}
