import { withDeadline } from '../shared/deadline'
import type { Logger } from '../shared/logger'
import type { Outbound } from './outbound'

/**
 * Who is attached to a PUB socket, read from its XPUB's subscription frames: counted, logged,
 * and the basis of the subscriber gate (`_MIN_SUBSCRIBERS`).
 */

/** Reads subscription frames (`\x01topic` / `\x00topic`) until the socket closes. */
export async function watchSubscriptions(out: Outbound, log: Logger): Promise<void> {
  for (;;) {
    let frames: Buffer[]
    try {
      frames = await out.socket.receive()
    } catch {
      // Only close() ends this loop: an XPUB has no receive timeout set.
      return
    }
    const frame = frames[0]
    if (!frame || frame.length === 0 || (frame[0] !== 0 && frame[0] !== 1)) continue
    const prefix = frame.subarray(1).toString('latin1')
    const before = out.subscribers.get(prefix) ?? 0
    const after = frame[0] === 1 ? before + 1 : Math.max(0, before - 1)
    if (after === 0) out.subscribers.delete(prefix)
    else out.subscribers.set(prefix, after)
    const attached = frame[0] === 1
    if (out.churn.admit(attached ? 'attached' : 'detached'))
      log.info(
        { subscription: prefix, subscribers: after },
        attached ? 'subscriber attached' : 'subscriber detached',
      )
    out.onSubscribers?.()
  }
}

/**
 * Subscribers of a socket: the most subscribers any one subscription has. A peer subscribing to
 * three topics counts once; two peers on the same topic count twice.
 */
export function attachedTo(out: Outbound): number {
  return Math.max(0, ...out.subscribers.values())
}

/**
 * The seed's "synchronize explicitly" (2.4): waits until each socket with `_MIN_SUBSCRIBERS` has
 * that many subscribers, or its `_SUBSCRIBER_TIMEOUT_MS` passes. Resolves with the sockets that
 * timed out (readiness stays down for them until they are met).
 */
export async function waitForSubscribers(
  outbound: readonly Outbound[],
  log: Logger,
): Promise<string[]> {
  const waits = outbound
    .filter((o) => o.spec.minSubscribers > 0)
    .map(async (o) => {
      const met = new Promise<true>((resolve) => {
        const check = () => {
          if (attachedTo(o) < o.spec.minSubscribers) return
          o.onSubscribers = undefined
          resolve(true)
        }
        o.onSubscribers = check
        check()
      })
      const ok = await withDeadline(met, o.spec.subscriberTimeoutMs, false)
      if (ok) return undefined
      o.onSubscribers = undefined
      log.warn(
        { socket: o.spec.name, attached: attachedTo(o), required: o.spec.minSubscribers },
        'subscriber wait timed out; not ready until they attach',
      )
      return o.spec.name
    })
  return (await Promise.all(waits)).filter((name): name is string => name !== undefined)
}
