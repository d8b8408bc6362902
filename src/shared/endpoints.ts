/** How a socket attaches to one address. */
export type EndpointAction = 'bind' | 'connect'

export interface Endpoint {
  /** The address as libzmq takes it, without the `@` / `>` role marker. */
  readonly address: string
  readonly action: EndpointAction
  /** True when `@` or `>` overrode the socket kind's default role. */
  readonly explicit: boolean
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string }

const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
const IPV6_RE = /^\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\]$/

/**
 * Whether `address` (without a role marker) is tcp on an IPv6 literal, such as `tcp://[::1]:5555`
 * or `tcp://[::]:5555`. libzmq refuses those ("No such device") unless the socket's IPv6 option
 * is on. The option is set only for them: on an IPv4 socket it would turn `tcp://*:5555` into a
 * dual-stack `[::]` bind and report `127.0.0.1` as `[::ffff:127.0.0.1]`, and a host name would
 * resolve to its IPv6 address first, where a peer may listen on IPv4 only.
 */
export function isIpv6Address(address: string): boolean {
  return address.startsWith('tcp://[')
}

/**
 * Parses a comma list of endpoints such as `tcp://*:5555,@ipc:///tmp/x`. A leading `@` forces
 * bind, `>` forces connect (the zproxy convention); otherwise `defaultAction` applies.
 * Only tcp, ipc and inproc are accepted, with host and port checked, because libzmq's own
 * errors for a bad endpoint surface late and say little.
 */
export function parseEndpointList(
  value: string,
  defaultAction: EndpointAction,
): ParseResult<Endpoint[]> {
  const items = value.split(',').map((s) => s.trim())
  if (items.some((s) => s.length === 0)) return { ok: false, problem: 'has an empty entry' }
  const endpoints: Endpoint[] = []
  for (const item of items) {
    const parsed = parseEndpoint(item, defaultAction)
    if (!parsed.ok) return parsed
    endpoints.push(parsed.value)
  }
  const seen = new Set<string>()
  for (const e of endpoints) {
    if (seen.has(e.address)) return { ok: false, problem: `lists ${e.address} twice` }
    seen.add(e.address)
  }
  return { ok: true, value: endpoints }
}

export function parseEndpoint(raw: string, defaultAction: EndpointAction): ParseResult<Endpoint> {
  let action = defaultAction
  let explicit = false
  let address = raw
  if (raw.startsWith('@') || raw.startsWith('>')) {
    action = raw.startsWith('@') ? 'bind' : 'connect'
    explicit = true
    address = raw.slice(1)
  }
  const match = /^([a-z]+):\/\/(.*)$/.exec(address)
  if (!match) return bad(raw, 'is not of the form scheme://address')
  const [, scheme, rest = ''] = match
  switch (scheme) {
    case 'tcp': {
      const problem = tcpProblem(rest, action)
      if (problem) return bad(raw, problem)
      break
    }
    case 'ipc':
    case 'inproc':
      if (rest.length === 0) return bad(raw, `needs a ${scheme === 'ipc' ? 'path' : 'name'}`)
      break
    default:
      return bad(raw, `has scheme "${scheme}"; use tcp, ipc or inproc`)
  }
  return { ok: true, value: { address, action, explicit } }
}

function tcpProblem(rest: string, action: EndpointAction): string | undefined {
  const colon = rest.lastIndexOf(':')
  if (colon <= 0) return 'needs host:port'
  const host = rest.slice(0, colon)
  const port = rest.slice(colon + 1)
  if (host === '*') {
    if (action === 'connect') return 'cannot connect to host *; name the host to connect to'
  } else if (!IPV4_RE.test(host) && !IPV6_RE.test(host) && !HOSTNAME_RE.test(host)) {
    return `has an invalid host "${host}"`
  }
  if (port === '*') {
    if (action === 'connect') return 'cannot connect to port *; give a port number'
    return undefined
  }
  if (!/^\d{1,5}$/.test(port)) return `has an invalid port "${port}"`
  const n = Number(port)
  if (n < 1 || n > 65535) return `has port ${n}, outside 1-65535`
  return undefined
}

function bad(raw: string, problem: string): { ok: false; problem: string } {
  return { ok: false, problem: `${JSON.stringify(raw)} ${problem}` }
}
