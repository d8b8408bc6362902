// Start-up cost is mostly module loading (issue 14): every receive thread loads its own copy of
// its module graph, and the main thread loads the container's before it reads the environment.
// These tests pin what each may load, so a new top-level import that drags a large library
// into the start-up path fails here, not in a benchmark weeks later.
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import { ROOT } from './helpers/container'

const DIST = path.join(ROOT, 'dist', 'src')

/** The npm packages a fresh thread has loaded after requiring `file` (compiled code, dist/). */
function packagesLoadedBy(file: string): Promise<string[]> {
  const code = `
    require(${JSON.stringify(file)})
    const names = Object.keys(require.cache)
      .map((k) => (/node_modules[\\\\/]((@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(k) || [])[1])
      .filter(Boolean)
    require('node:worker_threads').parentPort.postMessage([...new Set(names)])`
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

describe('start-up loading', () => {
  it('a receive thread loads neither the config validators nor piscina', async () => {
    const loaded = await packagesLoadedBy(path.join(DIST, 'worker', 'receive-worker.js'))
    // The ones it needs, so the check reads the right graph.
    for (const needed of ['zeromq', 'pino']) assert.ok(loaded.includes(needed), loaded.join(' '))
    // envalid and fastest-levenshtein come with the config index (the main thread validates);
    // piscina only with _POOL_THREADS, loaded when a pool is made.
    for (const spare of ['envalid', 'fastest-levenshtein', 'piscina'])
      assert.ok(!loaded.includes(spare), `${spare} in ${loaded.join(' ')}`)
  })

  it('the container entry loads neither the tools, the recorder nor prom-client up front', async () => {
    const loaded = await packagesLoadedBy(path.join(DIST, 'main.js'))
    for (const needed of ['zeromq', 'pino', 'envalid'])
      assert.ok(loaded.includes(needed), loaded.join(' '))
    // yaml: the topology tools; @mcap: recording; prom-client: /metrics, made once ready.
    for (const spare of ['yaml', '@mcap/core', '@mcap/nodejs', 'prom-client'])
      assert.ok(!loaded.includes(spare), `${spare} in ${loaded.join(' ')}`)
  })
})
