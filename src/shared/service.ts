import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Config, LatencyClass, SocketSpec } from './config'
import { defineService, SERVICE_KEYS, unknownServiceKeys } from './define-service'
import { type ConfigIssue, errorCode, ZcError } from './errors'
import type { Logger } from './logger'
import { previewPayload } from './payload-preview'

/** One inbound message, already checked: exactly `[topic, payload]`, a valid, subscribed topic. */
export interface Message {
  readonly topic: string
  readonly payload: Buffer
  /** Name of the socket it arrived on (`sub`, or the lower-cased `<NAME>`). */
  readonly socket: string
  readonly latencyClass: LatencyClass
  /** `performance.now()` in the receiving thread when the frames arrived. */
  readonly receivedAt: number
  /**
   * With ZMQ_SUB_ENVELOPE and an enveloped sender (undefined otherwise): the message's sequence
   * number on its topic from its publisher (from 1), its send time (ms since the Unix epoch, wall
   * clock of the sender, with sub-millisecond fraction), and the publisher (`<source>-<epoch>`, hex).
   */
  readonly seq?: number
  readonly sentAt?: number
  readonly publisher?: string
}

export type Payload = Buffer | Uint8Array | string

export interface PublishOptions {
  /** PUB socket name; needed only for an undeclared topic when several PUB sockets exist. */
  readonly socket?: string
  /**
   * From a handler: hand the payload's memory to the main thread instead of copying it (a
   * camera frame, say). The payload must own its whole ArrayBuffer (not a slice of a shared
   * pool) and is unusable afterwards. Ignored where no thread boundary is crossed.
   */
  readonly transfer?: boolean
}

/** What a handler may do. Handlers run in the socket's own worker thread. */
export interface HandlerContext {
  /** Publishes through the main thread, which owns the PUB sockets. Throws on an invalid topic. */
  publish(topic: string, payload: Payload, options?: PublishOptions): void
  /** Sends plain data to the service's `start` context in the main thread (`onWorkerMessage`). */
  toMain(data: unknown): void
  /**
   * Asks the main thread and waits for its answer (`onWorkerCall` in `start`): how a handler
   * reads or changes state the main thread owns, such as a camera's frame rate.
   */
  callMain(data: unknown): Promise<unknown>
  readonly log: Logger
  readonly socket: SocketSpec
}

export type Handler = (message: Message, ctx: HandlerContext) => void | Promise<void>

/**
 * Answers one request on a REP socket (`topic` is empty: a request is one frame). The value is
 * sent back as `['OK', value]`; a throw or rejection becomes `['ERR', message]`, never silence.
 */
export type ReplyHandler = (request: Message, ctx: HandlerContext) => Payload | Promise<Payload>

/** What `start` gets, in the main thread. */
export interface MainContext {
  /** Returns false when the message was dropped (queue full, or publishing has stopped). */
  publish(topic: string, payload: Payload, options?: PublishOptions): boolean
  /** Data a handler sent with `ctx.toMain`, with the name of the socket whose worker sent it. */
  onWorkerMessage(listener: (data: unknown, socket: string) => void): void
  /** Answers `ctx.callMain` from handlers; the value (plain data) goes back to the caller. */
  onWorkerCall(answer: (data: unknown, socket: string) => unknown | Promise<unknown>): void
  readonly log: Logger
  readonly config: Config
  /** Aborted when shutdown begins; stop timers and loops on it. */
  readonly signal: AbortSignal
}

/**
 * A service: handlers per inbound socket name (`'*'` for any other), and an optional `start`
 * for work the main thread drives, such as periodic publishing. `start` may return a function
 * that shutdown awaits before the PUB sockets close.
 */
export interface Service {
  readonly handlers?: Readonly<Record<string, Handler>>
  /** Reply handlers per REP socket name (`'*'` for any other). */
  readonly replies?: Readonly<Record<string, ReplyHandler>>
  // biome-ignore lint/suspicious/noConfusingVoidType: a start() that returns nothing is typed void
  start?(ctx: MainContext): void | StopFn | Promise<void | StopFn>
}

export type StopFn = () => void | Promise<void>

export { defineService } from './define-service'

/**
 * The seed's behaviour when no service is chosen: log each message received (topic and
 * payload), publish nothing.
 */
export const loggingService: Service = defineService({
  handlers: {
    '*': (message, ctx) => {
      ctx.log.info(
        {
          topic: message.topic,
          bytes: message.payload.length,
          payload: previewPayload(message.payload),
        },
        'received',
      )
    },
  },
})

const BUILT_IN_NAME_RE = /^[a-z][a-z0-9-]*$/

/**
 * Resolves `ZC_SERVICE`: a built-in example name (`camera`, `dashboard`) or a path to a module,
 * relative to `cwd`. Returns undefined for the logging service.
 */
export function resolveServicePath(
  service: string | undefined,
  cwd = process.cwd(),
): string | undefined {
  if (service === undefined) return undefined
  if (BUILT_IN_NAME_RE.test(service)) {
    // The main thread's call: required here, so a receive thread, which loads this module too,
    // does not load paths.js (outside its bundle) for nothing.
    const { builtInServicePath } = require('./paths') as typeof import('./paths')
    const builtIn = builtInServicePath(service)
    if (existsSync(builtIn)) return builtIn
  }
  const candidate = path.resolve(cwd, service)
  if (existsSync(candidate)) return candidate
  throw new ZcError(
    'ZC_ERR_SERVICE_LOAD',
    `ZC_SERVICE: "${service}" is neither a built-in service (camera, dashboard) nor an existing file`,
  )
}

/** Loads a service module: its default export, or the module itself, must be a Service. */
export async function loadService(servicePath: string | undefined): Promise<Service> {
  if (servicePath === undefined) return loggingService
  let mod: unknown
  try {
    mod = require(servicePath)
  } catch (error) {
    // An ES module: import() it (Node 20 before 20.19 cannot require one; later versions cannot
    // require one with top-level await).
    const code = errorCode(error)
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE')
      throw new ZcError(
        'ZC_ERR_SERVICE_LOAD',
        `cannot load service ${servicePath}: ${String(error)}${syntaxErrorPlace(error, servicePath)}`,
        { cause: error },
      )
    // Required here, not at the top: every receive thread loads this module, and a file outside
    // its bundle (import-module.js must be) costs a thread its lookup and compile at start-up.
    const { importModule } = require('./import-module') as typeof import('./import-module')
    const { pathToFileURL } = require('node:url') as typeof import('node:url')
    mod = await importModule(pathToFileURL(servicePath).href)
  }
  const exported = (mod as { default?: unknown } | null)?.default ?? mod
  const problem = serviceShapeProblem(exported)
  if (problem)
    throw new ZcError(
      'ZC_ERR_SERVICE_LOAD',
      `service ${servicePath} ${problem}; it must export { handlers?, replies?, start? }, e.g. module.exports = defineService({ handlers: { '*': (message, ctx) => {} } })`,
    )
  return exported as Service
}

/**
 * Where a module's syntax error is. For CommonJS Node puts `file:line` as the stack's first line
 * (and no more in the message); for an ES module nowhere, so `node --check` of the file, which
 * prints it the same way, tells. Only ever on this error path. Empty for any other error.
 */
function syntaxErrorPlace(error: unknown, file: string): string {
  if (!(error instanceof SyntaxError)) return ''
  const firstLine = /^(.+:\d+)\n/
  let place = firstLine.exec(error.stack ?? '')?.[1]
  if (!place) {
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
    const checked = spawnSync(process.execPath, ['--check', file], {
      encoding: 'utf8',
      timeout: 10_000,
    })
    place = firstLine.exec(checked.stderr ?? '')?.[1]
  }
  return place ? ` (at ${place})` : ''
}

/**
 * What is wrong with what a service module exported, if anything. A module that exports none
 * of a service's parts (it forgot `module.exports`, or misnamed every key) would otherwise run
 * as the logging service without a word. Other keys beside a service's own are let be: a
 * module may export helpers too (an ES module's named exports, say).
 */
function serviceShapeProblem(exported: unknown): string | undefined {
  if (exported === null || typeof exported !== 'object')
    return `exports ${exported === null ? 'null' : typeof exported}, not a service object`
  const service = exported as Record<string, unknown>
  const own = SERVICE_KEYS.filter((key) => service[key] !== undefined)
  if (own.length === 0) {
    const unknown = unknownServiceKeys(service)
    return unknown.length === 0
      ? 'exports nothing (no handlers, replies or start: did it forget module.exports?)'
      : `exports ${unknown.map((k) => `"${k}"`).join(', ')}, none of which is part of a service`
  }
  for (const map of ['handlers', 'replies'] as const) {
    const handlers = service[map]
    if (handlers === undefined) continue
    if (handlers === null || typeof handlers !== 'object') return `has ${map} that is not an object`
    for (const [key, handler] of Object.entries(handlers))
      if (typeof handler !== 'function')
        return `has ${map}["${key}"] that is ${typeof handler}, not a function`
  }
  if (service.start !== undefined && typeof service.start !== 'function')
    return `has start that is ${typeof service.start}, not a function`
  return undefined
}

/**
 * Keys of `handlers` and `replies` that name no configured socket of their kind. Such a key would
 * never be called, and the socket would fall back to `'*'` or the default (logging or echo) in
 * silence: a typo, or a key copied from another container's wiring.
 */
export function serviceKeyIssues(service: Service, sockets: readonly SocketSpec[]): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const names = (kind: SocketSpec['kind']) =>
    sockets.filter((s) => s.kind === kind).map((s) => s.name)
  const check = (map: 'handlers' | 'replies', kind: 'sub' | 'rep') => {
    const valid = names(kind)
    for (const key of Object.keys(service[map] ?? {})) {
      if (key === '*' || valid.includes(key)) continue
      const other = sockets.find((s) => s.name === key)
      const hint = other
        ? `; ${key} is a ${other.kind.toUpperCase()} socket${other.kind === 'pub' ? ', which receives nothing' : `, so put it under ${kind === 'sub' ? 'replies' : 'handlers'}`}`
        : ''
      issues.push({
        variable: 'ZC_SERVICE',
        problem: `the service's ${map} key "${key}" names no ${kind.toUpperCase()} socket; the ${kind.toUpperCase()} sockets are ${valid.length > 0 ? valid.join(', ') : '(none configured)'} (the unnamed ZMQ_${kind.toUpperCase()}_* socket is "${kind}", a named one its lower-cased <NAME>), or use '*' for any${hint}`,
        example: '',
      })
    }
  }
  check('handlers', 'sub')
  check('replies', 'rep')
  return issues
}

/** The handler for a socket: its own, else `'*'`, else the logging handler. */
export function replyHandlerFor(service: Service, socket: string): ReplyHandler {
  return service.replies?.[socket] ?? service.replies?.['*'] ?? echoReply
}

/** With no reply handler, a REP socket echoes: enough to check reachability. */
const echoReply: ReplyHandler = (request) => request.payload

export function handlerFor(service: Service, socket: string): Handler {
  return (
    service.handlers?.[socket] ??
    service.handlers?.['*'] ??
    (loggingService.handlers?.['*'] as Handler)
  )
}
