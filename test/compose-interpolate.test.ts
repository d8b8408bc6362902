// Compose's ${VAR} interpolation, as check and graph apply it to a compose file.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose's ${VAR} syntax is the input here
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InterpolationError, interpolate, interpolateAll } from '../src/cli/topology/interpolate'

const env = { SET: 'value', EMPTY: '' }

describe('interpolate (Compose rules)', () => {
  const cases: Array<[string, string]> = [
    ['$SET and ${SET}', 'value and value'],
    ['${UNSET}', ''],
    ['${UNSET:-d} ${EMPTY:-d} ${SET:-d}', 'd d value'],
    ['${UNSET-d} ${EMPTY-d} ${SET-d}', 'd  value'],
    ['${UNSET:+alt} ${EMPTY:+alt} ${SET:+alt}', '  alt'],
    ['${UNSET+alt} ${EMPTY+alt} ${SET+alt}', ' alt alt'],
    ['$$SET costs $$5', '$SET costs $5'],
    ['tcp://${HOST:-camera}:5555', 'tcp://camera:5555'],
  ]
  for (const [input, expected] of cases)
    it(`${input} -> ${JSON.stringify(expected)}`, () =>
      assert.equal(interpolate(input, env), expected))

  it('${VAR:?message} fails on unset or empty, ${VAR?message} on unset only', () => {
    assert.throws(() => interpolate('${UNSET:?set UNSET}', env), InterpolationError)
    assert.throws(() => interpolate('${EMPTY:?no}', env), /EMPTY: no/)
    assert.equal(interpolate('${EMPTY?no}', env), '')
    assert.equal(interpolate('${SET:?no}', env), 'value')
  })

  it('reaches every string in a parsed document, not the keys', () => {
    assert.deepEqual(interpolateAll({ $SET: ['${SET}', 1, { k: '$SET' }] }, env), {
      $SET: ['value', 1, { k: 'value' }],
    })
  })
})
