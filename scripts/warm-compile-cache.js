// Fills Node's compile cache (NODE_COMPILE_CACHE, Node 22.1+) at image build time: starts the
// container once on loopback (a SUB that connects to nothing, a PUB and the health server on
// ephemeral ports), waits for its `ready` line, scrapes /metrics once, and stops it with
// SIGTERM. The scrape makes the metrics registry, so prom-client's modules (the largest graph the
// container loads, right after ready) are compiled and cached too. Then `check` once with the same
// environment: the command-line tools load tsc's modules, not the container's bundle
// (scripts/write-entry.js), so the container's run alone leaves them uncached. The main thread and the
// receive thread then find the V8 code of what Node's loader compiles for them (the entry, the
// bundle loader, zeromq's JavaScript, prom-client) in the image and skip compiling it at every
// start; their bundles run through vm with the caches the build's training run made
// (scripts/train-code-caches.js). Node names the cache directory after the
// user id, so this runs as the image's user. On Node 20 the variable means nothing and this is
// only a smoke run.
'use strict'
const { spawn, spawnSync } = require('node:child_process')
const http = require('node:http')
const path = require('node:path')
const { createInterface } = require('node:readline')

const READY_WITHIN_MS = 20_000

const env = {
  ...process.env,
  LOG_LEVEL: 'info',
  ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
  ZMQ_SUB_TOPICS: 'warm.up',
  ZMQ_SUB_CLASS: 'telemetry',
  ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
  ZMQ_PUB_TOPICS: 'warm.up',
  HTTP_PORT: '0',
  HTTP_HOST: '127.0.0.1',
}
const main = path.join(__dirname, '..', 'dist', 'main.js')
const child = spawn(process.execPath, [main], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
})
const timer = setTimeout(() => {
  console.error(`warm-compile-cache: no ready line within ${READY_WITHIN_MS} ms`)
  child.kill('SIGKILL')
  process.exitCode = 1
}, READY_WITHIN_MS)
let port
createInterface({ input: child.stdout }).on('line', (line) => {
  if (line.includes('"msg":"http listening"')) port = JSON.parse(line).port
  if (!line.includes('"msg":"ready"')) return
  http
    .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      res.resume()
      res.on('end', () => {
        if (res.statusCode !== 200) {
          console.error(`warm-compile-cache: /metrics answered ${res.statusCode}`)
          process.exitCode = 1
        }
        child.kill('SIGTERM')
      })
    })
    .on('error', (error) => {
      console.error(`warm-compile-cache: /metrics: ${error.message}`)
      process.exitCode = 1
      child.kill('SIGTERM')
    })
})
child.on('exit', (code, signal) => {
  clearTimeout(timer)
  if (code !== 0) {
    console.error(`warm-compile-cache: the container exited with ${code ?? signal}`)
    process.exitCode = 1
    return
  }
  const check = spawnSync(process.execPath, [main, 'check'], { env, stdio: 'ignore' })
  if (check.status !== 0) {
    console.error(`warm-compile-cache: check exited with ${check.status ?? check.signal}`)
    process.exitCode = 1
  }
})
