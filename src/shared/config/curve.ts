import type { Endpoint } from '../endpoints'
import type { ConfigIssue } from '../errors'
import type { CurveConfig } from './types'
import type { CurveKey } from './variables'

/**
 * A socket's CURVE role follows its endpoints: binding makes it the server (its own key pair),
 * connecting makes it a client (its own pair plus the server's public key). `key` reads the
 * socket's validated `<envPrefix>_CURVE_*` values; each missing or misplaced one is an issue.
 */
export function curveFor(
  envPrefix: string,
  endpoints: readonly Endpoint[],
  key: (k: CurveKey) => string | undefined,
  issues: ConfigIssue[],
): CurveConfig | undefined {
  const publicKey = key('CURVE_PUBLIC_KEY')
  const secretKey = key('CURVE_SECRET_KEY')
  const serverKey = key('CURVE_SERVER_KEY')
  if (!publicKey && !secretKey && !serverKey) return undefined
  const binds = endpoints.some((e) => e.action === 'bind')
  const connects = endpoints.some((e) => e.action === 'connect')
  const missing = (k: string) =>
    issues.push({
      variable: `${envPrefix}_${k}`,
      problem: 'is required with CURVE on this socket',
      example: '<Z85 key>',
    })
  if (binds && connects) {
    issues.push({
      variable: `${envPrefix}_ENDPOINT`,
      problem:
        'both binds and connects, but a CURVE socket is either a server (binds) or a client (connects)',
      example: 'tcp://*:5555',
    })
    return undefined
  }
  if (!publicKey) missing('CURVE_PUBLIC_KEY')
  if (!secretKey) missing('CURVE_SECRET_KEY')
  if (binds) {
    if (serverKey)
      issues.push({
        variable: `${envPrefix}_CURVE_SERVER_KEY`,
        problem: 'applies to connecting sockets only; this one binds',
        example: '',
      })
    return publicKey && secretKey ? { role: 'server', publicKey, secretKey } : undefined
  }
  if (!serverKey) missing('CURVE_SERVER_KEY')
  return publicKey && secretKey && serverKey
    ? { role: 'client', publicKey, secretKey, serverKey }
    : undefined
}
