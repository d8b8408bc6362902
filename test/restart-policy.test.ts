// The restart policy and the latency window, with injected randomness and synthetic histograms.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LatencyWindow } from '../src/main/latency-window'
import { RestartPolicy } from '../src/main/restart-policy'
import type { RestartConfig } from '../src/shared/config'
import { DURATION_BUCKETS } from '../src/shared/shared-state'

const config = (over: Partial<RestartConfig> = {}): RestartConfig => ({
  backoffMs: 100,
  backoffMaxMs: 1000,
  limit: 100,
  windowMs: 60_000,
  ...over,
})

/** Delays of `n` failures one millisecond apart. */
function delays(policy: RestartPolicy, n: number): Array<number | undefined> {
  return Array.from({ length: n }, (_, i) => policy.next(i))
}

describe('RestartPolicy', () => {
  it('doubles the delay from the base with each restart in the window, up to the cap', () => {
    assert.deepEqual(
      delays(new RestartPolicy(config(), () => 1), 7),
      [100, 200, 400, 800, 1000, 1000, 1000],
    )
  })

  it('uses equal jitter: random 0 gives half the delay, random 1 all of it', () => {
    assert.deepEqual(delays(new RestartPolicy(config(), () => 0), 6), [50, 100, 200, 400, 500, 500])
    assert.deepEqual(delays(new RestartPolicy(config(), () => 0.5), 3), [75, 150, 300])
  })

  it('keeps every delay between half and all of its ceiling with real randomness', () => {
    const policy = new RestartPolicy(config({ backoffMs: 400, backoffMaxMs: 400, limit: 1000 }))
    for (let i = 0; i < 200; i++) {
      const d = policy.next(i) as number
      assert.ok(d >= 200 && d <= 400, `delay ${d}`)
    }
  })

  it('refuses once `limit` restarts are inside the window, and allows again as they leave it', () => {
    const policy = new RestartPolicy(config({ limit: 3, windowMs: 1000 }), () => 1)
    assert.deepEqual([policy.next(0), policy.next(10), policy.next(20)], [100, 200, 400])
    assert.equal(policy.next(30), undefined)
    assert.equal(policy.next(999), undefined, 'the first restart is still inside the window')
    assert.equal(policy.recent, 3, 'a refused failure is not counted as a restart')
    // At 1000 the restart at 0 has left the window: one more is allowed, still backed off.
    assert.equal(policy.next(1000), 400)
    assert.equal(policy.next(1001), undefined)
    // Once the whole window has passed, the backoff starts again from the base.
    assert.equal(policy.next(5000), 100)
    assert.equal(policy.recent, 1)
  })

  it('with a limit of 0 never restarts', () => {
    assert.equal(new RestartPolicy(config({ limit: 0 })).next(0), undefined)
  })
})

/** A cumulative snapshot (one count per DURATION_BUCKETS bound, then +Inf) from runs per bound. */
function snapshot(runs: Record<number, number>, beyondLast = 0): number[] {
  const out: number[] = []
  let running = 0
  DURATION_BUCKETS.forEach((bound) => {
    running += runs[bound] ?? 0
    out.push(running)
  })
  out.push(running + beyondLast)
  return out
}

describe('LatencyWindow', () => {
  const empty = snapshot({})

  it('has no p99 without two snapshots or without runs between them', () => {
    const window = new LatencyWindow()
    assert.equal(window.p99(), undefined)
    window.push(empty)
    assert.equal(window.p99(), undefined)
    window.push(snapshot({}))
    assert.equal(window.p99(), undefined)
  })

  it('is the bound of the bucket that holds the 99th percentile of runs in the window', () => {
    const window = new LatencyWindow()
    window.push(empty)
    window.push(snapshot({ 0.001: 99, 0.05: 1 }))
    assert.equal(window.p99(), 0.001, '99 of 100 runs within 1 ms')
    const slow = new LatencyWindow()
    slow.push(empty)
    slow.push(snapshot({ 0.001: 98, 0.05: 2 }))
    assert.equal(slow.p99(), 0.05, '2 of 100 runs took up to 50 ms')
  })

  it('counts only runs since the oldest snapshot it keeps', () => {
    // Three snapshots: 100 slow runs in the first second, then 1000 fast runs a second.
    const window = new LatencyWindow(2)
    window.push(empty)
    window.push(snapshot({ 0.5: 100 }))
    window.push(snapshot({ 0.5: 100, 0.0001: 1000 }))
    assert.equal(window.p99(), 0.5, 'the slow runs are inside the window')
    window.push(snapshot({ 0.5: 100, 0.0001: 2000 }))
    assert.equal(window.p99(), 0.0001, 'the snapshot before the slow runs has left the window')
  })

  it('is Infinity when the 99th percentile lies beyond the last bound', () => {
    const window = new LatencyWindow()
    window.push(empty)
    window.push(snapshot({ 0.001: 1 }, 99))
    assert.equal(window.p99(), Number.POSITIVE_INFINITY)
  })
})
