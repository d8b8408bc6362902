import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Push } from 'zeromq'
import { errorCode, ZcError } from '../src/shared/errors'

// errorCode is how every catch block in src/ tells EAGAIN from EBUSY from ENOENT: it must read
// the code of real errors from Node, libzmq and the project, and survive anything else thrown.
describe('errorCode', () => {
  it('reads the code of a Node system error', () => {
    assert.throws(
      () => readFileSync(path.join(__dirname, 'no-such-file')),
      (error) => errorCode(error) === 'ENOENT',
    )
  })

  it('reads the code of a zeromq error (EAGAIN: a send with no peer and no wait)', async () => {
    // A PUSH with no peer and a zero send timeout rejects at once with EAGAIN.
    const push = new Push({ sendTimeout: 0 })
    try {
      await assert.rejects(push.send('x'), (error) => errorCode(error) === 'EAGAIN')
    } finally {
      push.close()
    }
  })

  it('reads the code of a ZcError and of a plain object', () => {
    assert.equal(errorCode(new ZcError('ZC_ERR_BIND_FAILED', 'x')), 'ZC_ERR_BIND_FAILED')
    assert.equal(errorCode({ code: 'EBUSY' }), 'EBUSY')
  })

  it('is undefined for no code, a non-string code, or a thrown value that is no object', () => {
    const thrown: [string, unknown][] = [
      ['an Error without code', new Error('plain')],
      ['a numeric code', Object.assign(new Error('errno'), { code: 11 })],
      ['null', null],
      ['undefined', undefined],
      ['a string', 'EAGAIN'],
      ['a number', 42],
      ['an object without prototype', Object.create(null)],
    ]
    for (const [what, value] of thrown) assert.equal(errorCode(value), undefined, what)
  })
})
