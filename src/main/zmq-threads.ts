import { Pair } from 'zeromq'

/**
 * Starts libzmq's background threads (the I/O thread that reads and writes every socket's
 * connections, and the reaper) from the main thread, before any receive thread exists.
 *
 * zeromq.js shares one context across the process's threads, and libzmq starts its threads at
 * the context's first socket. A new Linux thread takes its creator's nice value, so when a
 * receive thread opened the first socket, the I/O thread that carries every class's messages ran
 * at that thread's nice: +5 behind a telemetry socket, +10 behind a logging one. On saturated
 * cores a control message then waited in the I/O thread behind telemetry work, whatever the
 * control thread's own priority; and lowering a thread's nice again needs CAP_SYS_NICE. Created
 * here, the threads run at the process's own nice, as the main thread does.
 */
export function startZmqThreads(): void {
  // Any socket starts them; the threads outlive it.
  new Pair({ linger: 0 }).close()
}
