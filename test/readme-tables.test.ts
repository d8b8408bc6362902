// The README's reference tables against the code, both ways and with the counts pinned (as
// fastify's test/internals/errors.test.js does): a code, exit code or log message added, renamed
// or removed without its README row fails here. Changing a count is a deliberate edit.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { ERROR_CODES } from '../src/shared/errors'
import { EXIT } from '../src/shared/exit-codes'
import { LOG_MESSAGES } from '../src/shared/log-messages'
import { codeSpans, readmeTable } from './helpers/readme'

const ROOT = path.join(__dirname, '..')
const sorted = (values: Iterable<string>) => [...values].sort()

describe('README "Error codes" table <-> ERROR_CODES', () => {
  const rows = readmeTable('## Error codes')
  const documented = rows.map(([code]) => codeSpans(code ?? '')[0] ?? `(no code in "${code}")`)

  it('has exactly the codes of ERROR_CODES, one row each', () => {
    assert.deepEqual(sorted(documented), sorted(Object.keys(ERROR_CODES)))
    assert.equal(new Set(documented).size, documented.length, 'a code documented twice')
  })

  it('pins the count: a new code needs its README row and this number changed', () => {
    assert.equal(Object.keys(ERROR_CODES).length, 11)
    assert.equal(rows.length, 11)
  })

  it('every row says what the code means', () => {
    for (const [code, meaning] of rows) assert.ok((meaning ?? '').length > 10, code)
  })
})

describe('README "Exit codes" table <-> EXIT', () => {
  const rows = readmeTable('## Exit codes')

  it('has exactly the codes of EXIT, each with its name', () => {
    const documented = rows.map(([code, name]) => `${code} ${name}`)
    const actual = Object.entries(EXIT).map(([name, code]) => `${code} ${name}`)
    assert.deepEqual(sorted(documented), sorted(actual))
  })

  it('pins the count: a new exit code needs its README row and this number changed', () => {
    assert.equal(Object.keys(EXIT).length, 12)
    assert.equal(rows.length, 12)
  })

  it('lists the codes in ascending order, each with a meaning', () => {
    const codes = rows.map(([code]) => Number(code))
    assert.deepEqual(
      codes,
      [...codes].sort((a, b) => a - b),
    )
    for (const [code, , meaning] of rows) assert.ok((meaning ?? '').length > 10, code)
  })
})

/**
 * True when `msg` occurs in `source` as a log call's message: the last argument of a call
 * (`log.info({...}, 'ready')`), or a branch of a conditional message
 * (`lost ? 'peer back' : 'peer connected'`). A protocol tag (`{ type: 'ready' }`,
 * `case 'ready':`) does not count, so a renamed log line cannot hide behind one.
 */
export function logsMessage(source: string, msg: string): boolean {
  const literal = `'${msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`
  return new RegExp(`${literal}\\s*,?\\s*\\)|\\?\\s*${literal}\\s*:\\s*'`).test(source)
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => !file.endsWith(path.join('shared', 'log-messages.ts')))
}

describe('README "Logs" table <-> LOG_MESSAGES', () => {
  const messages = Object.values(LOG_MESSAGES).map((m) => m.msg)

  it('has exactly the messages of the registry', () => {
    const documented = readmeTable('## Logs').flatMap(([msg]) => codeSpans(msg ?? ''))
    assert.deepEqual(sorted(documented), sorted(messages))
    assert.equal(new Set(documented).size, documented.length, 'a message documented twice')
  })

  it('pins the count: a new documented message needs its registry entry and this number', () => {
    assert.equal(messages.length, 37)
  })

  it('the check catches a log message that is gone (so the test below can fail)', () => {
    const source = "log.info({ peers }, lost ? 'peer back' : 'peer connected')\nlog.warn('x')"
    assert.equal(logsMessage(source, 'peer back'), true)
    assert.equal(logsMessage(source, 'peer connected'), true)
    assert.equal(logsMessage("post({ type: 'ready' })\ncase 'ready':", 'ready'), false)
    assert.equal(logsMessage(source, 'peer lost'), false)
  })

  it('every registry message is a log call message somewhere in src/', () => {
    const sources = sourcesUnder('src').map((file) => readFileSync(file, 'utf8'))
    const missing = messages.filter((msg) => !sources.some((s) => logsMessage(s, msg)))
    assert.deepEqual(missing, [], 'renamed or removed: update the registry and the README')
  })

  it('each entry has a level pino knows', () => {
    for (const { msg, levels } of Object.values(LOG_MESSAGES)) {
      assert.ok(levels.length > 0, msg)
      for (const level of levels)
        assert.ok(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level), msg)
    }
  })
})
