import type { XPublisher } from 'zeromq'
import { errorCode } from '../errors'

export interface SubscriptionWait {
  /** Subscription frames that matched. */
  readonly seen: number
  /** The prefix of the last one that matched (`''` subscribes to every topic). */
  readonly lastPrefix: string | undefined
  /** The wait ended because `signal` aborted (the socket was closed to end the receive). */
  readonly interrupted: boolean
  readonly elapsedMs: number
}

/**
 * Reads an XPUB's subscription frames (`\x01prefix`) until `wanted` of them satisfy `matches`,
 * or `timeoutMs` passes (0: no limit), or `signal` aborts. The deadline covers the whole wait.
 * Closing the socket is the only way to end a pending receive, so an abort closes it.
 * The publishing tools (`pub`, `replay`) wait on this before they send: the slow joiner.
 */
export async function waitForSubscriptions(
  socket: XPublisher,
  matches: (prefix: string) => boolean,
  wanted: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<SubscriptionWait> {
  const startedAt = performance.now()
  let seen = 0
  let lastPrefix: string | undefined
  const close = () => socket.close()
  signal?.addEventListener('abort', close, { once: true })
  const result = (interrupted: boolean): SubscriptionWait => ({
    seen,
    lastPrefix,
    interrupted,
    elapsedMs: performance.now() - startedAt,
  })
  try {
    while (seen < wanted) {
      const left = timeoutMs - (performance.now() - startedAt)
      if (timeoutMs > 0 && left <= 0) break
      socket.receiveTimeout = timeoutMs === 0 ? -1 : Math.ceil(left)
      let frame: Buffer | undefined
      try {
        ;[frame] = await socket.receive()
      } catch (error) {
        if (socket.closed) return result(true)
        if (errorCode(error) === 'EAGAIN') break
        throw error
      }
      if (frame?.[0] !== 1) continue
      const prefix = frame.subarray(1).toString('latin1')
      if (!matches(prefix)) continue
      seen++
      lastPrefix = prefix
    }
  } finally {
    signal?.removeEventListener('abort', close)
  }
  return result(false)
}
