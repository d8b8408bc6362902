// The README's reference tables against the code, both ways and with the counts pinned (as
// fastify's test/internals/errors.test.js does): a code or exit code added, renamed
// or removed without its README row fails here. Changing a count is a deliberate edit.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ERROR_CODES } from '../src/shared/errors'
import { EXIT } from '../src/shared/exit-codes'
import { codeSpans, readmeTable } from './helpers/readme'

const sorted = (values: Iterable<string>) => [...values].sort()

describe('README "Error codes" table <-> ERROR_CODES', () => {
  const rows = readmeTable('## Error codes')
  const documented = rows.map(([code]) => codeSpans(code ?? '')[0] ?? `(no code in "${code}")`)

  it('has exactly the codes of ERROR_CODES, one row each', () => {
    assert.deepEqual(sorted(documented), sorted(Object.keys(ERROR_CODES)))
    assert.equal(new Set(documented).size, documented.length, 'a code documented twice')
  })

  it('pins the count: a new code needs its README row and this number changed', () => {
    assert.equal(Object.keys(ERROR_CODES).length, 9)
    assert.equal(rows.length, 9)
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
