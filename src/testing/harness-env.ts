/** A socket the harness wired: its variable prefix and the endpoint the container uses. */
export interface HarnessEndpoint {
  /** `ZMQ_SUB`, `ZMQ_PUB_STATUS`, ...: the socket's variable prefix, as in SocketSpec.envPrefix. */
  readonly envPrefix: string
  readonly direction: 'SUB' | 'PUB' | 'REP'
  /** Where the test side binds (SUB sockets) or connects (PUB and REP sockets). */
  readonly endpoint: string
  /** SUB: a second endpoint, bound only while a recording is replayed into the socket. */
  readonly replayEndpoint: string | undefined
}

/** The value that asks the harness for an endpoint (a REP socket has no TOPICS to declare it). */
export const AUTO_ENDPOINT = 'auto'

const SOCKET_VARIABLE_RE = /^(ZMQ_(SUB|PUB|REP)(?:_[A-Z0-9]+(?:_[A-Z0-9]+)*?)?)_(TOPICS|ENDPOINT)$/

/**
 * Gives every socket of `env` that has no endpoint one of the harness's: a SUB or PUB socket
 * declared by its TOPICS alone, and any socket whose ENDPOINT is `auto`. Sockets with a real
 * endpoint are left as they are.
 *
 * The endpoints are inproc: zeromq.js 6 shares one ZeroMQ context between the threads of a
 * process, so the test's thread and the container's receive workers reach each other with no
 * port, no file and no slow network handshake (test/testing.test.ts shows it).
 */
export function assignEndpoints(
  env: Readonly<Record<string, string | undefined>>,
  unique: () => string,
): { env: Record<string, string>; endpoints: HarnessEndpoint[] } {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value
  const prefixes = new Map<string, HarnessEndpoint['direction']>()
  for (const key of Object.keys(out)) {
    const match = SOCKET_VARIABLE_RE.exec(key)
    if (match) prefixes.set(match[1] as string, match[2] as HarnessEndpoint['direction'])
  }
  const endpoints: HarnessEndpoint[] = []
  for (const [envPrefix, direction] of prefixes) {
    const current = out[`${envPrefix}_ENDPOINT`]
    if (current !== undefined && current !== AUTO_ENDPOINT) continue
    const base = `inproc://zc-harness-${unique()}-${envPrefix.toLowerCase()}`
    const replayEndpoint = direction === 'SUB' ? `${base}-replay` : undefined
    // The container's SUB connects to both (its default role); its PUB and REP bind (theirs).
    out[`${envPrefix}_ENDPOINT`] = replayEndpoint ? `${base},${replayEndpoint}` : base
    endpoints.push({ envPrefix, direction, endpoint: base, replayEndpoint })
  }
  return { env: out, endpoints }
}
