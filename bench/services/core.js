// The per-message work of every Node design in the benchmarks, so the container's handler and
// the bare zeromq.js baselines do exactly the same thing: count, record the one-way latency
// (send time in the payload's first 8 bytes, CLOCK_MONOTONIC ns, against process.hrtime here),
// burn CPU when asked, and write the latencies when the end marker arrives. Plain CommonJS:
// the container loads services by path, and the compiled baselines load it by path too.
const fs = require('node:fs')
const path = require('node:path')
const { PerformanceObserver, performance } = require('node:perf_hooks')

/**
 * @param {{ name: string, burnMs: number, latency: boolean, warmup: number, outDir: string,
 *   onResult: (result: { socket: string, count: number, firstNs: number, lastNs: number }) => void }} o
 */
function createReceiver(o) {
  let count = 0
  let firstNs = 0
  let lat = new Float64Array(o.latency ? 1 << 16 : 0)
  let n = 0
  const trace = o.trace && o.latency ? startTrace() : undefined
  return {
    /** One data message: its payload starts with the send time. */
    data(payload) {
      if (count++ === 0) firstNs = Number(process.hrtime.bigint())
      if (o.latency && count > o.warmup) {
        const us = Number(process.hrtime.bigint() - payload.readBigUInt64LE(0)) / 1000
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2)
          bigger.set(lat)
          lat = bigger
        }
        lat[n++] = us
        trace?.handled(us)
      }
      if (o.burnMs > 0) {
        // A CPU-bound handler: busy for burnMs of wall time.
        const until = performance.now() + o.burnMs
        while (performance.now() < until) {}
      }
    },
    /** The end marker: every data message of the run came before it on this socket. */
    end() {
      const lastNs = Number(process.hrtime.bigint())
      if (o.latency)
        fs.writeFileSync(
          path.join(o.outDir, `${o.name}.f64`),
          Buffer.from(lat.buffer, lat.byteOffset, n * 8),
        )
      if (trace) trace.write(path.join(o.outDir, `${o.name}.trace.json`))
      o.onResult({ socket: o.name, count, firstNs, lastNs })
    },
  }
}

/**
 * BENCH_TRACE=1 (the tail-trace tool): every latency sample's handling time, and this thread's
 * garbage collections, on the same clock (process.hrtime, CLOCK_MONOTONIC like the send time),
 * so a slow message can be matched with a pause that overlapped it.
 */
function startTrace() {
  // performance.now() of this thread, mapped onto hrtime once.
  const baseNs = Number(process.hrtime.bigint()) - performance.now() * 1e6
  const handledNs = []
  const gcs = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push([baseNs + e.startTime * 1e6, e.duration, e.detail?.kind ?? e.kind])
  })
  observer.observe({ entryTypes: ['gc'] })
  return {
    handled(us) {
      handledNs.push(Number(process.hrtime.bigint()), us)
    },
    write(file) {
      observer.disconnect()
      fs.writeFileSync(file, JSON.stringify({ handled: handledNs, gcs }))
    },
  }
}

/** The receiver options of socket `name`, from the environment the bench sets. */
function optionsFromEnv(name, env = process.env) {
  return {
    name,
    burnMs: Number(env[`BENCH_BURN_MS_${name.toUpperCase()}`] ?? 0),
    latency: env.BENCH_LATENCY === '1',
    warmup: Number(env.BENCH_WARMUP ?? 0),
    outDir: env.BENCH_OUT ?? '.',
    trace: env.BENCH_TRACE === '1',
  }
}

module.exports = { createReceiver, optionsFromEnv }
