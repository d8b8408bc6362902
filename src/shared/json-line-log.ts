import { writeSync } from 'node:fs'
import { err as serializeErr } from 'pino-std-serializers'
import { configure } from 'safe-stable-stringify'
import type { LogLevel } from './config/types'
import type { Log, LogFn } from './log'

/** pino's level numbers; `silent` writes nothing. */
const LEVEL_VALUES = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const
type Level = keyof typeof LEVEL_VALUES

/** pino's fallback for what JSON.stringify refuses (circular, BigInt), with pino's default limits. */
const stringifySafe = configure({ maximumDepth: 5, maximumBreadth: 100 })
/** sonic-boom's wait before it writes again to a full pipe. */
const BUSY_WRITE_MS = 100

/**
 * The receive thread's own log lines, byte for byte the JSON lines pino writes with the
 * options of createLogger (logger.ts): level label, ISO time, the bindings, the fields (`err`
 * through pino's error serializer), `msg`, written synchronously to fd 1. A receive thread
 * that loaded pino for these held about 0.5 MiB more and spent a few ms more starting (README
 * "Footprint"); a service's `ctx.log` is still pino, loaded when a handler first asks for it.
 * test/json-line-log.test.ts compares its lines with pino's.
 */
export function jsonLineLog(
  level: LogLevel,
  bindings: Record<string, unknown>,
  write: (line: string) => void = writeToStdout,
): Log {
  const boundJson = fieldsJson(bindings)
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVEL_VALUES[level]
  const log = {} as Record<Level, LogFn>
  for (const name of Object.keys(LEVEL_VALUES) as Level[])
    log[name] =
      LEVEL_VALUES[name] < threshold
        ? noop
        : (first: object | string, msg?: string) => write(line(name, boundJson, first, msg))
  return log
}

/** One line: pino's order of keys, and pino's rules for a message given alone or in `err`. */
function line(
  level: Level,
  boundJson: string,
  first: object | string,
  msg: string | undefined,
): string {
  let fields: Record<string, unknown>
  if (typeof first === 'string') {
    fields = {}
    msg = first
  } else if (first instanceof Error) {
    // As pino: an error alone is the `err` field, and its message the line's.
    fields = { err: first }
    msg ??= first.message
  } else {
    fields = first as Record<string, unknown>
    if (msg === undefined && fields.msg === undefined && fields.err)
      msg = (fields.err as { message?: string }).message
  }
  const time = new Date().toISOString()
  const message = msg === undefined ? '' : `,"msg":${valueJson(msg)}`
  return `{"level":"${level}","time":"${time}"${boundJson}${fieldsJson(fields)}${message}}\n`
}

function noop(): void {}

/** `,"key":value` for each own field that pino would write (undefined and functions are left out). */
function fieldsJson(fields: Record<string, unknown>): string {
  let json = ''
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue
    let value = fields[key]
    if (value === undefined) continue
    if (key === 'err') value = serializeErr(value as Error)
    const text = valueJson(value)
    if (text !== undefined) json += `,${JSON.stringify(key)}:${text}`
  }
  return json
}

function valueJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'undefined':
    case 'function':
      return undefined
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null'
    case 'boolean':
      return String(value)
    case 'string':
      return JSON.stringify(value)
    default:
      try {
        return JSON.stringify(value)
      } catch {
        try {
          return stringifySafe(value)
        } catch {
          return '"[unable to serialize, circular reference is too complex to analyze]"'
        }
      }
  }
}

/**
 * As pino's synchronous destination (sonic-boom): the whole line, waiting on a full pipe. A
 * line that cannot be written for any other reason (stdout closed) is lost, as it is with
 * pino: logging must never throw into the receive loop.
 */
function writeToStdout(line: string): void {
  let bytes = Buffer.from(line)
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(1, bytes))
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EAGAIN' && code !== 'EBUSY') return
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BUSY_WRITE_MS)
    }
  }
}
