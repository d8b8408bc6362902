import { MessageChannel } from 'node:worker_threads'
import { Pair } from 'zeromq'

/** A frame above zeromq.js's zero-copy threshold (128 bytes), so the check below can tell. */
const PROBE_BYTES = 256

/**
 * Makes zeromq.js copy every frame that any thread of this process receives into an ordinary
 * Buffer, instead of handing a frame over 128 bytes to JavaScript without a copy. Resolves true
 * when that is in effect, checked on a received frame; false when it could not be.
 *
 * Why: a frame handed over without a copy is a Buffer over libzmq's memory, with a free callback
 * (zeromq.js's release: V8's external-memory count adjusted, libzmq's message closed) that Node
 * runs on the receiving thread after V8 has collected the Buffer. A collection that finds a few
 * thousand of them is followed by that many callbacks in a row, in the thread that should be
 * receiving. With copies, the p99 of a 10k msg/s stream of 1 KiB fell to about 0.6x, at no
 * measurable cost in throughput or start-up (README "Receiving: copy, not zero-copy"). pyzmq
 * copies frames below 64 KiB for the same kind of reason.
 *
 * How: zeromq.js 6 has no option for it. It decides once per process, at the first frame any
 * thread receives, whether it runs in Electron 21 or later (whose V8 memory cage forbids
 * external buffers), and if so copies every frame. So this receives one frame on an inproc pair
 * with `process.versions.electron` set, synchronously (zeromq.js reads a frame already queued
 * inside `receive()`), and removes the field before any other code can see it. It must run
 * before any other receive in the process: the supervisor calls it first thing. If zeromq.js
 * ever reads the frame later, or a receive came first, the frame checked is not a copy and the
 * result says so. In Electron itself (the field already set) nothing is changed.
 */
export async function copyReceivedFrames(): Promise<boolean> {
  const sender = new Pair({ linger: 0 })
  const receiver = new Pair({ linger: 0 })
  try {
    const address = `inproc://zc-receive-copies-${process.pid}-${Math.random().toString(36).slice(2)}`
    sender.bindSync(address)
    receiver.connect(address)
    // Queued on the inproc pipe at once: the receive below finds it waiting.
    const sent = sender.send(Buffer.alloc(PROBE_BYTES))
    const versions = process.versions as Record<string, string | undefined>
    const pretend = versions.electron === undefined
    let received: Promise<Buffer[]>
    if (pretend) versions.electron = '21.0.0'
    try {
      received = receiver.receive()
    } finally {
      if (pretend) delete versions.electron
    }
    const [[frame]] = await Promise.all([received, sent])
    return frame !== undefined && isCopy(frame)
  } finally {
    sender.close()
    receiver.close()
  }
}

/**
 * Whether `frame` is an ordinary Buffer, not zeromq.js's external one: Node marks a Buffer over
 * external memory untransferable, so transferring its ArrayBuffer either leaves it attached
 * (Node 20) or throws (later Node); an ordinary one is detached. The frame is spent either way.
 */
export function isCopy(frame: Buffer): boolean {
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
