import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** Writes `lines` as an env file (`KEY=value` a line) at `file`, making its folder; returns it. */
export function writeEnvFile(file: string, lines: Record<string, string>): string {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(
    file,
    Object.entries(lines)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  )
  return file
}
