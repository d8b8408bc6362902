import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads'
import type { Config, SocketSpec } from '../shared/config'
import { withDeadline } from '../shared/deadline'
import {
  ERROR_CODES,
  type ErrorCode,
  type SerializedError,
  serializeError,
  ZcError,
} from '../shared/errors'
import type { Logger } from '../shared/logger'
import {
  assertNever,
  type FromWorker,
  type StopReason,
  send,
  type WorkerInit,
} from '../shared/protocol'
import { SocketCounters } from '../shared/shared-state'
import type { RecordConnection } from './container-recorder'
import { RECEIVE_ENTRY, receiveThreadOptions, takeEarlyThread } from './receive-threads'

/** How a join ended. */
export type JoinOutcome =
  /** The worker stopped by itself: it closed its socket and reported, or its thread ended. */
  | 'joined'
  /** The deadline passed in a safe state (stuck in a handler); the thread was terminated. */
  | 'terminated'
  /**
   * The deadline passed with native zeromq work in flight and the thread's event loop blocked
   * (a timer that never returns, say). Neither terminate() nor process.exit() is safe now: both
   * abort the process (zeromq.js#411). The owner must end the process without tearing down the
   * thread (main.ts sends itself SIGKILL).
   */
  | 'stuck'

export interface WorkerHandleOptions {
  readonly socket: SocketSpec
  readonly config: Config
  readonly servicePath: string | undefined
  readonly log: Logger
  /** Counters that outlive this worker (a restart reuses them). */
  readonly counters?: SocketCounters
  /** Thread entry; tests point this at fixture workers. */
  readonly entry?: string
  readonly onPublish: (message: Extract<FromWorker, { type: 'publish' }>) => void
  readonly onServiceMessage: (data: unknown, socket: string) => void
  /** Answers a handler's `ctx.callMain`. */
  readonly onCall: (data: unknown, socket: string) => Promise<unknown>
  /** A failure after the ready handshake, including a thread that ended on its own. */
  readonly onFailure: (error: SerializedError) => void
  /** ZMQ_RECORD_FILE: a new line to the recorder thread for each worker (a restart, too). */
  readonly record?: () => RecordConnection
}

/**
 * Where a handle is in its worker's life. `starting`: spawned, no ready handshake yet.
 * `running`: ready; a failure or an exit now is news for the owner. `stopping`: a stop was
 * requested (before or after ready), so a failure or an exit is the end the owner asked for.
 * `terminating`: terminate() was called (only after the worker stopped, or at a deadline).
 */
export type HandlePhase = 'starting' | 'running' | 'stopping' | 'terminating'

/** What moves a handle on: the worker's ready handshake, a stop request, a terminate(). */
export type HandleEvent = 'ready' | 'stop' | 'terminate'

const TRANSITIONS: Record<HandlePhase, Partial<Record<HandleEvent, HandlePhase>>> = {
  starting: { ready: 'running', stop: 'stopping', terminate: 'terminating' },
  running: { stop: 'stopping', terminate: 'terminating' },
  // A worker that was told to stop may still report ready (the two messages crossed): it is
  // stopping all the same.
  stopping: { terminate: 'terminating' },
  terminating: {},
}

/** The one transition function of a handle; undefined when `event` does not move `phase`. */
export function nextHandlePhase(phase: HandlePhase, event: HandleEvent): HandlePhase | undefined {
  return TRANSITIONS[phase][event]
}

/**
 * One receive worker thread and its private control port: a ready handshake with a timeout,
 * a typed stop request, and a join with a deadline that terminates only when that is safe.
 */
export class WorkerHandle {
  readonly socket: SocketSpec
  readonly counters: SocketCounters
  readonly #options: WorkerHandleOptions
  readonly #worker: Worker
  readonly #port: MessagePort
  /** Settles with the exit code; never rejects (a worker 'error' is followed by 'exit'). */
  readonly #exited: Promise<number>
  /** Settles when the worker reports `stopped`: its socket is closed. */
  readonly #stopped: Promise<void>
  /** Settles once: undefined on `ready`, the error on a start failure or an early exit. */
  readonly #readiness: Promise<SerializedError | undefined>
  #resolveStopped: () => void = () => {}
  #resolveReadiness: (error: SerializedError | undefined) => void = () => {}
  #phase: HandlePhase = 'starting'
  readonly #recording: RecordConnection | undefined

  constructor(options: WorkerHandleOptions) {
    this.#options = options
    this.socket = options.socket
    this.counters = options.counters ?? new SocketCounters()
    this.counters.resetForRestart()
    const { port1, port2 } = new MessageChannel()
    const recording = options.record?.()
    this.#recording = recording
    const init: WorkerInit = {
      socket: options.socket,
      config: options.config,
      servicePath: options.servicePath,
      port: port2,
      counters: this.counters.buffer,
      ...(recording ? { record: recording.link } : {}),
    }
    const transferList = recording ? [port2, recording.link.port] : [port2]
    // The first thread of a socket may have been started early, by the entry script, and has
    // loaded its modules meanwhile: it gets its init as a message (see receive-threads.ts).
    const early = options.entry === undefined ? takeEarlyThread(options.socket.name) : undefined
    if (early) early.postMessage(init, transferList)
    this.#worker =
      early ??
      new Worker(options.entry ?? RECEIVE_ENTRY, {
        workerData: init,
        transferList,
        ...receiveThreadOptions(options.config, options.socket),
      })
    this.#port = port1
    this.#readiness = new Promise((resolve) => {
      this.#resolveReadiness = resolve
    })
    this.#stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve
    })
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve))
    void this.#exited.then((code) => this.#onExit(code))
    this.#worker.on('error', (error) => {
      // Only reached if the worker's own guards failed (or it ran out of memory).
      options.log.error({ err: error, socket: this.socket.name }, 'receive worker crashed')
    })
    port1.on('message', (message: FromWorker) => this.#onMessage(message))
  }

  /** Resolves once the worker is receiving; rejects with a ZcError otherwise. */
  async ready(timeoutMs: number): Promise<void> {
    const timeout: SerializedError = {
      name: 'Timeout',
      message: `not ready within ${timeoutMs} ms`,
    }
    const error = await withDeadline(this.#readiness, timeoutMs, timeout)
    if (!error) return
    // Keep the worker's own code (a failed bind is ZC_ERR_BIND_FAILED, not a start failure).
    const code: ErrorCode =
      error.code && error.code in ERROR_CODES ? (error.code as ErrorCode) : 'ZC_ERR_WORKER_START'
    const message =
      code === 'ZC_ERR_WORKER_START'
        ? `${this.socket.envPrefix}: receive worker ${error.message}`
        : error.message
    throw new ZcError(code, message)
  }

  get phase(): HandlePhase {
    return this.#phase
  }

  /** Moves the phase on; false when `event` does not apply in the current phase. */
  #on(event: HandleEvent): boolean {
    const next = nextHandlePhase(this.#phase, event)
    if (next === undefined) return false
    this.#phase = next
    return true
  }

  /** Asks the worker to close its socket and end. Idempotent; safe before `ready`. */
  requestStop(reason: StopReason): void {
    if (!this.#on('stop')) return
    this.counters.requestStop()
    send(this.#port, { type: 'shutdown', reason })
  }

  /**
   * Waits until the worker has stopped (reported `stopped`, or its thread ended). At the deadline
   * the thread is terminated if its state allows it, and reported `stuck` if not.
   */
  async join(deadlineMs: number): Promise<JoinOutcome> {
    const done = Promise.race([this.#exited, this.#stopped]).then(() => true)
    if (await withDeadline(done, deadlineMs, false)) {
      // A reported stop means the socket is closed: whatever still holds the thread open (a
      // service's timer, say) can be cut, and is not a failure to stop. Still checked: cutting
      // a thread with native work in flight aborts the process.
      if (!this.counters.claimTerminate()) return 'stuck'
      await this.#terminate()
      return 'joined'
    }
    if (!this.counters.claimTerminate()) return 'stuck'
    await this.#terminate()
    return 'terminated'
  }

  /** For a second signal: terminates now if that is safe. Returns false if it is not (yet). */
  async terminateIfSafe(): Promise<boolean> {
    if (!this.counters.claimTerminate()) return false
    await this.#terminate()
    return true
  }

  async #terminate(): Promise<void> {
    this.#on('terminate')
    await this.#worker.terminate()
  }

  #onExit(code: number): void {
    // The port is not ordered with 'exit': a worker that posted `failed` (its bind failed, say)
    // and ended can be seen exiting first. Read what it said before calling it an early exit.
    for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port))
      this.#onMessage(m.message as FromWorker)
    // Terminated in a hung handler, or crashed: what it captured and never posted is counted.
    this.#recording?.release()
    const stopRequested = this.#phase === 'stopping' || this.#phase === 'terminating'
    const stopped = stopRequested
      ? 'stopped during start-up'
      : `exited with code ${code} during start-up`
    this.#resolveReadiness({ name: 'Exited', message: stopped })
    this.#resolveStopped()
    // A thread that ends on its own after start-up (process.exit in a handler, out of memory)
    // would otherwise leave its socket silently unserved.
    if (this.#phase === 'running')
      this.#options.onFailure({
        name: 'Exited',
        message: `receive worker exited with code ${code}`,
      })
  }

  #onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.#on('ready')
        this.#resolveReadiness(undefined)
        return
      case 'failed':
        // Once running, a failure is the owner's news; before, it fails the start (a no-op once
        // readiness has settled); after a stop request it is the end the owner asked for.
        if (message.phase === 'run' && this.#phase === 'running')
          this.#options.onFailure(message.error)
        else this.#resolveReadiness(message.error)
        return
      case 'stopped':
        this.#resolveStopped()
        return
      case 'publish':
        this.#options.onPublish(message)
        return
      case 'service':
        this.#options.onServiceMessage(message.data, this.socket.name)
        return
      case 'call': {
        const { id } = message
        const fail = (error: unknown) =>
          send(this.#port, { type: 'answer', id, ok: false, error: serializeError(error) })
        this.#options.onCall(message.data, this.socket.name).then((value) => {
          try {
            send(this.#port, { type: 'answer', id, ok: true, value })
          } catch (error) {
            // A value that cannot be cloned (a function, say) fails the call, not the container.
            fail(error)
          }
        }, fail)
        return
      }
      default:
        assertNever(message)
    }
  }
}
