import type { Level } from 'pino'

/** One log line operators and tests look for: its `msg`, and the levels it is written at. */
export interface LogMessage {
  readonly msg: string
  /** The usual level first; a line whose level depends on the case lists each. */
  readonly levels: readonly Level[]
}

/**
 * The log messages the README's Logs table documents: what operators grep for and tests wait
 * on. The call sites keep their literal strings (a log line reads best where it is written);
 * test/readme-tables.test.ts checks this registry against the README both ways and that each
 * message still occurs in src/ as a log call's message, so renaming one fails there, not in a
 * dashboard. Tests may import it instead of repeating the strings.
 */
export const LOG_MESSAGES = {
  starting: { msg: 'starting', levels: ['info'] },
  ready: { msg: 'ready', levels: ['info'] },
  unknownVariable: { msg: 'unknown variable', levels: ['warn'] },
  startupFailed: { msg: 'start-up failed', levels: ['fatal'] },
  publisherReady: { msg: 'publisher ready', levels: ['info'] },
  subscribed: { msg: 'subscribed', levels: ['info'] },
  subscriberAttached: { msg: 'subscriber attached', levels: ['info'] },
  subscriberDetached: { msg: 'subscriber detached', levels: ['info'] },
  publishing: { msg: 'publishing', levels: ['info'] },
  received: { msg: 'received', levels: ['info'] },
  /** `error` for a handler error, `warn` for every other reason. */
  messageDropped: { msg: 'message dropped', levels: ['warn', 'error'] },
  heldBack: { msg: 'similar log lines held back', levels: ['warn', 'error'] },
  /** `debug` for routine events, `info` for a handshake or an inbound disconnect, `warn` else. */
  socketEvent: { msg: 'socket event', levels: ['info', 'debug', 'warn'] },
  connectionChurn: { msg: 'connection churn: events past the limit, counted', levels: ['info'] },
  peerConnected: { msg: 'peer connected', levels: ['info'] },
  peerLost: { msg: 'peer lost', levels: ['warn'] },
  peerBack: { msg: 'peer back', levels: ['info'] },
  reconnecting: { msg: 'reconnecting: libzmq gave up on this connection', levels: ['warn'] },
  workerFailed: { msg: 'receive worker failed', levels: ['error'] },
  workerRestarting: { msg: 'restarting receive worker', levels: ['warn'] },
  workerRestarted: { msg: 'receive worker restarted', levels: ['info'] },
  workerOutOfMemory: { msg: 'receive worker out of memory; stopping', levels: ['error'] },
  restartLimitReached: { msg: 'restart limit reached', levels: ['error'] },
  latencyBudgetExceeded: { msg: 'latency budget exceeded', levels: ['warn'] },
  // Issue 16: an `_ENVELOPE` SUB's sequence, and `_DEADLINE_MS`.
  messagesLost: { msg: 'messages lost', levels: ['warn'] },
  publisherRestarted: { msg: 'publisher restarted', levels: ['info'] },
  deadlineMissed: { msg: 'deadline missed', levels: ['warn'] },
  deadlineRecovered: { msg: 'deadline recovered', levels: ['info'] },
  threadPrioritySet: { msg: 'thread priority set', levels: ['info'] },
  threadPriorityNotSet: { msg: 'thread priority not set', levels: ['warn'] },
  threadSliceSet: { msg: 'thread slice set', levels: ['info'] },
  threadSliceNotSet: { msg: 'thread slice not set', levels: ['warn'] },
  receiveCopiesNotAsConfigured: { msg: 'receive copies not as configured', levels: ['warn'] },
  httpListening: { msg: 'http listening', levels: ['info'] },
  subscriberWaitTimedOut: {
    msg: 'subscriber wait timed out; not ready until they attach',
    levels: ['warn'],
  },
  workerStopped: { msg: 'receive worker stopped', levels: ['info'] },
  /** Always the last line, at every LOG_LEVEL. */
  stopped: { msg: 'stopped', levels: ['info'] },
} as const satisfies Record<string, LogMessage>
