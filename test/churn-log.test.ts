// ChurnLog alone: connection events are logged one by one while rare, then summarized.
import assert from 'node:assert/strict'
import { describe, it, mock } from 'node:test'
import { ChurnLog } from '../src/shared/churn-log'
import { memoryLogger } from './helpers/logs'

describe('ChurnLog', () => {
  it('admits `limit` events per window, counts the rest, and logs one summary when the window ends', () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const { log, lines } = memoryLogger()
      const churn = new ChurnLog(log, { limit: 5, windowMs: 1000 })
      const now = Date.now()
      let admitted = 0
      // 200 short-lived subscribers: a handshake and a disconnect each.
      for (let i = 0; i < 200; i++) {
        if (churn.admit('handshake', now + i)) admitted++
        if (churn.admit('disconnect', now + i)) admitted++
      }
      assert.equal(admitted, 5)
      assert.equal(lines.length, 0, 'no summary before the window ends')
      mock.timers.tick(1000)
      assert.equal(lines.length, 1)
      assert.equal(lines[0]?.msg, 'connection churn: events past the limit, counted')
      assert.equal((lines[0]?.handshake as number) + (lines[0]?.disconnect as number), 395)
      // A new window admits again.
      assert.equal(churn.admit('handshake', now + 5000), true)
    } finally {
      mock.timers.reset()
    }
  })

  it('logs no summary when nothing was held back', () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const { log, lines } = memoryLogger()
      const churn = new ChurnLog(log, { limit: 5, windowMs: 1000 })
      for (let i = 0; i < 5; i++) assert.equal(churn.admit('handshake'), true)
      mock.timers.tick(5000)
      assert.equal(lines.length, 0)
    } finally {
      mock.timers.reset()
    }
  })
})
