import type { RestartConfig } from '../shared/config'

/**
 * When to restart a failed worker, and when to give up, in the manner of an OTP supervisor:
 * more than `limit` restarts within `windowMs` means the fault is not transient, so the
 * container should end and let the orchestrator restart it whole.
 */
export class RestartPolicy {
  readonly #config: RestartConfig
  readonly #random: () => number
  #restarts: number[] = []

  constructor(config: RestartConfig, random: () => number = Math.random) {
    this.#config = config
    this.#random = random
  }

  /**
   * Records a failure at `now`. Returns the delay before the next restart, or undefined when
   * the intensity limit is reached. The delay doubles with each restart in the window, up to
   * the cap, with "equal jitter" (between half and all of it) so that sockets failing together
   * do not restart in lockstep.
   */
  next(now: number): number | undefined {
    const { limit, windowMs, backoffMs, backoffMaxMs } = this.#config
    this.#restarts = this.#restarts.filter((t) => now - t < windowMs)
    if (this.#restarts.length >= limit) return undefined
    this.#restarts.push(now)
    const ceiling = Math.min(backoffMaxMs, backoffMs * 2 ** (this.#restarts.length - 1))
    return Math.round(ceiling / 2 + this.#random() * (ceiling / 2))
  }

  /** Restarts counted in the current window. */
  get recent(): number {
    return this.#restarts.length
  }
}
