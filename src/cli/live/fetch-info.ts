import type { InfoDocument } from '../../shared/info-document'
import type { ContainerView } from '../topology/model'

/** One URL's /info, or why it did not answer, in a line a person can act on. */
export type InfoResult =
  | { readonly ok: true; readonly url: string; readonly info: InfoDocument }
  | { readonly ok: false; readonly url: string; readonly problem: string }

/** `http://camera:9464` or `camera:9464` (http assumed); a path other than / is kept as is. */
export function infoUrl(raw: string): URL {
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`)
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/info'
  return url
}

/** GETs a container's /info; never rejects: a dead or wrong URL is a result too. */
export async function fetchInfo(raw: string, timeoutMs: number): Promise<InfoResult> {
  let url: URL
  try {
    url = infoUrl(raw)
  } catch {
    return { ok: false, url: raw, problem: 'is not a URL (give http://host:HTTP_PORT)' }
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    if (response.status === 404)
      return {
        ok: false,
        url: raw,
        problem: `answers 404 on ${url.pathname}: not a zmq-container, or one older than /info`,
      }
    if (!response.ok) return { ok: false, url: raw, problem: `answers HTTP ${response.status}` }
    const info = (await response.json()) as InfoDocument
    if (info?.name !== 'zmq-container' || !Array.isArray(info.sockets))
      return {
        ok: false,
        url: raw,
        problem: 'answers, but not with a zmq-container /info document',
      }
    return { ok: true, url: raw, info }
  } catch (error) {
    return { ok: false, url: raw, problem: describeFetchError(error, timeoutMs) }
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`
  const code = e.cause?.code
  if (code === 'ECONNREFUSED')
    return 'connection refused: nothing listens there (is HTTP_PORT set?)'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name does not resolve'
  if (error instanceof SyntaxError) return 'answers, but not with JSON'
  return e.cause?.message ?? (error as Error).message
}

/** A running container as the topology tools see it; its URL's host resolves to it too. */
export function infoToView(result: Extract<InfoResult, { ok: true }>): ContainerView {
  const { info } = result
  const host = infoUrl(result.url).hostname
  return {
    name: info.service,
    label: result.url,
    hostNames: [...new Set([host, info.service, info.hostname])],
    sockets: info.sockets.map((s) => ({
      kind: s.kind,
      name: s.name,
      envPrefix: s.envPrefix,
      latencyClass: s.class,
      // A bind to `:*` is reached at the port libzmq picked, which only `bound` knows.
      endpoints: s.bound
        ? [
            ...s.bound.map((address) => ({ address, action: 'bind' as const })),
            ...s.endpoints.filter((e) => e.action === 'connect'),
          ]
        : s.endpoints,
      topics: s.topics,
    })),
  }
}
