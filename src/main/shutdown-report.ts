import type { Logger } from '../shared/logger'
import type { JoinOutcome } from './worker-handle'
import type { WorkerSlot } from './worker-slot'

/**
 * The shutdown's last word on each receive worker: how it stopped, with its counters, so every
 * message received is accounted for in the log (received = handled + dropped).
 */
export function reportJoins(
  log: Logger,
  slots: ReadonlyArray<Pick<WorkerSlot, 'socket' | 'counters'>>,
  outcomes: readonly JoinOutcome[],
  deadlineMs: number,
): void {
  slots.forEach((w, i) => {
    const counts = w.counters.snapshot()
    const socket = w.socket.name
    if (outcomes[i] === 'joined') log.info({ socket, ...counts }, 'receive worker stopped')
    // The seed's "RX thread did not stop cleanly".
    else if (outcomes[i] === 'terminated')
      log.warn({ socket, deadlineMs, ...counts }, 'receive worker did not stop cleanly; terminated')
    else
      log.error(
        { socket, deadlineMs, ...counts },
        'receive worker blocked with native zeromq work pending; it cannot be terminated safely',
      )
  })
}
