import { readFileSync } from 'node:fs'
import { type ConfigIssue, errorCode } from '../errors'

/**
 * The Docker / Kubernetes secrets convention: any of these variables may instead be given as
 * `<VAR>_FILE`, a path whose contents are the value. Returns a copy of `env` with the file
 * contents in place, and an issue for each unreadable file or each variable set both ways.
 * Values are never echoed into issues: they may be secrets.
 */
export function resolveFileVariables(
  env: Readonly<Record<string, string | undefined>>,
  isFileable: (variable: string) => boolean,
  issues: ConfigIssue[],
): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env }
  for (const [name, path] of Object.entries(env)) {
    if (!name.endsWith('_FILE') || path === undefined) continue
    const variable = name.slice(0, -'_FILE'.length)
    if (!isFileable(variable)) continue
    delete resolved[name]
    if (env[variable] !== undefined) {
      issues.push({
        variable: name,
        problem: `is set together with ${variable}; set only one of them`,
        example: '',
      })
      continue
    }
    try {
      resolved[variable] = readFileSync(path, 'utf8').trim()
    } catch (error) {
      const reason = errorCode(error) ?? 'unreadable'
      issues.push({
        variable: name,
        problem: `names a file that cannot be read (${reason}): ${path}`,
        example: '/run/secrets/key',
      })
    }
  }
  return resolved
}

// Z85 (ZeroMQ RFC 32): 85 printable characters; a 32-byte CURVE key encodes to 40 of them.
const Z85_KEY_RE = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/

/** Why a string is not a Z85 CURVE key, without repeating the string (it may be secret). */
export function curveKeyProblem(value: string): string | undefined {
  if (value.length !== 40) return `is ${value.length} characters; a Z85 CURVE key is 40`
  if (!Z85_KEY_RE.test(value)) return 'has characters outside the Z85 alphabet'
  return undefined
}

/**
 * Reads an allowlist: keys separated by commas or newlines; a line starting with `#` is a
 * comment. Only whole lines: `#` is itself a Z85 character and may appear inside a key.
 */
export function parseKeyList(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((key) => key.trim())
    .filter((key) => key.length > 0)
}
