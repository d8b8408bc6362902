import os from 'node:os'

/** A goal of an issue (8, 11, 14) and whether this run met it (undefined: not measured). */
export interface Goal {
  readonly scenario: string
  readonly goal: string
  readonly measured: string
  /** undefined: could not be measured; null: no target, reported only. */
  readonly met: boolean | undefined | null
}

export interface ChartSeries {
  readonly label: string
  /** Latency in microseconds at each of the chart's percentiles. */
  readonly values: readonly number[]
}

export interface ChartPanel {
  readonly title: string
  readonly series: readonly ChartSeries[]
}

/** The percentiles the chart plots, left to right. */
export const CHART_PERCENTILES = [50, 90, 99, 99.9, 99.99, 100] as const
export const CHART_LABELS = ['p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max']

export interface Section {
  readonly id: string
  readonly title: string
  readonly loadStart: readonly number[]
  readonly loadEnd: readonly number[]
  readonly seconds: number
  /** Markdown blocks: tables and notes. */
  readonly body: string[]
  readonly goals: Goal[]
  readonly charts: ChartPanel[]
  readonly raw: unknown
}

export function loadavg(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100)
}

export function table(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const line = (cells: ReadonlyArray<string | number>) => `| ${cells.join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

/** A number with about three significant digits. */
export function num(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a'
  const a = Math.abs(x)
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toFixed(3)
}

/** Microseconds, shown in ms from 10 ms up. */
export function us(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a'
  return x >= 10_000 ? `${num(x / 1000)} ms` : `${num(x)} µs`
}

export function ratio(x: number | undefined, base: number | undefined): string {
  if (
    x === undefined ||
    base === undefined ||
    !Number.isFinite(x) ||
    !Number.isFinite(base) ||
    base === 0
  )
    return 'n/a'
  return `${num(x / base)}x`
}

/** The goals as one Markdown list. */
export function goalList(goals: readonly Goal[]): string {
  return goals.map((g) => `- ${g.goal}: ${g.measured}, ${mark(g.met)}`).join('\n')
}

export function mark(met: boolean | undefined | null): string {
  if (met === null) return 'reported'
  return met === undefined ? 'not measured' : met ? 'met' : '**missed**'
}

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const COLORS = ['#1b6ac9', '#e03131', '#f08c00', '#862e9c', '#0ca678', '#495057', '#2b8a3e']

/** Latency percentiles per design: one panel per measurement, log scale, lines per design. */
export function svgChart(panels: readonly ChartPanel[]): string {
  const width = 860
  const panelHeight = 300
  const margin = { left: 70, right: 300, top: 34, bottom: 36 }
  const plotW = width - margin.left - margin.right
  const plotH = panelHeight - margin.top - margin.bottom
  const parts: string[] = []
  // One colour per design across every panel, in order of first appearance.
  const colors = new Map<string, string>()
  for (const s of panels.flatMap((p) => p.series))
    if (!colors.has(s.label)) colors.set(s.label, COLORS[colors.size % COLORS.length] as string)
  panels.forEach((panel, p) => {
    const y0 = p * panelHeight
    const values = panel.series.flatMap((s) => s.values).filter((v) => v > 0 && Number.isFinite(v))
    if (values.length === 0) return
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)))
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)))
    const decades = Math.max(1, Math.log10(hi / lo))
    const x = (i: number) => margin.left + (plotW * i) / (CHART_LABELS.length - 1)
    const y = (v: number) =>
      y0 + margin.top + plotH - (plotH * Math.log10(Math.max(v, lo) / lo)) / decades
    parts.push(
      `<text x="${margin.left}" y="${y0 + 20}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    )
    for (let d = 0; d <= decades; d++) {
      const v = lo * 10 ** d
      const label = v >= 1000 ? `${v / 1000} ms` : `${v} µs`
      parts.push(
        `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${label}</text>`,
      )
    }
    CHART_LABELS.forEach((label, i) => {
      parts.push(
        `<line x1="${x(i)}" x2="${x(i)}" y1="${y0 + margin.top}" y2="${y0 + margin.top + plotH}" stroke="#eee"/>`,
        `<text x="${x(i)}" y="${y0 + margin.top + plotH + 16}" text-anchor="middle" font-size="11">${label}</text>`,
      )
    })
    panel.series.forEach((s, k) => {
      const color = colors.get(s.label)
      const pts = s.values
        .map((v, i) => (v > 0 && Number.isFinite(v) ? `${x(i)},${y(v)}` : undefined))
        .filter(Boolean)
        .join(' ')
      parts.push(
        `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`,
        `<rect x="${margin.left + plotW + 14}" y="${y0 + margin.top + k * 18}" width="12" height="3" fill="${color}"/>`,
        `<text x="${margin.left + plotW + 32}" y="${y0 + margin.top + k * 18 + 5}" font-size="11">${escapeXml(s.label)}</text>`,
      )
    })
  })
  const height = panels.length * panelHeight
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`
}
