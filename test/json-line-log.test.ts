// A receive thread writes its own log lines without pino (issue 14: pino cost each thread about
// 0.5 MiB and a few ms of start-up). Those lines must stay pino's lines, byte for byte, so
// anything that reads the container's log (the demo, log shippers, the harness) sees one format.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import pino from 'pino'
import type { LogLevel } from '../src/shared/config/types'
import { jsonLineLog } from '../src/shared/json-line-log'
import type { Log } from '../src/shared/log'
import { loggerOptions } from '../src/shared/logger'
import { ThreadLogs } from '../src/worker/thread-logs'

const BINDINGS = { socket: 'camera', class: 'telemetry' }

/** Both loggers, writing to arrays; the time, the one field that differs, made equal. */
function both(level: LogLevel = 'trace') {
  const fromPino: string[] = []
  const fromLineLog: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      fromPino.push(String(chunk))
      callback()
    },
  })
  const reference = pino(loggerOptions(level, BINDINGS), stream)
  const { base } = loggerOptions(level, BINDINGS)
  const lineLog = jsonLineLog(level, base as Record<string, unknown>, (line) =>
    fromLineLog.push(line),
  )
  const sameTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"')
  return {
    logs: [reference as Log, lineLog as Log],
    lines: () => ({ pino: fromPino.map(sameTime), lineLog: fromLineLog.map(sameTime) }),
  }
}

function errorWithExtras(): Error {
  const cause = new Error('connection refused')
  const error = new Error('camera offline', { cause }) as Error & { code?: string }
  error.code = 'ECAMERA'
  return error
}

describe('jsonLineLog', () => {
  it('writes the lines pino writes, for every kind of call the container makes', () => {
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } }
    const calls: Array<(log: Log) => void> = [
      (log) =>
        log.info({ endpoints: ['connect tcp://127.0.0.1:5555'], topics: ['a.b'] }, 'subscribed'),
      (log) => log.warn('a message alone'),
      (log) => log.error({ err: errorWithExtras(), topic: 'camera.frame' }, 'message dropped'),
      (log) => log.error({ err: errorWithExtras() }),
      (log) => log.error(errorWithExtras()),
      (log) => log.error(errorWithExtras(), 'with its own message'),
      (log) => log.warn({ err: 'a string thrown' }, 'not an Error'),
      (log) => log.info({ skipped: undefined, fn: () => 1, kept: 0 }, 'undefined and functions'),
      (log) => log.info({ nan: Number.NaN, inf: Number.POSITIVE_INFINITY, neg: -0.5 }, 'numbers'),
      (log) => log.info({ text: 'quote " backslash \\ newline \n tab \t é ✓ \u0001' }, 'esc "q"'),
      (log) => log.info({ circular }, 'circular'),
      (log) => log.info({ big: 10n, nested: { big: 2n } }, 'BigInt'),
      (log) => log.info({ deep }, 'deep'),
      (log) => log.info({ flag: true, none: null, list: [1, 'two', null] }, 'plain values'),
      (log) => log.debug({ reason: 'restart' }, 'shutdown requested'),
      (log) => log.trace({}, 'empty fields'),
      (log) => log.fatal({ msg: 'a msg field' }),
    ]
    const { logs, lines } = both()
    for (const call of calls) for (const log of logs) call(log)
    const { pino: expected, lineLog: actual } = lines()
    assert.equal(expected.length, calls.length)
    assert.deepEqual(actual, expected)
  })

  it('writes nothing below its level, and nothing at all when silent', () => {
    for (const level of ['warn', 'silent'] as const) {
      const { logs, lines } = both(level)
      for (const log of logs) {
        log.info({ a: 1 }, 'below warn')
        log.debug('below warn')
        log.warn({ a: 2 }, 'at warn')
        log.fatal('fatal')
      }
      const { pino: expected, lineLog: actual } = lines()
      assert.equal(expected.length, level === 'silent' ? 0 : 2)
      assert.deepEqual(actual, expected)
    }
  })
})

describe('ThreadLogs', () => {
  it("writes the thread's own JSON lines without pino, and makes the service's pino logger once, when asked", () => {
    const logs = new ThreadLogs('info', 'json', BINDINGS)
    assert.ok(!('child' in logs.own), "the thread's own lines are not pino's logger")
    const service = logs.serviceLog()
    assert.equal(typeof service.child, 'function', "ctx.log is pino's Logger, child() and all")
    assert.equal(service.level, 'info')
    assert.equal(logs.serviceLog(), service, 'one logger per thread')
  })

  it('with LOG_FORMAT=pretty, one pino logger serves both', () => {
    const logs = new ThreadLogs('warn', 'pretty', BINDINGS)
    assert.equal(logs.own, logs.serviceLog())
  })
})
