import type { InfoDocument, InfoSocket } from '../../shared/info-document'
import { clock, fixed } from '../format'
import type { InfoResult } from './fetch-info'

/** What `top` shows of one URL: its newest /info and the one before it, for rates. */
export interface UrlState {
  readonly url: string
  readonly current: InfoResult | undefined
  /** The last document before `current` that answered (rates need two). */
  readonly previous: InfoDocument | undefined
}

const HEADER = [
  'SOCKET',
  'KIND',
  'CLASS',
  'PEERS',
  'IN/s',
  'OUT/s',
  'P99',
  'RESTARTS',
  'STATE',
  'DROPS',
]

/**
 * The screen of `top`: per container a status line (readiness, uptime, the sample's time and
 * window), then a row per socket (msg/s in and out, p99 handler time, restarts, worker state,
 * drops by reason), each followed by a row per subscription (SUB) or declared topic (PUB). A URL that does not answer is
 * one line saying why; the others still show.
 */
export function renderTop(states: readonly UrlState[], intervalS: number): string[] {
  const lines = [
    `zmq-container top: ${states.length} container${states.length === 1 ? '' : 's'}, every ${intervalS} s (Ctrl-C quits)`,
  ]
  for (const state of states) {
    lines.push('')
    const r = state.current
    if (r === undefined) {
      lines.push(`${state.url}  waiting for the first answer`)
      continue
    }
    if (!r.ok) {
      lines.push(`${state.url}  NOT ANSWERING: ${r.problem}`)
      continue
    }
    lines.push(...containerLines(state.url, r.info, state.previous))
  }
  return lines
}

function containerLines(
  url: string,
  info: InfoDocument,
  previous: InfoDocument | undefined,
): string[] {
  // Rates only from two samples of the same process: a restarted container starts again at 0.
  const before =
    previous && previous.timeMs < info.timeMs && previous.uptimeMs <= info.uptimeMs
      ? previous
      : undefined
  const windowS = before ? (info.timeMs - before.timeMs) / 1000 : undefined
  const readiness =
    info.readiness.status +
    (info.readiness.reasons.length > 0 ? ` (${info.readiness.reasons.join('; ')})` : '') +
    (info.readiness.degraded.length > 0 ? ` (${info.readiness.degraded.join('; ')})` : '')
  const sample = `sample ${clock(info.timeMs)}${windowS === undefined ? '' : ` over ${fixed(windowS, 3)} s`}`
  const head = `${info.service}  ${url}  v${info.version}  ${readiness}  up ${Math.round(info.uptimeMs / 1000)} s  ${sample}`
  const rows: string[][] = [HEADER]
  for (const s of info.sockets) {
    const old = before?.sockets.find((o) => o.name === s.name && o.kind === s.kind)
    rows.push(socketRow(s, old, windowS))
    for (const [topic, n] of Object.entries(s.receivedByTopic ?? {})) {
      const was = old?.receivedByTopic?.[topic]
      rows.push([`  ${topic}`, 'topic', '', '', rate(n, was, windowS), '', '', '', '', ''])
    }
    if (s.kind === 'pub')
      for (const [topic, n] of Object.entries(s.publishedByTopic ?? {})) {
        const was = old?.publishedByTopic?.[topic]
        rows.push([
          `  ${topic}`,
          'topic',
          '',
          String(s.subscribersByTopic?.[topic] ?? ''),
          '',
          rate(n, was, windowS),
          '',
          '',
          '',
          '',
        ])
      }
  }
  return [head, ...table(rows).map((l) => `  ${l}`)]
}

function socketRow(
  s: InfoSocket,
  old: InfoSocket | undefined,
  windowS: number | undefined,
): string[] {
  const inbound = s.kind !== 'pub'
  return [
    s.name,
    s.kind.toUpperCase(),
    s.class,
    s.peers === null ? '?' : String(s.peers),
    inbound ? rate(s.received ?? 0, old?.received, windowS) : '',
    inbound ? '' : rate(s.published ?? 0, old?.published, windowS),
    inbound ? (s.p99Ms === null || s.p99Ms === undefined ? '-' : `${fixed(s.p99Ms, 2)}ms`) : '',
    String(s.restarts),
    s.state,
    drops(s.dropped ?? {}, old?.dropped),
  ]
}

/** Messages per second over the window, or `…` until there are two samples. */
function rate(now: number, before: number | undefined, windowS: number | undefined): string {
  if (before === undefined || windowS === undefined || windowS <= 0) return '…'
  return fixed(Math.max(0, now - before) / windowS, 1)
}

/** Non-zero drop totals by reason, with the increase since the last sample: `unsubscribed=12(+3)`. */
function drops(
  now: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>> | undefined,
): string {
  const parts = Object.entries(now)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => {
      const delta = before?.[reason] === undefined ? 0 : n - (before[reason] as number)
      return `${reason}=${n}${delta > 0 ? `(+${delta})` : ''}`
    })
  return parts.length === 0 ? '-' : parts.join(' ')
}

function table(rows: readonly string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
}
