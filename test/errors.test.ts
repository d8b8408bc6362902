import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import {
  ConfigError,
  ERROR_CODES,
  type ErrorCode,
  formatIssue,
  serializeError,
  ZcError,
} from '../src/shared/errors'
import { EXIT } from '../src/shared/exit-codes'

// The README's Error codes and Exit codes tables are checked both ways in readme-tables.test.ts.

describe('error and exit code tables', () => {
  it('every error code is ZC_ERR_* with a description', () => {
    for (const [code, description] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^ZC_ERR_[A-Z_]+$/)
      assert.ok(description.length > 0, code)
    }
  })

  it('exit codes are distinct bytes', () => {
    const values = Object.values(EXIT)
    assert.equal(new Set(values).size, values.length)
    for (const v of values) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, String(v))
    assert.equal(EXIT.OK, 0)
    assert.equal(EXIT.FORCED_SIGINT, 128 + 2)
    assert.equal(EXIT.FORCED_SIGTERM, 128 + 15)
  })
})

describe('ZcError and ConfigError', () => {
  it('ZcError carries its code, message and cause', () => {
    const cause = new Error('EADDRINUSE')
    const error = new ZcError('ZC_ERR_BIND_FAILED', 'cannot bind', { cause })
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'ZcError')
    assert.equal(error.code, 'ZC_ERR_BIND_FAILED')
    assert.equal(error.message, 'cannot bind')
    assert.equal(error.cause, cause)
  })

  it('ConfigError keeps its issues and prints one formatted line per issue', () => {
    const issues = [
      { variable: 'LOG_LEVEL', problem: 'is "loud"', example: 'info' },
      { variable: 'ZMQ_SUB_cam_ENDPOINT', problem: 'is not a socket variable', example: '' },
    ]
    const error = new ConfigError(issues)
    assert.ok(error instanceof ZcError)
    assert.equal(error.code, 'ZC_ERR_CONFIG_INVALID' satisfies ErrorCode)
    assert.equal(error.name, 'ConfigError')
    assert.deepEqual(error.issues, issues)
    assert.equal(
      error.message,
      'LOG_LEVEL: is "loud" (example: LOG_LEVEL=info)\n' +
        'ZMQ_SUB_cam_ENDPOINT: is not a socket variable',
    )
  })
})

describe('formatIssue', () => {
  const rows: [Parameters<typeof formatIssue>[0], string][] = [
    [
      { variable: 'ZMQ_SETTLE_MS', problem: 'is "x"; it must be a whole number', example: '100' },
      'ZMQ_SETTLE_MS: is "x"; it must be a whole number (example: ZMQ_SETTLE_MS=100)',
    ],
    [
      { variable: 'ZMQ_PUB_ENDPOINT', problem: 'is required', example: 'tcp://*:5555' },
      'ZMQ_PUB_ENDPOINT: is required (example: ZMQ_PUB_ENDPOINT=tcp://*:5555)',
    ],
    [
      { variable: 'ZMQ_SUB_TOPIC', problem: 'is not a socket variable', example: '' },
      'ZMQ_SUB_TOPIC: is not a socket variable',
    ],
  ]
  for (const [issue, expected] of rows) {
    it(`formats ${issue.variable}${issue.example ? '' : ' without an example'}`, () => {
      assert.equal(formatIssue(issue), expected)
    })
  }
})

describe('serializeError', () => {
  it('keeps name, message, code and stack of a ZcError', () => {
    const error = new ZcError('ZC_ERR_WORKER_START', 'worker timed out')
    const s = serializeError(error)
    assert.deepEqual(s, {
      name: 'ZcError',
      message: 'worker timed out',
      code: 'ZC_ERR_WORKER_START',
      stack: error.stack,
    })
    assert.match(s.stack ?? '', /worker timed out/)
  })

  it('keeps the code of a ConfigError and of a Node system error', () => {
    const config = new ConfigError([{ variable: 'A', problem: 'bad', example: '' }])
    assert.equal(serializeError(config).code, 'ZC_ERR_CONFIG_INVALID')
    assert.equal(serializeError(config).name, 'ConfigError')
    let system: unknown
    try {
      readFileSync(path.join(__dirname, 'no-such-file'))
    } catch (error) {
      system = error
    }
    assert.equal(serializeError(system).code, 'ENOENT')
  })

  it('omits code when an Error has none or a non-string one', () => {
    const plain = serializeError(new TypeError('nope'))
    assert.equal(plain.name, 'TypeError')
    assert.equal(plain.message, 'nope')
    assert.equal(Object.hasOwn(plain, 'code'), false)
    const numeric = Object.assign(new Error('errno'), { code: 11 })
    assert.equal(Object.hasOwn(serializeError(numeric), 'code'), false)
  })

  it('omits an empty stack', () => {
    const error = new Error('no stack')
    error.stack = ''
    assert.deepEqual(serializeError(error), { name: 'Error', message: 'no stack' })
  })

  const nonErrors: [unknown, string][] = [
    ['boom', 'boom'],
    [42, '42'],
    [undefined, 'undefined'],
    [null, 'null'],
    [{ reason: 'x' }, '[object Object]'],
    [Symbol('s'), 'Symbol(s)'],
  ]
  for (const [value, message] of nonErrors) {
    it(`turns the non-Error ${message} into a NonError`, () => {
      assert.deepEqual(serializeError(value), { name: 'NonError', message })
    })
  }

  it('never throws, whatever was thrown', () => {
    // A worker serializes whatever a service threw or rejected with; this must not throw.
    const values: unknown[] = [
      Object.create(null),
      {
        toString() {
          throw new Error('toString')
        },
      },
    ]
    for (const value of values) {
      const s = serializeError(value)
      assert.equal(s.name, 'NonError')
      assert.equal(typeof s.message, 'string')
    }
  })

  it('survives structuredClone, as posted from a worker', () => {
    const s = serializeError(new ZcError('ZC_ERR_WORKER_START', 'handler crashed'))
    assert.deepEqual(structuredClone(s), s)
  })
})
