import { access } from 'node:fs'

/**
 * Starts libuv's thread pool (fs, dns.lookup, async crypto and zlib) from the main thread, before
 * any other thread can.
 *
 * libuv creates the pool's threads at the first work submitted in the process, from the thread
 * that submitted it, and a new Linux thread takes its creator's nice value. With
 * ZMQ_RECORD_FILE the recorder thread (nice 19) opened its file first, so every pool thread ran
 * at 19, and a handler's file, DNS or crypto work waited behind all else on busy cores; a
 * telemetry receive thread's first file read would have left them at +5 (a service that is an
 * ES module is read that way). Started here, they run at the process's own nice, as the main
 * thread and libzmq's threads (zmq-threads.ts) do.
 */
export function startLibuvPool(): void {
  // Any work queued starts the pool; what it finds does not matter.
  access(__filename, () => {})
}
