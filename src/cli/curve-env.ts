import { curveKeyProblem, resolveFileVariables } from '../shared/config/secrets'
import type { Endpoint, EndpointAction } from '../shared/endpoints'
import type { ConfigIssue } from '../shared/errors'
import { type CliIo, note } from './io'

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
 * Whose variables a tool reads: a subscriber (tap, hz, record) the container SUB's, a publisher
 * (pub, replay) the PUB's, and req, a client of a REP, `ZMQ_REQ_CURVE_*` (the container has no
 * REQ socket; the names follow the same pattern).
 */
export type CurvePrefix = 'ZMQ_SUB' | 'ZMQ_PUB' | 'ZMQ_REQ'

/**
 * The one CURVE set-up of every tool: the keys for a socket of `prefix` on `endpoints` (all
 * bind or all connect), or undefined after one line on stderr when the variables are unusable
 * (the tool then exits 78). No variable set: `{}`, plaintext.
 */
export function toolCurve(
  io: CliIo,
  command: string,
  prefix: CurvePrefix,
  endpoints: readonly Endpoint[],
): CurveOptions | undefined {
  try {
    const curve = curveFromEnv(io.env, prefix, endpoints[0]?.action ?? 'connect')
    if (Object.keys(curve).length > 0 && new Set(endpoints.map((e) => e.action)).size > 1)
      throw new CurveEnvError(
        `${prefix}_CURVE_* keys are set, but the endpoints both bind and connect; a CURVE socket is either a server (binds) or a client (connects)`,
      )
    return curve
  } catch (error) {
    if (!(error instanceof CurveEnvError)) throw error
    note(io, command, error.message)
    return undefined
  }
}

/** ` (CURVE client)`, ` (CURVE server)` or nothing, for a tool's attach line. */
export function curveNote(curve: CurveOptions): string {
  if (!curve.curvePublicKey) return ''
  return curve.curveServer ? ' (CURVE server)' : ' (CURVE client)'
}

/**
 * CURVE keys for a tool's socket from the variables the container's socket of the same kind
 * uses (`ZMQ_SUB_CURVE_*` for a subscriber, each also as `<VAR>_FILE`), with the container's
 * rule: connecting makes a client (public, secret and the server's key), binding a server
 * (public and secret key). No variable set: plaintext.
 */
export function curveFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  prefix: CurvePrefix,
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
