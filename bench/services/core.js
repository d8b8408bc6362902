// The per-message work of every Node design in the benchmarks, so the container's handler and
// the bare zeromq.js baselines do exactly the same thing: count, record the one-way latency
// (send time in the payload's first 8 bytes, CLOCK_MONOTONIC ns, against process.hrtime here),
// burn CPU when asked, and write the latencies when the end marker arrives. Plain CommonJS:
// the container loads services by path, and the compiled baselines load it by path too.
const fs = require('node:fs')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

/**
 * @param {{ name: string, burnMs: number, latency: boolean, warmup: number, outDir: string,
 *   onResult: (result: { socket: string, count: number, firstNs: number, lastNs: number }) => void }} o
 */
function createReceiver(o) {
  let count = 0
  let firstNs = 0
  let lat = new Float64Array(o.latency ? 1 << 16 : 0)
  let n = 0
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
      o.onResult({ socket: o.name, count, firstNs, lastNs })
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
  }
}

module.exports = { createReceiver, optionsFromEnv }
