import type { Config, SocketSpec } from '../shared/config'
import type { SerializedError } from '../shared/errors'
import type { Logger } from '../shared/logger'
import type { FromWorker, StopReason } from '../shared/protocol'
import { SocketCounters } from '../shared/shared-state'
import { RestartPolicy } from './restart-policy'
import { type JoinOutcome, WorkerHandle, type WorkerHandleOptions } from './worker-handle'

export type SlotState = 'starting' | 'up' | 'restarting' | 'stopped'

export type GiveUpReason = 'restart_limit' | 'stuck'

export interface WorkerSlotOptions {
  readonly socket: SocketSpec
  readonly config: Config
  readonly servicePath: string | undefined
  readonly log: Logger
  readonly entry?: string
  readonly onPublish: (message: Extract<FromWorker, { type: 'publish' }>) => void
  readonly onServiceMessage: (data: unknown, socket: string) => void
  readonly onCall: (data: unknown, socket: string) => Promise<unknown>
  readonly record?: WorkerHandleOptions['record']
  /** The slot cannot go on: too many restarts, or a failed worker that cannot be ended safely. */
  readonly onGiveUp: (reason: GiveUpReason, error: SerializedError) => void
}

/**
 * One inbound socket's place in the supervisor: the current worker, the counters that outlive
 * it, and the restart policy. A worker that fails after start-up is stopped, joined and started
 * again after a backoff; the other sockets' workers are untouched meanwhile.
 */
export class WorkerSlot {
  readonly socket: SocketSpec
  readonly counters: SocketCounters
  readonly #options: WorkerSlotOptions
  readonly #policy: RestartPolicy
  #handle: WorkerHandle
  #state: SlotState = 'starting'
  #restartTimer: NodeJS.Timeout | undefined
  #stopReason: StopReason | undefined

  constructor(options: WorkerSlotOptions) {
    this.#options = options
    this.socket = options.socket
    this.counters = new SocketCounters(undefined, options.socket.topics.length)
    this.#policy = new RestartPolicy(options.config.restart)
    this.#handle = this.#spawn()
  }

  get state(): SlotState {
    return this.#state
  }

  /** The first start: failures here fail the container's start-up, they are not restarted. */
  async start(): Promise<void> {
    await this.#handle.ready(this.#options.config.readyTimeoutMs)
    if (this.#state === 'starting') this.#state = 'up'
  }

  #spawn(): WorkerHandle {
    const o = this.#options
    const handle: WorkerHandle = new WorkerHandle({
      socket: o.socket,
      config: o.config,
      servicePath: o.servicePath,
      log: o.log,
      counters: this.counters,
      ...(o.entry ? { entry: o.entry } : {}),
      onPublish: o.onPublish,
      onServiceMessage: o.onServiceMessage,
      onCall: o.onCall,
      ...(o.record ? { record: o.record } : {}),
      onFailure: (error) => void this.#onFailure(handle, error),
    })
    return handle
  }

  async #onFailure(handle: WorkerHandle, error: SerializedError): Promise<void> {
    // One report per worker (a failure and its thread's exit both arrive), none while stopping.
    if (handle !== this.#handle || this.#state !== 'up' || this.#stopReason) return
    this.#state = 'restarting'
    const log = this.#options.log
    const reason = error.code === 'ZC_ERR_WORKER_OUT_OF_MEMORY' ? 'out_of_memory' : 'crash'
    log.error({ socket: this.socket.name, reason, err: error }, 'receive worker failed')
    handle.requestStop('restart')
    if ((await handle.join(this.#options.config.shutdownTimeoutMs)) === 'stuck') {
      this.#options.onGiveUp('stuck', error)
      return
    }
    this.#countLost()
    if (this.#stopReason) return
    const delayMs = this.#policy.next(Date.now())
    if (delayMs === undefined) {
      const { limit, windowMs } = this.#options.config.restart
      log.error({ socket: this.socket.name, limit, windowMs }, 'restart limit reached')
      this.#options.onGiveUp('restart_limit', error)
      return
    }
    log.warn(
      { socket: this.socket.name, delayMs, attempt: this.#policy.recent },
      'restarting receive worker',
    )
    this.#restartTimer = setTimeout(() => void this.#restart(), delayMs)
  }

  async #restart(): Promise<void> {
    this.#restartTimer = undefined
    if (this.#stopReason) return
    this.counters.add('restarts')
    const handle = this.#spawn()
    this.#handle = handle
    try {
      await handle.ready(this.#options.config.readyTimeoutMs)
    } catch (error) {
      if (this.#stopReason) return
      this.#state = 'up'
      await this.#onFailure(handle, {
        name: 'RestartFailed',
        message: String((error as Error).message ?? error),
      })
      return
    }
    if (this.#stopReason) return
    this.#state = 'up'
    this.#options.log.info(
      { socket: this.socket.name, restarts: this.counters.get('restarts') },
      'receive worker restarted',
    )
  }

  requestStop(reason: StopReason): void {
    this.#stopReason ??= reason
    clearTimeout(this.#restartTimer)
    this.#handle.requestStop(reason)
  }

  /** Joins the current worker (see WorkerHandle.join); a slot waiting to restart joins at once. */
  async join(deadlineMs: number): Promise<JoinOutcome> {
    const outcome = await this.#handle.join(deadlineMs)
    this.#state = 'stopped'
    if (outcome !== 'stuck') this.#countLost()
    return outcome
  }

  /**
   * Once a worker's thread is gone nothing else writes its counters, so whatever it received and
   * neither handled nor dropped was in flight when it died (a crash, out of memory, terminated at
   * the deadline): those are dropped as `worker_failed`, and received = handled + dropped holds.
   */
  #countLost(): void {
    // The thread is gone: its counts not yet flushed (a terminate, a crash) join the totals.
    this.counters.absorbPending()
    const { received, handled, droppedTotal } = this.counters.snapshot()
    const lost = received - handled - droppedTotal
    if (lost <= 0) return
    this.counters.add('worker_failed', lost)
    this.#options.log.warn(
      { socket: this.socket.name, reason: 'worker_failed', count: lost },
      'messages dropped',
    )
  }

  terminateIfSafe(): Promise<boolean> {
    return this.#handle.terminateIfSafe()
  }
}
