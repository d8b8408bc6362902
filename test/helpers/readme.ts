import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'

export const README = path.join(__dirname, '..', '..', 'README.md')

/**
 * The body rows of the first markdown table under `heading` (a whole line, `## Exit codes`),
 * each as its trimmed cells. The header row and the `| --- |` row are left out.
 */
export function readmeTable(heading: string, text = readFileSync(README, 'utf8')): string[][] {
  const lines = text.split('\n')
  const start = lines.indexOf(heading)
  assert.ok(start >= 0, `README.md has no "${heading}" heading`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break
    if (line.startsWith('|')) rows.push(line.slice(1, line.lastIndexOf('|')).split('|'))
    else if (rows.length > 0) break
  }
  assert.ok(rows.length > 2, `no table under "${heading}"`)
  return rows.slice(2).map((cells) => cells.map((c) => c.trim()))
}

/** The `code` spans of a cell: "`peer lost` / `peer back`" -> ["peer lost", "peer back"]. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string)
}
