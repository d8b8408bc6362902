import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads'
import type { Config, SocketSpec } from '../shared/config'
import { withDeadline } from '../shared/deadline'
import type { Logger } from '../shared/logger'
import { threadEntry } from '../shared/paths'
import type { FromRecorder, RecorderInit, RecordLink, ToRecorder } from '../shared/protocol'
import {
  BUDGET_WORDS,
  countsBuffer,
  type RecordCounts,
  readCounts,
  TALLY,
  TALLY_WORDS,
} from '../shared/record-batch'

export type { RecordCounts } from '../shared/record-batch'

/** One receive thread's line to the recorder, and what to do once that thread is gone. */
export interface RecordConnection {
  readonly link: RecordLink
  /**
   * Call once the receive thread has ended: what it captured and never posted (it was
   * terminated in a hung handler, or crashed) is counted as lost, and its bytes freed.
   */
  readonly release: () => void
}

/** Once the file is finished, how long the recorder thread may take to end by itself. */
const EXIT_GRACE_MS = 1000

/**
 * Once the stop's time is up (what waits for the writer counted as lost), how long the file's end
 * may take: the batch in the writer, the last chunk, summary and footer. Milliseconds normally;
 * the bound is for a disk that hangs, and fits the 1 s margin README asks of an orchestrator's
 * grace period beyond ZC_SHUTDOWN_TIMEOUT_MS.
 */
export const RECORDER_FINISH_MS = 1000

/**
 * The main thread's side of container recording: starts the recorder thread
 * (recorder/recorder-thread.ts), which owns the MCAP writer; hands each receive thread a port
 * straight to it; reads the counts it keeps in shared memory; tells it to close once the receive
 * threads have stopped. The main thread's event loop is not in the path of any message.
 */
export class ContainerRecorder {
  /** Shared by every receive thread and the recorder (see worker/record-capture.ts). */
  readonly budget: SharedArrayBuffer
  readonly #counts: BigInt64Array
  readonly #sockets: readonly string[]
  readonly #worker: Worker
  readonly #port: MessagePort
  readonly #log: Logger
  readonly #file: string
  /** Settles with the recorder's `closed` message, or undefined if the thread ended without. */
  readonly #closed: Promise<Extract<FromRecorder, { type: 'closed' }> | undefined>
  readonly #exited: Promise<number>
  /** Word 0 set to 1: the stop's time is up (see RecorderInit.hurry). */
  readonly #hurry: Int32Array
  #closing: Promise<void> | undefined
  /** The wait for the file's end was given up: nothing more is logged about it. */
  #gaveUp = false
  #ended = false

  private constructor(worker: Worker, port: MessagePort, counts: SharedArrayBuffer, o: Opened) {
    this.#hurry = new Int32Array(o.hurry, 0, 1)
    this.#worker = worker
    this.#port = port
    this.#counts = new BigInt64Array(counts)
    this.#sockets = o.sockets
    this.#log = o.log
    this.#file = o.file
    this.#exited = o.exited
    void o.exited.then(() => {
      this.#ended = true
    })
    this.budget = o.budget
    this.#closed = new Promise((resolve) => {
      const onMessage = (message: FromRecorder) => {
        if (message.type === 'closed') resolve(message)
        else if (message.type === 'failed')
          this.#log.error({ err: message.error, file: message.file }, 'recording failed')
      }
      port.on('message', onMessage)
      void o.exited.then(() => {
        // The port is not ordered with 'exit': read what the thread said before it ended.
        for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
          onMessage(m.message as FromRecorder)
        resolve(undefined)
      })
    })
  }

  /**
   * Starts the recorder thread and waits until it has created the file; an error there (no such
   * folder, no permission) rejects, with the error's code, and fails start-up.
   */
  static async open(
    config: Config,
    sockets: readonly SocketSpec[],
    log: Logger,
  ): Promise<ContainerRecorder> {
    const record = config.record
    if (!record) throw new Error('ContainerRecorder needs ZMQ_RECORD_FILE')
    const sources = sockets.map((s) => ({
      socket: s.name,
      endpoint: s.endpoints.map((e) => `${e.action} ${e.address}`).join(', '),
    }))
    const counts = countsBuffer(sockets.length)
    const { port1, port2 } = new MessageChannel()
    const budget = new SharedArrayBuffer(BUDGET_WORDS * Int32Array.BYTES_PER_ELEMENT)
    const hurry = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)
    const init: RecorderInit = {
      config,
      file: {
        socket: sources.map((s) => s.socket).join(', '),
        endpoint: sources.map((s) => s.endpoint).join(', '),
        extra: Object.fromEntries(
          sockets.map((s) => [`zmq.subscriptions.${s.name}`, s.topics.join(',')]),
        ),
      },
      sources,
      budget,
      counts,
      hurry,
      port: port2,
    }
    const worker = new Worker(threadEntry('recorder'), {
      workerData: init,
      transferList: [port2],
      name: 'recorder',
    })
    worker.on('error', (error) => log.error({ err: error }, 'recorder thread crashed'))
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve))
    let started = false
    const first = await new Promise<FromRecorder | undefined>((resolve) => {
      port1.once('message', resolve)
      // The port is not ordered with 'exit': read what the thread said (`failed`) before it
      // ended. Only during start-up: later messages (`closed`) are the constructor's to read.
      void exited.then(() => {
        if (!started) resolve(receiveMessageOnPort(port1)?.message as FromRecorder | undefined)
      })
    })
    started = true
    if (first?.type !== 'opened') {
      const cause = first?.type === 'failed' ? first.error : undefined
      await exited
      throw Object.assign(new Error(cause?.message ?? 'the recorder thread ended'), {
        ...(cause?.code ? { code: cause.code } : {}),
      })
    }
    log.info({ file: record.file, compression: record.compression }, 'recording')
    return new ContainerRecorder(worker, port1, counts, {
      sockets: sockets.map((s) => s.name),
      log,
      file: record.file,
      exited,
      budget,
      hurry,
    })
  }

  /** Per SUB socket: received by the recorder = recorded + overflow + skipped + lost. */
  get counts(): Map<string, RecordCounts> {
    return new Map(this.#sockets.map((socket, i) => [socket, readCounts(this.#counts, i)]))
  }

  /**
   * The wait for the file's end was given up and the thread still runs: it is blocked (in a
   * write the disk never completes, say). Neither terminate() nor process.exit() can end a thread
   * blocked in a file write (both wait for it), so the process must end with SIGKILL.
   */
  get stuck(): boolean {
    return this.#gaveUp && !this.#ended
  }

  /** A new line for a receive thread of `socket`: one per thread, as a restart makes a new one. */
  connect(socket: string): RecordConnection {
    const { port1, port2 } = new MessageChannel()
    this.#send({ type: 'connect', socket, port: port2 }, [port2])
    const tally = new SharedArrayBuffer(TALLY_WORDS * Int32Array.BYTES_PER_ELEMENT)
    const words = new Int32Array(tally)
    return {
      link: { budget: this.budget, port: port1, tally },
      release: () => {
        const messages = words[TALLY.messages] as number
        const overflow = words[TALLY.overflow] as number
        const skipped = words[TALLY.skipped] as number
        if (messages === 0 && overflow === 0 && skipped === 0) return
        const bytes = words[TALLY.bytes] as number
        words.fill(0)
        this.#send({ type: 'lost', socket, messages, bytes, overflow, skipped })
      },
    }
  }

  /**
   * The stop's time is up (the shutdown deadline, a second signal): batches still waiting for the
   * writer are counted as lost instead of written, so the file gets its summary and footer within
   * moments, however long the backlog. The recorder checks before each batch.
   */
  hurry(): void {
    Atomics.store(this.#hurry, 0, 1)
  }

  #send(message: ToRecorder, transfer?: MessagePort[]): void {
    this.#port.postMessage(message, transfer)
  }

  /**
   * Tells the recorder to write what is queued and end the file (summary, footer), and waits for
   * it. Past `writeForMs` (what remains of the shutdown deadline; 0 after a second signal), what
   * still waits for the writer is counted as lost ({@link hurry}) and the file is ended at once;
   * that gets at most `finishMs` more, then the wait is given up (an error line; the file may lack
   * its footer). Call after the receive threads stopped: each posted its last batch before it
   * said so. Idempotent: a later call can only shorten the wait.
   */
  async close(writeForMs = Number.POSITIVE_INFINITY, finishMs = RECORDER_FINISH_MS): Promise<void> {
    this.#closing ??= this.#close()
    if (!Number.isFinite(writeForMs)) return this.#closing
    const closed = this.#closing.then(() => true)
    if (await withDeadline(closed, writeForMs, false)) return
    if (Atomics.load(this.#hurry, 0) === 0) {
      this.hurry()
      // Taken by receive threads and not yet written (the batch in the writer included).
      const waitingBytes = Atomics.load(new Int32Array(this.budget, 0, BUDGET_WORDS), 0)
      if (waitingBytes > 0)
        this.#log.warn(
          { file: this.#file, writeForMs: Math.round(writeForMs), waitingBytes },
          'recording: shutdown deadline reached; what still waits for the writer is counted as lost',
        )
    }
    if (await withDeadline(closed, finishMs, false)) return
    if (this.#gaveUp) return
    this.#gaveUp = true
    this.#log.error(
      { file: this.#file, finishMs, sockets: Object.fromEntries(this.counts) },
      'recording not finished in time; the file may lack its summary and footer',
    )
  }

  async #close(): Promise<void> {
    this.#send({ type: 'close' })
    const closed = await this.#closed
    // Given up already (see close): the container's last line may be out; nothing after it.
    if (this.#gaveUp) return
    if (closed?.error) this.#log.error({ err: closed.error, file: closed.file }, 'recording failed')
    this.#log.info(
      { file: closed?.file ?? this.#file, sockets: Object.fromEntries(this.counts) },
      closed ? 'recording closed' : 'recording ended without closing the file',
    )
    // It has no zeromq sockets, so terminating it is safe; it ends by itself all the same.
    if ((await withDeadline(this.#exited, EXIT_GRACE_MS, 'running')) === 'running')
      await this.#worker.terminate()
  }
}

interface Opened {
  readonly sockets: readonly string[]
  readonly log: Logger
  readonly file: string
  readonly exited: Promise<number>
  readonly budget: SharedArrayBuffer
  readonly hurry: SharedArrayBuffer
}
