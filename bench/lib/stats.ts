import { existsSync, readFileSync } from 'node:fs'
import * as hdr from 'hdr-histogram-js'

export type Histogram = hdr.Histogram

/** Nanosecond histogram from 1 ns to 100 s, three significant digits. */
export function histogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 100e9,
    numberOfSignificantValueDigits: 3,
  })
}

/** Latencies a receiver wrote (microseconds, float64 LE), recorded in a new ns histogram. */
export function readLatencies(file: string): Histogram | undefined {
  if (!existsSync(file)) return undefined
  const bytes = readFileSync(file)
  const values = new Float64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 8))
  const h = histogram()
  // A negative value would be a clock bug; record it as the smallest value rather than lose it.
  for (const us of values) h.recordValue(Math.max(1, Math.min(100e9, Math.round(us * 1000))))
  return h
}

export const PERCENTILES = [50, 99, 99.9, 100] as const
export type Percentiles = Record<'p50' | 'p99' | 'p999' | 'max', number>

/** p50, p99, p99.9 and max in microseconds. */
export function percentilesUs(h: Histogram): Percentiles {
  return {
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    p999: h.getValueAtPercentile(99.9) / 1000,
    max: h.maxValue / 1000,
  }
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** The median of each field over repetitions. */
export function medianOf<K extends string>(
  rows: ReadonlyArray<Record<K, number>>,
): Record<K, number> {
  const out = {} as Record<K, number>
  const keys = Object.keys(rows[0] ?? {}) as K[]
  for (const k of keys) out[k] = median(rows.map((r) => r[k]))
  return out
}
