import { MessageChannel } from 'node:worker_threads'
import { Pair } from 'zeromq'

/** A frame above zeromq.js's zero-copy threshold (128 bytes), so the check below can tell. */
const PROBE_BYTES = 256

/**
 * Settles, for the whole process, whether zeromq.js copies received frames into ordinary Buffers,
 * and resolves with what is now in effect: true when a frame received here was a copy. `wanted`
 * true asks for copies; false leaves zeromq.js's own way, which hands a frame over 128 bytes to
 * JavaScript without a copy. Never throws: a probe that fails resolves false (and leaves the
 * choice to the process's first real receive).
 *
 * Why copies: a frame handed over without a copy is a Buffer over libzmq's memory, with a free
 * callback (zeromq.js's release: V8's external-memory count adjusted, libzmq's message closed)
 * that Node runs on the receiving thread after V8 has collected the Buffer. A collection that
 * finds a few thousand of them is followed by that many callbacks in a row, in the thread that
 * should be receiving. With copies, the p99 of a 10k msg/s stream of 1 KiB fell to about 0.6x,
 * with no throughput lost at 1 KiB (README "Receiving: copy, not zero-copy").
 *
 * How: zeromq.js 6 has no option for it. It decides once per process, at the first frame any
 * thread receives, whether it runs in Electron 21 or later (whose V8 memory cage forbids
 * external buffers), and if so copies every frame. So this receives one frame on an inproc pair
 * with `process.versions.electron` set, and removes the field again in the same synchronous
 * step: with a receive timeout of 0, zeromq.js reads a waiting frame inside `receive()` itself,
 * or fails at once without deciding anything. Only code that runs during that call (an
 * async_hooks init hook) could see the field. It must come before any other receive in the
 * process: the supervisor runs it before it loads the service or opens a socket. Either way the
 * frame received tells what was decided, so a receive that came first, or a zeromq.js that
 * decides otherwise, shows in the result. In Electron itself (the field already set) the field is
 * left alone.
 */
export async function settleReceiveCopies(wanted: boolean): Promise<boolean> {
  let sender: Pair | undefined
  let receiver: Pair | undefined
  try {
    sender = new Pair({ linger: 0, sendTimeout: 0 })
    receiver = new Pair({ linger: 0, receiveTimeout: 0 })
    const address = `inproc://zc-receive-copies-${process.pid}-${Math.random().toString(36).slice(2)}`
    sender.bindSync(address)
    receiver.connect(address)
    // Queued on the inproc pipe at once: the receive below finds it waiting.
    const sent = sender.send(Buffer.alloc(PROBE_BYTES))
    const versions = process.versions as Record<string, string | undefined>
    const pretend = wanted && versions.electron === undefined
    let received: Promise<Buffer[]>
    if (pretend) versions.electron = '21.0.0'
    try {
      received = receiver.receive()
    } finally {
      if (pretend) delete versions.electron
    }
    const [[frame]] = await Promise.all([received, sent])
    return frame !== undefined && isTransferable(frame)
  } catch {
    return false
  } finally {
    sender?.close()
    receiver?.close()
  }
}

/**
 * Whether `frame` can be transferred to another thread, which tells an ordinary Buffer from
 * zeromq.js's external one: Node marks a Buffer over external memory untransferable, so
 * transferring its ArrayBuffer either leaves it attached (Node 20) or throws (later Node). The
 * frame is spent either way.
 */
export function isTransferable(frame: Buffer): boolean {
  const buffer = frame.buffer as ArrayBuffer
  const { port1, port2 } = new MessageChannel()
  try {
    port1.postMessage(buffer, [buffer])
    return buffer.byteLength === 0
  } catch {
    return false
  } finally {
    port1.close()
    port2.close()
  }
}
