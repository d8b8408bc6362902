// LogThrottle alone: which events make a line, and that a burst's held-back count is reported
// when its interval ends, even if nothing else comes.
import assert from 'node:assert/strict'
import { describe, it, mock } from 'node:test'
import { LogThrottle } from '../src/shared/log-throttle'

describe('LogThrottle', () => {
  it('lets the first event through, holds back the rest of the interval, then reports the count', () => {
    const throttle = new LogThrottle({ intervalMs: 1000 })
    assert.equal(throttle.admit('k', 0), 0)
    for (let t = 1; t < 100; t++) assert.equal(throttle.admit('k', t), undefined)
    assert.equal(throttle.admit('other', 50), 0, 'keys are independent')
    assert.equal(throttle.admit('k', 1000), 99)
    assert.equal(throttle.admit('k', 2500), 0)
  })

  it('flushes a single burst on a timer: 100 events give one line and one count of 99', () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const flushed: Array<[string, number]> = []
      const throttle = new LogThrottle({
        intervalMs: 1000,
        flush: (key, suppressed) => flushed.push([key, suppressed]),
      })
      const now = Date.now()
      assert.equal(throttle.admit('handshake:error:auth', now), 0)
      for (let i = 1; i < 100; i++) throttle.admit('handshake:error:auth', now + i)
      mock.timers.tick(900)
      assert.deepEqual(flushed, [], 'not before the interval ends')
      mock.timers.tick(100)
      assert.deepEqual(flushed, [['handshake:error:auth', 99]])
      // Nothing more held back: no second report.
      mock.timers.tick(5000)
      assert.equal(flushed.length, 1)
    } finally {
      mock.timers.reset()
    }
  })

  it('an event after the interval reports the count itself, and no timer reports it again', () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const flushed: number[] = []
      const throttle = new LogThrottle({ intervalMs: 1000, flush: (_, n) => flushed.push(n) })
      const now = Date.now()
      throttle.admit('k', now)
      throttle.admit('k', now + 10)
      throttle.admit('k', now + 20)
      assert.equal(throttle.admit('k', now + 1000), 2)
      mock.timers.tick(2000)
      assert.deepEqual(flushed, [])
    } finally {
      mock.timers.reset()
    }
  })
})
