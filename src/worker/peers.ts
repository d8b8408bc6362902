import type { SocketSpec } from '../shared/config'
import type { Log } from '../shared/log'
import type { SocketCounters } from '../shared/shared-state'

/**
 * Counts connected peers for /readyz and zc_sub_peers, and logs each change of a SUB socket
 * between "no publisher" (degraded) and "some publisher": one line per change, not per
 * connection (the monitor logs those as `socket event`).
 */
export class PeerWatch {
  readonly #spec: SocketSpec
  readonly #counters: SocketCounters
  readonly #log: Log
  /** This SUB had a publisher and lost every one: the next connection is "peer back". */
  #lost = false

  constructor(spec: SocketSpec, counters: SocketCounters, log: Log) {
    this.#spec = spec
    this.#counters = counters
    this.#log = log
  }

  /** The monitor saw peers connect (+) or go (-); `stopping` silences the lines, not the count. */
  change(delta: number, stopping: boolean): void {
    const before = this.#counters.peers
    this.#counters.addPeers(delta)
    const after = this.#counters.peers
    if (this.#spec.kind !== 'sub' || stopping) return
    if (before > 0 && after === 0) {
      this.#lost = true
      this.#log.warn({ degraded: `socket ${this.#spec.name} has no connected peer` }, 'peer lost')
    } else if (before === 0 && after > 0) {
      this.#log.info({ peers: after }, this.#lost ? 'peer back' : 'peer connected')
    }
  }
}
