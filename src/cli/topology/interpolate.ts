type Env = Readonly<Record<string, string | undefined>>

/** A `${VAR:?message}` whose variable is unset or empty, as Compose refuses it. */
export class InterpolationError extends Error {
  override readonly name = 'InterpolationError'
}

const PATTERN =
  /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^}])*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g

/**
 * Compose's variable interpolation of one string: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
 * empty), `${VAR-default}` (unset), `${VAR:?error}`, `${VAR?error}`, `${VAR:+other}`,
 * `${VAR+other}`, and `$$` for a literal `$`. Nested expressions in defaults are not expanded.
 */
export function interpolate(text: string, env: Env): string {
  return text.replace(PATTERN, (match, braced?: string, op?: string, arg = '', bare?: string) => {
    if (match === '$$') return '$'
    const name = (braced ?? bare) as string
    const value = env[name]
    const unset = value === undefined
    const empty = unset || value === ''
    switch (op) {
      case undefined:
        return value ?? ''
      case ':-':
        return empty ? arg : (value as string)
      case '-':
        return unset ? arg : (value as string)
      case ':?':
      case '?':
        if (op === ':?' ? empty : unset)
          throw new InterpolationError(`${name}: ${arg || 'required variable is not set'}`)
        return value as string
      case ':+':
        return empty ? '' : arg
      case '+':
        return unset ? '' : arg
      default:
        return match
    }
  })
}

/** Interpolates every string in a parsed YAML value (keys stay as written, as in Compose). */
export function interpolateAll(value: unknown, env: Env): unknown {
  if (typeof value === 'string') return interpolate(value, env)
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env))
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]))
}
