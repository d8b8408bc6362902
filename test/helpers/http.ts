// HTTP probes against a container's health listener, and a strict reader for the Prometheus text
// exposition format (0.0.4), so a test fails on a malformed scrape, not only on a wrong number.

export interface HttpAnswer {
  status: number
  body: string
}

/** GET `path` on 127.0.0.1:`port`; fails after `timeoutMs` rather than hanging the test. */
export async function get(port: number, path: string, timeoutMs = 2000): Promise<HttpAnswer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(timeoutMs),
  })
  return { status: response.status, body: await response.text() }
}

/** GET a JSON health route (/livez, /readyz): status plus the parsed body. */
export async function probe(
  port: number,
  path: '/livez' | '/readyz',
): Promise<{
  status: number
  /** The body's status word: `ok`, `degraded`, `not ready`, `failing`. */
  state: string
  reasons: string[]
  degraded: string[]
  body: string
}> {
  const { status, body } = await get(port, path)
  const parsed = JSON.parse(body) as { status?: string; reasons?: string[]; degraded?: string[] }
  return {
    status,
    state: parsed.status ?? '',
    reasons: parsed.reasons ?? [],
    degraded: parsed.degraded ?? [],
    body,
  }
}

export type Labels = Record<string, string>

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, ... for a histogram). */
  name: string
  labels: Labels
  value: number
}

export interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

/**
 * Parses a scrape and checks it: every family has one HELP and one TYPE line before its samples;
 * every sample line is `name{labels} value` and belongs to the family above it; no sample twice;
 * counters end in `_total`; each histogram series has ascending `le` buckets with cumulative
 * counts, a `+Inf` bucket equal to `_count`, and a `_sum`. Throws with the line number otherwise.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const help = new Map<string, string>()
  const seen = new Set<string>()
  let current: Family | undefined
  const lines = text.split('\n')
  if (lines.at(-1) !== '') throw new Error('exposition must end with a newline')
  for (const [index, line] of lines.entries()) {
    const fail = (problem: string): never => {
      throw new Error(`line ${index + 1}: ${problem}: ${JSON.stringify(line)}`)
    }
    if (line === '') continue
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
      if (!m) continue // a plain comment
      const [, keyword, name = '', rest = ''] = m
      if (!METRIC_NAME.test(name)) fail('bad metric name')
      if (keyword === 'HELP') {
        if (help.has(name)) fail('second HELP for the family')
        help.set(name, rest)
        continue
      }
      if (!TYPES.has(rest)) fail('unknown TYPE')
      if (families.has(name)) fail('second TYPE for the family')
      if (!help.has(name)) fail('TYPE without a HELP line before it')
      if (rest === 'counter' && !name.endsWith('_total')) fail('counter name must end in _total')
      current = { name, help: help.get(name) ?? '', type: rest as Family['type'], samples: [] }
      families.set(name, current)
      continue
    }
    const sample = parseSampleLine(line, fail)
    const family = current ?? fail('sample before any TYPE line')
    if (!belongsTo(sample.name, family)) fail(`sample does not belong to family ${family.name}`)
    const key = `${sample.name}${canonical(sample.labels)}`
    if (seen.has(key)) fail('duplicate sample')
    seen.add(key)
    family.samples.push(sample)
  }
  for (const name of help.keys())
    if (!families.has(name)) throw new Error(`HELP for ${name} without a TYPE line`)
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family)
  return families
}

function parseSampleLine(line: string, fail: (problem: string) => never): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (-?\d+))?$/.exec(line)
  if (!m) return fail('not a sample line `name{labels} value`')
  const [, name = '', labelText, valueText = ''] = m
  const labels = labelText ? parseLabels(labelText.slice(1, -1), fail) : {}
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case;
  // prom-client writes `Nan` for an empty event-loop-lag summary.
  let value: number
  if (/^\+?inf$/i.test(valueText)) value = Number.POSITIVE_INFINITY
  else if (/^-inf$/i.test(valueText)) value = Number.NEGATIVE_INFINITY
  else if (/^nan$/i.test(valueText)) value = Number.NaN
  else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(valueText)) value = Number(valueText)
  else return fail('bad sample value')
  return { name, labels, value }
}

function parseLabels(text: string, fail: (problem: string) => never): Labels {
  const labels: Labels = {}
  let i = 0
  while (i < text.length) {
    const eq = text.indexOf('=', i)
    if (eq < 0) fail('label without =')
    const name = text.slice(i, eq)
    if (!LABEL_NAME.test(name)) fail(`bad label name ${JSON.stringify(name)}`)
    if (name in labels) fail(`label ${name} twice`)
    if (text[eq + 1] !== '"') fail('label value not quoted')
    let value = ''
    let j = eq + 2
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== '\\') {
        value += text[j]
        continue
      }
      const escaped = text[++j]
      if (escaped === 'n') value += '\n'
      else if (escaped === '\\' || escaped === '"') value += escaped
      else fail('bad escape in label value')
    }
    if (j >= text.length) fail('unterminated label value')
    labels[name] = value
    i = j + 1
    if (i < text.length) {
      if (text[i] !== ',') fail('labels must be separated by commas')
      i++
    }
  }
  return labels
}

function belongsTo(sample: string, family: Family): boolean {
  if (family.type === 'histogram')
    return ['_bucket', '_sum', '_count'].some((s) => sample === family.name + s)
  if (family.type === 'summary')
    return sample === family.name || ['_sum', '_count'].some((s) => sample === family.name + s)
  return sample === family.name
}

function canonical(labels: Labels, without?: string): string {
  const entries = Object.entries(labels)
    .filter(([k]) => k !== without)
    .sort(([a], [b]) => a.localeCompare(b))
  return JSON.stringify(entries)
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Sample[]; sum?: Sample; count?: Sample }>()
  const entry = (labels: Labels) => {
    const key = canonical(labels, 'le')
    let s = series.get(key)
    if (!s) {
      s = { buckets: [] }
      series.set(key, s)
    }
    return s
  }
  for (const sample of family.samples) {
    const s = entry(sample.labels)
    if (sample.name.endsWith('_bucket')) {
      if (sample.labels.le === undefined)
        throw new Error(`${family.name}: a bucket without an le label`)
      s.buckets.push(sample)
    } else if (sample.name.endsWith('_sum')) s.sum = sample
    else s.count = sample
  }
  for (const [key, s] of series) {
    const where = `${family.name}${key}`
    if (!s.count || !s.sum) throw new Error(`${where}: _sum and _count are both required`)
    const last = s.buckets.at(-1)
    if (last?.labels.le !== '+Inf') throw new Error(`${where}: the last bucket must be le="+Inf"`)
    let bound = Number.NEGATIVE_INFINITY
    let running = 0
    for (const b of s.buckets) {
      const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le)
      if (!(le > bound)) throw new Error(`${where}: le ${b.labels.le} is not ascending`)
      if (b.value < running) throw new Error(`${where}: bucket le=${b.labels.le} is not cumulative`)
      bound = le
      running = b.value
    }
    if (last.value !== s.count.value)
      throw new Error(`${where}: +Inf bucket ${last.value} differs from _count ${s.count.value}`)
  }
}

/**
 * The value of the one sample named `name` whose labels include `labels`; throws when there is
 * no such sample or more than one, so a test never reads the wrong series by accident.
 */
export function metric(families: Map<string, Family>, name: string, labels: Labels = {}): number {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (matches.length !== 1)
    throw new Error(`${matches.length} samples match ${name}${JSON.stringify(labels)}`)
  return (matches[0] as Sample).value
}

/** Sum of every sample named `name` whose labels include `labels`. */
export function metricSum(
  families: Map<string, Family>,
  name: string,
  labels: Labels = {},
): number {
  return [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

/** GET /metrics, check its content type, and parse it with {@link parsePrometheus}. */
export async function scrape(port: number): Promise<Map<string, Family>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(2000),
  })
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
  const type = response.headers.get('content-type') ?? ''
  if (!type.startsWith('text/plain')) throw new Error(`/metrics content-type is ${type}`)
  return parsePrometheus(await response.text())
}
