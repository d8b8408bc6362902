import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ZcError } from '../src/shared/errors'
import {
  isPrefixSubscription,
  isTopicBytes,
  MAX_TOPIC_LENGTH,
  subscriptionProblem,
  TopicMatcher,
  topicProblem,
  validateTopic,
} from '../src/shared/topics'

// 'a.' followed by n-2 more letters: a valid topic of exactly n characters.
const topicOfLength = (n: number) => `a.${'b'.repeat(n - 2)}`

const VALID_TOPICS = [
  'camera.cmd',
  'camera.frame',
  'camera.heartbeat',
  'Camera.Frame2',
  'a.b',
  '0.9',
  'camera.frame.raw',
  'a.b.c.d.e',
  topicOfLength(MAX_TOPIC_LENGTH),
]

const INVALID_TOPICS: [string, string][] = [
  ['', 'empty'],
  ['camera', 'single segment'],
  ['.camera.cmd', 'leading dot'],
  ['camera.cmd.', 'trailing dot'],
  ['camera..cmd', 'double dot'],
  ['.', 'dot alone'],
  ['..', 'dots alone'],
  ['camera.cmd-x', 'dash'],
  ['camera_x.cmd', 'underscore'],
  ['camera.cmd ', 'trailing space'],
  [' camera.cmd', 'leading space'],
  ['camera.c md', 'inner space'],
  ['caméra.cmd', 'non-ASCII letter'],
  ['camera.cmd\u0000', 'NUL'],
  ['camera\u0000.cmd', 'inner NUL'],
  ['camera.cmd\n', 'newline'],
  ['camera.*', 'wildcard'],
  [topicOfLength(MAX_TOPIC_LENGTH + 1), '65 characters'],
  [topicOfLength(1000), 'very long'],
]

describe('topicProblem / validateTopic', () => {
  it('the limit is the seed 64 characters', () => {
    assert.equal(MAX_TOPIC_LENGTH, 64)
  })

  for (const topic of VALID_TOPICS) {
    it(`accepts ${JSON.stringify(topic)}`, () => {
      assert.equal(topicProblem(topic), undefined)
      assert.equal(validateTopic(topic), topic)
    })
  }

  for (const [topic, why] of INVALID_TOPICS) {
    it(`rejects ${why}: ${JSON.stringify(topic)}`, () => {
      const problem = topicProblem(topic)
      assert.equal(typeof problem, 'string')
      assert.ok((problem as string).length > 0)
      assert.throws(
        () => validateTopic(topic),
        (error: unknown) => {
          assert.ok(error instanceof ZcError)
          assert.equal(error.code, 'ZC_ERR_TOPIC_INVALID')
          assert.ok(
            error.message.includes(JSON.stringify(topic)),
            `message names the topic: ${error.message}`,
          )
          assert.ok(error.message.includes(problem as string))
          return true
        },
      )
    })
  }

  it('says why: empty, too long, or malformed', () => {
    assert.match(topicProblem('') ?? '', /empty/)
    assert.match(topicProblem(topicOfLength(65)) ?? '', /65/)
    assert.match(topicProblem(topicOfLength(65)) ?? '', /64/)
    assert.match(topicProblem('camera') ?? '', /<component>\.<message_type>/)
  })
})

describe('subscriptionProblem', () => {
  const ok = [
    'camera.cmd',
    'camera.',
    'camera.frame.',
    'a.b.c',
    'camera',
    topicOfLength(64),
    `${'a'.repeat(63)}.`,
  ]
  const bad = [
    '',
    '.',
    '..',
    'camera..',
    '.camera',
    '.camera.',
    'camera..cmd',
    'camera.cmd-x',
    'camera.*',
    'camera. ',
    'caméra.',
    'camera.\u0000',
    `${'a'.repeat(64)}.`,
    topicOfLength(65),
  ]
  for (const s of ok) {
    it(`accepts ${JSON.stringify(s)}`, () => assert.equal(subscriptionProblem(s), undefined))
  }
  for (const s of bad) {
    it(`rejects ${JSON.stringify(s)}`, () => {
      const problem = subscriptionProblem(s)
      assert.equal(typeof problem, 'string')
      assert.ok((problem as string).length > 0)
    })
  }

  it('marks only subscriptions ending in "." as prefixes', () => {
    assert.equal(isPrefixSubscription('camera.'), true)
    assert.equal(isPrefixSubscription('camera.frame.'), true)
    assert.equal(isPrefixSubscription('camera.cmd'), false)
    assert.equal(isPrefixSubscription('camera'), false)
  })
})

describe('isTopicBytes', () => {
  const rows: [string, Buffer, boolean][] = [
    ['ASCII topic', Buffer.from('camera.cmd'), true],
    ['three segments', Buffer.from('camera.frame.raw'), true],
    ['digits and capitals', Buffer.from('Cam0.Frame9'), true],
    ['64 bytes', Buffer.from(topicOfLength(64)), true],
    ['65 bytes', Buffer.from(topicOfLength(65)), false],
    ['empty', Buffer.alloc(0), false],
    ['single segment', Buffer.from('camera'), false],
    ['leading dot', Buffer.from('.camera.cmd'), false],
    ['trailing dot', Buffer.from('camera.cmd.'), false],
    ['double dot', Buffer.from('camera..cmd'), false],
    ['dot alone', Buffer.from('.'), false],
    ['0xff byte', Buffer.from([0x63, 0x2e, 0xff]), false],
    ['0xff alone', Buffer.from([0xff]), false],
    ['0x80 continuation byte', Buffer.from([0x61, 0x2e, 0x80, 0x62]), false],
    ['NUL at end', Buffer.from('camera.cmd\u0000'), false],
    ['NUL inside', Buffer.from([0x61, 0x00, 0x2e, 0x62]), false],
    ['UTF-8 é', Buffer.from('caméra.cmd'), false],
    ['space', Buffer.from('camera.c d'), false],
    ['dash', Buffer.from('camera.c-d'), false],
    // Bytes just outside each allowed range: '/' ':' '@' '[' '`' '{'.
    ['slash', Buffer.from('a./'), false],
    ['colon', Buffer.from('a.:'), false],
    ['at', Buffer.from('a.@'), false],
    ['bracket', Buffer.from('a.['), false],
    ['backtick', Buffer.from('a.`'), false],
    ['brace', Buffer.from('a.{'), false],
  ]
  for (const [name, bytes, expected] of rows) {
    it(`${expected ? 'accepts' : 'rejects'} ${name}`, () => {
      assert.equal(isTopicBytes(bytes), expected)
    })
  }

  it('checks only the view of a Buffer slice, not the bytes around it', () => {
    const whole = Buffer.from('..camera.cmd\u0000\u0000')
    assert.equal(isTopicBytes(whole.subarray(2, 12)), true)
    assert.equal(isTopicBytes(whole.subarray(1, 12)), false)
    assert.equal(isTopicBytes(whole.subarray(2, 13)), false)
  })

  it('accepts a plain Uint8Array', () => {
    assert.equal(isTopicBytes(new TextEncoder().encode('camera.cmd')), true)
  })

  it('agrees with topicProblem on every string of a small alphabet up to length 4', () => {
    const alphabet = ['a', 'Z', '0', '.', '-', ' ', 'é']
    const strings: string[] = ['']
    let level = ['']
    for (let len = 1; len <= 4; len++) {
      level = level.flatMap((s) => alphabet.map((c) => s + c))
      strings.push(...level)
    }
    assert.equal(strings.length, 1 + 7 + 49 + 343 + 2401)
    for (const n of [1, 2, 3, 62, 63, 64, 65, 66, 128]) {
      strings.push(topicOfLength(Math.max(n, 2)), 'a'.repeat(n), `${'a'.repeat(n)}.`)
      strings.push(`é.${'a'.repeat(Math.max(n - 2, 1))}`, `Z.${'0'.repeat(Math.max(n - 2, 1))}`)
    }
    let valid = 0
    for (const s of strings) {
      const expected = topicProblem(s) === undefined
      if (expected) valid++
      assert.equal(isTopicBytes(Buffer.from(s, 'utf8')), expected, JSON.stringify(s))
    }
    // The generated set must exercise both outcomes, or the agreement says nothing.
    assert.ok(valid > 50, `only ${valid} valid topics generated`)
    assert.ok(valid < strings.length - 50)
  })
})

describe('TopicMatcher', () => {
  const rows: [string[], string, boolean][] = [
    [['camera.cmd'], 'camera.cmd', true],
    [['camera.cmd'], 'camera.cmdx', false],
    [['camera.cmd'], 'camera.cm', false],
    [['camera.cmd'], 'camera.cmd.x', false],
    [['camera.cmd'], 'Camera.cmd', false],
    [['camera.'], 'camera.cmd', true],
    [['camera.'], 'camera.frame.raw', true],
    [['camera.'], 'cameraX.cmd', false],
    [['camera.'], 'camera', false],
    [['camera.'], 'dashboard.camera.cmd', false],
    [['camera.frame.'], 'camera.frame.raw', true],
    [['camera.frame.'], 'camera.frame', false],
    [['camera.frame.'], 'camera.frameX.raw', false],
    [['camera.cmd', 'dashboard.'], 'dashboard.ack', true],
    [['camera.cmd', 'dashboard.'], 'camera.cmd', true],
    [['camera.cmd', 'dashboard.'], 'camera.frame', false],
    [[], 'camera.cmd', false],
  ]
  for (const [subs, topic, expected] of rows) {
    it(`${JSON.stringify(subs)} ${expected ? 'matches' : 'does not match'} ${topic}`, () => {
      assert.equal(new TopicMatcher(subs).matches(topic), expected)
    })
  }

  it('indexOf names the subscription that takes a topic: exact before prefix, -1 for none', () => {
    const matcher = new TopicMatcher(['camera.', 'camera.frame', 'lidar.scan'])
    assert.equal(matcher.indexOf('camera.frame'), 1)
    assert.equal(matcher.indexOf('camera.heartbeat'), 0)
    assert.equal(matcher.indexOf('lidar.scan'), 2)
    assert.equal(matcher.indexOf('lidar.scan2'), -1)
  })

  it("exactIndexOfBytes (the receive loop's fast path) knows only rule-valid exact subscriptions", () => {
    // A tool may subscribe a bare word (subscriptionProblem allows it); a frame equal to it is not
    // a valid topic, so the fast path must leave it to classifyFrames, which drops it.
    const matcher = new TopicMatcher(['camera', 'camera.frame', 'lidar.'])
    assert.equal(matcher.exactIndexOfBytes(Buffer.from('camera')), -1)
    assert.equal(matcher.indexOf('camera'), 0, 'the string matcher still takes it')
    assert.equal(matcher.exactIndexOfBytes(Buffer.from('camera.frame')), 1)
    assert.equal(
      matcher.exactIndexOfBytes(Buffer.from('lidar.scan')),
      -1,
      'a prefix is no exact match',
    )
  })

  it('indexOfBytes matches a topic frame exactly as indexOf matches its string', () => {
    // Every row above, plus duplicates and a prefix listed before an exact one.
    const cases: [string[], string][] = [
      ...rows.map(([subs, topic]): [string[], string] => [subs, topic]),
      [['a.b', 'a.b', 'a.'], 'a.b'],
      [['a.', 'a.b'], 'a.b'],
      [['a.bc', 'a.bd', 'a.'], 'a.bd'],
      [['a.bc', 'a.bd'], 'a.be'],
    ]
    for (const [subs, topic] of cases) {
      const matcher = new TopicMatcher(subs)
      const index = matcher.indexOfBytes(Buffer.from(topic, 'latin1'))
      assert.equal(index, matcher.indexOf(topic), `${JSON.stringify(subs)} ${topic}`)
      // The topic string a match hands the handler without decoding: the subscription's own.
      if (index !== -1 && !subs[index]?.endsWith('.'))
        assert.equal(matcher.exactTopicAt(index), topic)
    }
  })
})
