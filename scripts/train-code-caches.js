// The build's training run: makes the V8 code caches of the container's two bundles
// (dist/main.bundle.js.cache, dist/workers/receive.bundle.js.cache) from one whole run of the
// container, so that they hold the code of what a container does, not only of its modules' top
// level. A thread compiles a function when it first calls it; with the cache it finds the code
// instead (src/shared/bundle-loader.ts, README "Start-up").
//
// The run, on loopback: a SUB socket that a publisher here feeds, a PUB socket and the health
// server on ephemeral ports; `ready`, a few hundred messages, one scrape of each HTTP path, then
// SIGTERM. With ZC_CODE_CACHE_TRAINING=1 each thread compiles its bundle from source and writes
// its cache: the main thread at its exit, the receive thread once it is ready (what a receive
// thread runs later stays out of its cache: src/worker/receive-worker.ts). One SUB socket, so
// one receive thread writes the receive cache.
'use strict'
const { spawn } = require('node:child_process')
const { statSync } = require('node:fs')
const http = require('node:http')
const { createInterface } = require('node:readline')

const MESSAGES = 300
const WITHIN_MS = 30_000
const TOPIC = 'train.data'

/**
 * Runs the container at `entry` (dist/main.js) once in training and checks that each of
 * `caches` was written by it. Rejects, with the container's output, when the run or a cache
 * fails: a build without its caches would start slower without a word.
 */
async function trainCodeCaches(entry, caches) {
  const { XPublisher } = require('zeromq')
  const startedAt = Date.now()
  const publisher = new XPublisher({ linger: 0 })
  await publisher.bind('tcp://127.0.0.1:*')
  const output = []
  const child = spawn(process.execPath, [entry], {
    // Nothing from the builder's environment but PATH: its ZMQ_* or LOG_* variables would change
    // the run, and a V8 flag in NODE_OPTIONS would make caches that a plain start refuses.
    env: {
      PATH: process.env.PATH ?? '',
      ZC_CODE_CACHE_TRAINING: '1',
      LOG_LEVEL: 'info',
      ZMQ_SUB_ENDPOINT: publisher.lastEndpoint,
      ZMQ_SUB_TOPICS: TOPIC,
      ZMQ_SUB_CLASS: 'telemetry',
      ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
      ZMQ_PUB_TOPICS: 'train.out',
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const lines = createInterface({ input: child.stdout })
  child.stderr.on('data', (chunk) => output.push(String(chunk)))
  const parsedLines = []
  const waiters = []
  lines.on('line', (line) => {
    output.push(line)
    let parsed
    try {
      parsed = JSON.parse(line)
    } catch {
      return
    }
    parsedLines.push(parsed)
    for (const w of waiters.splice(0)) if (!w(parsed)) waiters.push(w)
  })
  /** Resolves with the first line that `matches`, seen already or to come. */
  const lineWhere = (matches) => {
    const found = parsedLines.find(matches)
    if (found) return Promise.resolve(found)
    return new Promise((resolve) =>
      waiters.push((l) => {
        if (!matches(l)) return false
        resolve(l)
        return true
      }),
    )
  }
  const lineOf = (msg) => lineWhere((l) => l.msg === msg)
  let timer
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${WITHIN_MS} ms`)), WITHIN_MS)
  })
  try {
    await Promise.race([
      deadline,
      exited.then((exit) => {
        throw new Error(`the container ended early (${JSON.stringify(exit)})`)
      }),
      (async () => {
        const { port } = await lineOf('http listening')
        await lineOf('ready')
        // The container's subscription, so that no message is sent before it can arrive.
        await publisher.receive()
        for (let i = 0; i < MESSAGES; i++) await publisher.send([TOPIC, JSON.stringify({ i })])
        // The logging service logs each message it handles; the last one means all have run.
        const last = JSON.stringify({ i: MESSAGES - 1 })
        await lineWhere((l) => l.msg === 'received' && String(l.payload).includes(last))
        for (const where of ['/metrics', '/readyz', '/livez']) await scrape(port, where)
      })(),
    ])
    child.kill('SIGTERM')
    const exit = await Promise.race([deadline, exited])
    if (exit.code !== 0) throw new Error(`the container stopped with ${JSON.stringify(exit)}`)
    // A warning here is a run that went otherwise than planned (an unknown variable, say): its
    // caches would hold the code of that.
    const amiss = parsedLines.find((l) => ['warn', 'error', 'fatal'].includes(l.level))
    if (amiss) throw new Error(`the run logged ${JSON.stringify(amiss)}`)
    for (const cache of caches)
      if (!(statSync(cache, { throwIfNoEntry: false })?.mtimeMs >= startedAt))
        throw new Error(`the run wrote no ${cache}`)
  } catch (error) {
    child.kill('SIGKILL')
    error.message = `code cache training: ${error.message}\n${output.slice(-30).join('\n')}`
    throw error
  } finally {
    clearTimeout(timer)
    publisher.close()
  }
}

function scrape(port, where) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: where }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      .on('error', reject)
  })
}

module.exports = { trainCodeCaches }
