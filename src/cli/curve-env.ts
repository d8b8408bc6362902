import { curveKeyProblem, resolveFileVariables } from '../shared/config/secrets'
import type { EndpointAction } from '../shared/endpoints'
import type { ConfigIssue } from '../shared/errors'

/** A CURVE setting the tool cannot use: main prints it as one line and exits 78. */
export class CurveEnvError extends Error {
  override readonly name = 'CurveEnvError'
}

/** The zeromq socket options for CURVE, or none. */
export interface CurveOptions {
  curveServer?: boolean
  curvePublicKey?: string
  curveSecretKey?: string
  curveServerKey?: string
}

const KEYS = ['CURVE_PUBLIC_KEY', 'CURVE_SECRET_KEY', 'CURVE_SERVER_KEY'] as const

/**
 * CURVE keys for a tool's socket from the variables the container's socket of the same kind
 * uses (`ZMQ_SUB_CURVE_*` for a subscriber, each also as `<VAR>_FILE`), with the container's
 * rule: connecting makes a client (public, secret and the server's key), binding a server
 * (public and secret key). No variable set: plaintext.
 */
export function curveFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  prefix: 'ZMQ_SUB' | 'ZMQ_PUB',
  action: EndpointAction,
): CurveOptions {
  const names = KEYS.map((k) => `${prefix}_${k}`)
  const issues: ConfigIssue[] = []
  const resolved = resolveFileVariables(env, (v) => names.includes(v), issues)
  if (issues[0]) throw new CurveEnvError(`${issues[0].variable} ${issues[0].problem}`)
  const [publicKey, secretKey, serverKey] = names.map((n) => resolved[n]?.trim() || undefined)
  if (!publicKey && !secretKey && !serverKey) return {}
  const needed = action === 'connect' ? names : names.slice(0, 2)
  for (const [i, name] of needed.entries()) {
    const value = [publicKey, secretKey, serverKey][i]
    if (!value)
      throw new CurveEnvError(
        `${name} is required with CURVE (another ${prefix}_CURVE_* key is set)`,
      )
    const problem = curveKeyProblem(value)
    if (problem) throw new CurveEnvError(`${name} ${problem}`)
  }
  if (action === 'bind') {
    if (serverKey)
      throw new CurveEnvError(
        `${prefix}_CURVE_SERVER_KEY is for a socket that connects; this one binds (it is the CURVE server)`,
      )
    return { curveServer: true, curvePublicKey: publicKey, curveSecretKey: secretKey }
  }
  return { curvePublicKey: publicKey, curveSecretKey: secretKey, curveServerKey: serverKey }
}
