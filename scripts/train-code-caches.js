// The build's training run: makes the V8 code caches of the container's two bundles
// (dist/main.bundle.js.cache, dist/workers/receive.bundle.js.cache) from one whole run of the
// container, so that they hold the code of what a container does, not only of its modules' top
// level. A thread compiles a function when it first calls it; with the cache it finds the code
// instead (src/shared/bundle-loader.ts, README "Start-up").
//
// The run, on loopback: a SUB socket that a publisher here feeds, a PUB socket and the health
// server on ephemeral ports; `ready`, a few hundred messages, one scrape of each HTTP path, then
// SIGTERM. With ZC_CODE_CACHE_TRAINING naming a fresh folder, each thread compiles its bundle
// from source and writes its cache there: the receive thread once it is ready, the main thread
// as it exits after a clean stop (what a receive thread runs later stays out of its cache:
// src/worker/receive-worker.ts). One SUB socket, so one receive thread writes the receive
// cache. Then the caches move beside their bundles.
'use strict'
const { spawn, spawnSync } = require('node:child_process')
const { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { createInterface } = require('node:readline')
const { setTimeout: delay } = require('node:timers/promises')

const MESSAGES = 300
/** A start, 300 messages and a stop take about a second here; an emulated builder is slower. */
const TRAINING_TIMEOUT_MS = 120_000
const TOPIC = 'train.data'
/** Levels that mean the run went otherwise than planned: its caches would hold the code of that. */
const FAILED_LEVELS = new Set(['error', 'fatal'])
/** The training folder's name in dist/; one left by an interrupted build is removed first. */
const FOLDER_PREFIX = '.code-cache-training-'
/** How long a killed run may take to end before its folder is removed anyway. */
const KILLED_EXIT_MS = 5_000

/**
 * Runs the container at `entry` (dist/main.js) once in training and puts the cache of each of
 * `bundles` beside it. Rejects, with the container's last lines, when the run fails or leaves a
 * cache unwritten: a build without its caches would start slower without a word. On Windows,
 * where a signal cannot ask a process to stop cleanly, there is no training: the bundles run
 * without caches there (`codeCache: none`), as on any platform without them.
 */
async function trainCodeCaches(entry, bundles) {
  if (process.platform === 'win32') {
    console.warn('code cache training: skipped on Windows (no clean SIGTERM); no code caches')
    return
  }
  // Each bundle's cache is named after its file (bundle-loader.ts): one folder holds them all.
  const names = bundles.map((bundle) => path.basename(bundle))
  if (new Set(names).size !== names.length)
    throw new Error(`code cache training: two bundles share a file name: ${names.join(', ')}`)
  // In dist/, so that the caches move into place by rename (one file system). A build killed
  // during its run leaves its folder (with a main cache in it, if the container stopped
  // cleanly), which `npm pack` would ship: gone before this run makes its own.
  const dist = path.dirname(entry)
  for (const name of readdirSync(dist))
    if (name.startsWith(FOLDER_PREFIX))
      rmSync(path.join(dist, name), { recursive: true, force: true })
  const folder = mkdtempSync(path.join(dist, FOLDER_PREFIX))
  const output = []
  let publisher
  let child
  let exited
  let timer
  try {
    const { XPublisher } = require('zeromq')
    publisher = new XPublisher({ linger: 0 })
    await publisher.bind('tcp://127.0.0.1:*')
    child = spawn(process.execPath, [entry], {
      // Nothing from the builder's environment but PATH: its ZMQ_* or LOG_* variables would
      // change the run, and a V8 flag in NODE_OPTIONS would make caches a plain start refuses.
      env: {
        PATH: process.env.PATH ?? '',
        ZC_CODE_CACHE_TRAINING: folder,
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
    exited = new Promise((resolve, reject) => {
      child.once('exit', (code, signal) => resolve({ code, signal }))
      child.once('error', reject)
    })
    child.stderr.on('data', (chunk) => output.push(String(chunk)))
    const parsedLines = []
    const waiters = []
    createInterface({ input: child.stdout }).on('line', (line) => {
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
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`not done within ${TRAINING_TIMEOUT_MS} ms`)),
        TRAINING_TIMEOUT_MS,
      )
    })
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
    const failed = parsedLines.find(
      (l) => FAILED_LEVELS.has(l.level) || l.msg === 'unknown variable',
    )
    if (failed) throw new Error(`the run logged ${JSON.stringify(failed)}`)
    // Other warnings (a thread priority this system cannot set, say) leave good caches: said.
    for (const l of parsedLines.filter((l) => l.level === 'warn'))
      console.warn(`code cache training: the run warned: ${l.msg}`)
    const written = bundles.map((bundle) => path.join(folder, `${path.basename(bundle)}.cache`))
    const missing = written.filter((file) => !existsSync(file))
    if (missing.length > 0)
      throw new Error(`the run wrote no ${missing.map((f) => path.basename(f)).join(', ')}`)
    for (const [i, bundle] of bundles.entries()) renameSync(written[i], `${bundle}.cache`)
  } catch (error) {
    error.message = `code cache training: ${error.message}\n${output.slice(-30).join('\n')}`
    // Ended before its folder goes, so that no write of its lands after the removal.
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await Promise.race([exited.catch(() => {}), delay(KILLED_EXIT_MS, undefined, { ref: false })])
    }
    throw error
  } finally {
    clearTimeout(timer)
    publisher?.close()
    try {
      rmSync(folder, { recursive: true, force: true })
    } catch (removal) {
      // Not worth hiding the run's own error for: said, and the folder is removed next build.
      console.warn(`code cache training: ${folder} not removed: ${removal.message}`)
    }
  }
}

/**
 * The logger bundle's cache (dist/workers/logger.bundle.js.cache), made in a process of its own:
 * a receive thread loads that bundle only when a handler first reads `ctx.log`, after its own
 * cache is written, so the container's run cannot make it. This one loads the bundle, makes a
 * logger as a thread makes `ctx.log`, and logs through it (to nowhere: stdout is ignored), so
 * the cache holds the code of a first log line, then moves the cache beside the bundle.
 */
function trainLoggerCache(loader, bundle, dist) {
  // In dist/, where the next build sweeps away a folder a killed build left (trainCodeCaches).
  const folder = mkdtempSync(path.join(dist, FOLDER_PREFIX))
  try {
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `const loader = require(${JSON.stringify(loader)})
         const module = { exports: {} }
         loader.runBundle(${JSON.stringify(bundle)}, module, { trainInto: ${JSON.stringify(folder)}, secondary: true })
         const log = module.exports.createLogger('info', { socket: 'train', class: 'telemetry' }, 'json')
         log.info({ topic: 'train.data', bytes: 3, payload: 'abc' }, 'received')
         log.error({ err: new Error('training') }, 'handler failed')
         log.child({ part: 'child' }).warn('child')
         loader.writeTrainedCodeCache()`,
      ],
      {
        // PATH only, as for the container's run: a V8 flag in NODE_OPTIONS would make a cache
        // that a plain start refuses.
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
        timeout: TRAINING_TIMEOUT_MS,
      },
    )
    const written = path.join(folder, `${path.basename(bundle)}.cache`)
    if (run.error || run.status !== 0 || !existsSync(written))
      throw new Error(
        `code cache training of ${path.basename(bundle)}: ${run.error ? run.error.message : `exit ${run.status ?? run.signal}`}, ${existsSync(written) ? 'cache written' : 'no cache'}\n${run.stderr}`,
      )
    renameSync(written, `${bundle}.cache`)
  } finally {
    rmSync(folder, { recursive: true, force: true })
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

module.exports = { trainCodeCaches, trainLoggerCache }
