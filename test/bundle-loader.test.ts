// The container's bundles (the main thread's and the receive thread's) run with V8's code caches
// made at build time by a training run (src/shared/bundle-loader.ts,
// scripts/train-code-caches.js): used when they fit, and never trusted for other source.
import assert from 'node:assert/strict'
import {
  existsSync,
  type FSWatcher,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import { type CodeCacheOutcome, cacheFileOf } from '../src/shared/bundle-loader'
import { ContainerProcess, ROOT } from './helpers/container'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-bundle-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let unique = 0
/** A bundle file of `source`, in a folder of its own. */
function bundleOf(source: string): string {
  const folder = path.join(dir, String(unique++))
  const file = path.join(folder, 'bundle.js')
  rmSync(folder, { recursive: true, force: true })
  mkdirSync(folder)
  writeFileSync(file, source)
  return file
}

const LOADER = path.join(ROOT, 'src', 'shared', 'bundle-loader.ts')

/**
 * Runs `code` in a thread of its own and resolves with what it posts. A fresh isolate matters:
 * one that compiled the same source before takes it from its own compilation cache, and would
 * never look at the code cache these tests are about.
 */
function inThread<T>(code: string): Promise<T> {
  const worker = new Worker(
    `const loader = require(${JSON.stringify(LOADER)})
     const post = (value) => require('node:worker_threads').parentPort.postMessage(value)
     ;(async () => { ${code} })()`,
    { eval: true },
  )
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  }).finally(() => worker.terminate())
}

/**
 * Makes the code cache of `bundle` as the build's training run does, in a thread of its own:
 * runs it compiled from source, then `before` (code run after it loaded), then writes the cache.
 * Resolves with what the training load returned.
 */
const writeCache = (bundle: string, before = '') =>
  inThread<CodeCacheOutcome>(`
    const module = { exports: {} }
    const outcome = loader.runBundle(${JSON.stringify(bundle)}, module, {
      trainInto: ${JSON.stringify(path.dirname(bundle))},
    })
    ${before}
    loader.writeTrainedCodeCache()
    post(outcome)`)

/** Runs `bundle` in a fresh thread: its exports and what the cache did. */
const load = (bundle: string) =>
  inThread<{ outcome: CodeCacheOutcome; exports: Record<string, unknown> }>(`
    const module = { exports: {} }
    const outcome = loader.runBundle(${JSON.stringify(bundle)}, module)
    post({ outcome, exports: module.exports })`)

describe('bundle loader', () => {
  it('the built receive entry runs its bundle from the code cache the build made', async () => {
    // As a receive thread started early: it loads its bundle and waits for an init.
    const entry = path.join(ROOT, 'dist', 'workers', 'receive.js')
    const code = `
      const { codeCache } = require(${JSON.stringify(entry)})
      require('node:worker_threads').parentPort.postMessage(codeCache)`
    const worker = new Worker(code, { eval: true, workerData: { early: true } })
    const outcome = await new Promise((resolve, reject) => {
      // The thread says it has loaded too (an object); the outcome is the string.
      worker.on('message', (m) => typeof m === 'string' && resolve(m))
      worker.once('error', reject)
    })
    // It holds no socket yet: ending it is safe.
    await worker.terminate()
    assert.equal(outcome, 'used')
  })

  it("the container's `starting`, `subscribed` and `answering requests` lines say whether the thread's code came from the cache; a V8 flag in NODE_OPTIONS makes V8 refuse it", async () => {
    /** The `codeCache` of each socket's start line, by line. */
    const started = async (env: Record<string, string>) => {
      const container = new ContainerProcess({
        // Connects to nothing: enough to subscribe.
        ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
        ZMQ_SUB_TOPICS: 'cache.check',
        ZMQ_SUB_CLASS: 'telemetry',
        ZMQ_REP_ENDPOINT: '@tcp://127.0.0.1:*',
        ZMQ_REP_CLASS: 'control',
        ...env,
      })
      await container.waitForLog('ready')
      container.signal('SIGTERM')
      assert.equal((await container.exited).code, 0, container.dump())
      const of = (msg: string) => container.lines.find((l) => l.msg === msg)?.codeCache
      return [of('starting'), of('subscribed'), of('answering requests')]
    }
    assert.deepEqual(await started({}), ['used', 'used', 'used'])
    // A flag both Node 20 and 24 count in the check (Node 24 leaves heap sizes out of it).
    assert.deepEqual(await started({ NODE_OPTIONS: '--stack-trace-limit=20' }), [
      'rejected',
      'rejected',
      'rejected',
    ])
    // Source maps need the bundle required, not run from the cache.
    assert.deepEqual(await started({ NODE_OPTIONS: '--enable-source-maps' }), [
      'source-maps',
      'source-maps',
      'source-maps',
    ])
  })

  it('with --enable-source-maps the bundle is required, so its stack traces map to src/', async () => {
    const entry = path.join(ROOT, 'dist', 'workers', 'receive.js')
    const bundle = path.join(ROOT, 'dist', 'workers', 'receive.bundle.js')
    // A line of the worker's own code in the bundle (0-based, as SourceMap.findEntry counts).
    const line = readFileSync(bundle, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('function runReceiveWorker('))
    assert.ok(line > 0)
    const code = `
      const { codeCache } = require(${JSON.stringify(entry)})
      const map = require('node:module').findSourceMap(${JSON.stringify(bundle)})
      const entry = map?.findEntry(${line}, 10)
      require('node:worker_threads').parentPort.postMessage(
        [codeCache, entry?.originalSource ?? 'unmapped'].join(' '),
      )`
    const worker = new Worker(code, {
      eval: true,
      workerData: { early: true },
      // Only this flag: the thread runs dist/ (no TypeScript loader), and Node 24's test runner
      // passes flags a Worker refuses.
      execArgv: ['--enable-source-maps'],
    })
    const said = await new Promise<string>((resolve, reject) => {
      worker.on('message', (m) => typeof m === 'string' && resolve(m))
      worker.once('error', reject)
    })
    await worker.terminate()
    const [outcome, source] = said.split(' ')
    assert.equal(outcome, 'source-maps')
    assert.match(source ?? '', /\.ts$/)
  })

  it('without a cache the bundle runs compiled; with one, from it', async () => {
    const bundle = bundleOf('exports.value = 6 * 7\n')
    assert.deepEqual(await load(bundle), { outcome: 'none', exports: { value: 42 } })
    assert.equal(await writeCache(bundle), 'training')
    assert.deepEqual(await load(bundle), { outcome: 'used', exports: { value: 42 } })
  })

  it("a trained cache holds the code of what ran before it was written, not only the bundle's top level", async () => {
    // V8 compiles a function when it is first called: its code is in a cache made after that
    // call, and not in one made before it.
    const later = Array.from(
      { length: 40 },
      (_, i) => `exports.f${i} = (x) => [x, ${i}].map((v) => v * 2 + ${i}).join('-')`,
    ).join('\n')
    const calls = Array.from({ length: 40 }, (_, i) => `module.exports.f${i}(${i})`).join('; ')
    const untrained = bundleOf(`${later}\n`)
    const trained = bundleOf(`${later}\n`)
    await writeCache(untrained)
    await writeCache(trained, calls)
    const sizeOf = (bundle: string) => readFileSync(cacheFileOf(bundle)).length
    assert.ok(
      sizeOf(trained) > sizeOf(untrained) + 40 * 50,
      `trained ${sizeOf(trained)} bytes, untrained ${sizeOf(untrained)} bytes`,
    )
    // And a fresh thread runs from it (its exports are functions: only the outcome comes back).
    const outcome = await inThread<CodeCacheOutcome>(
      `post(loader.runBundle(${JSON.stringify(trained)}, { exports: {} }))`,
    )
    assert.equal(outcome, 'used')
  })

  it("the build trained its bundles (the main thread's, the receive thread's and the receive thread's logger): each cache is made for its bundle as built, and holds more than its top level", async () => {
    for (const bundle of [
      'main.bundle.js',
      path.join('workers', 'receive.bundle.js'),
      path.join('workers', 'logger.bundle.js'),
    ]) {
      const file = path.join(ROOT, 'dist', bundle)
      const cache = readFileSync(cacheFileOf(file))
      // The header: the bundle's length (V8 checks only that), then its CRC-32.
      assert.equal(cache.readUInt32LE(0), readFileSync(file).length, bundle)
      // A cache of the bundle compiled and never run: its top level only, which is what a
      // cache made without the training run would hold.
      const topLevelOnly = await inThread<number>(`
        const { Script } = require('node:vm')
        const source = require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8')
        post(new Script(require('node:module').wrap(source)).createCachedData().length)`)
      assert.ok(
        cache.length - 8 > 1.2 * topLevelOnly,
        `${bundle}: ${cache.length - 8} bytes trained, ${topLevelOnly} for its top level`,
      )
    }
  })

  it('in a training run, a receive thread writes its cache once it is ready, the main thread as it exits after a clean stop; a cache it cannot write is one line on stderr, and the run goes on', async (t) => {
    const folder = path.join(dir, `training-${unique++}`)
    mkdirSync(folder)
    const main = path.join(folder, 'main.bundle.js.cache')
    const receive = path.join(folder, 'receive.bundle.js.cache')
    /** Resolves when `file` exists: fs.watch sees it arrive (by rename). */
    let watcher: FSWatcher | undefined
    const appears = (file: string) =>
      new Promise<void>((resolve) => {
        watcher = watch(folder, () => {
          if (existsSync(file)) resolve()
        })
        if (existsSync(file)) resolve()
      }).finally(() => watcher?.close())
    const sub = {
      ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:1',
      ZMQ_SUB_TOPICS: 'cache.check',
      ZMQ_SUB_CLASS: 'telemetry',
    }
    const container = new ContainerProcess({ ...sub, ZC_CODE_CACHE_TRAINING: folder })
    // On a failed assertion, nothing is left running to keep the test file alive.
    t.after(() => {
      watcher?.close()
      return container.stop()
    })
    assert.equal((await container.waitForLog('starting')).codeCache, 'training')
    await container.waitForLog('ready')
    // Before any stop: the receive thread's is there, the main thread's not yet. (A liveness
    // bound: a thread that wrote only at its stop would leave this waiting for good.)
    let bound: NodeJS.Timeout | undefined
    await Promise.race([
      appears(receive),
      new Promise((_, reject) => {
        bound = setTimeout(() => reject(new Error('no receive cache before the stop')), 20_000)
      }),
    ]).finally(() => clearTimeout(bound))
    assert.ok(!existsSync(main), container.dump())
    container.signal('SIGTERM')
    assert.equal((await container.exited).code, 0, container.dump())
    assert.ok(existsSync(main), container.dump())
    // Nothing but the two caches: no temporary file left behind.
    assert.deepEqual(readdirSync(folder).sort(), [
      'main.bundle.js.cache',
      'receive.bundle.js.cache',
    ])

    // A failed run (exit 78: an endpoint without a scheme) writes nothing.
    const failedFolder = path.join(dir, `training-${unique++}`)
    mkdirSync(failedFolder)
    const failed = new ContainerProcess({
      ...sub,
      ZMQ_SUB_ENDPOINT: '127.0.0.1:1',
      ZC_CODE_CACHE_TRAINING: failedFolder,
    })
    t.after(() => failed.stop())
    assert.equal((await failed.exited).code, 78, failed.dump())
    assert.deepEqual(readdirSync(failedFolder), [])

    // A folder that is not one: each thread says so once, and the container runs and stops.
    const nowhere = path.join(folder, 'main.bundle.js.cache', 'not-a-folder')
    const unwritable = new ContainerProcess({ ...sub, ZC_CODE_CACHE_TRAINING: nowhere })
    t.after(() => unwritable.stop())
    await unwritable.waitForLog('ready')
    unwritable.signal('SIGTERM')
    assert.equal((await unwritable.exited).code, 0, unwritable.dump())
    const said = unwritable.stderrLines.filter((l) => /^code cache of .* not written: /.test(l))
    assert.equal(said.length, 2, unwritable.dump())

    // A cache whose place is taken (by a folder with something in it): written, then not
    // renamed; its temporary file is removed, and only the two folders are left.
    const taken = path.join(dir, `training-${unique++}`)
    for (const name of ['main.bundle.js.cache', 'receive.bundle.js.cache'])
      mkdirSync(path.join(taken, name, 'occupied'), { recursive: true })
    const blocked = new ContainerProcess({ ...sub, ZC_CODE_CACHE_TRAINING: taken })
    t.after(() => blocked.stop())
    await blocked.waitForLog('ready')
    blocked.signal('SIGTERM')
    assert.equal((await blocked.exited).code, 0, blocked.dump())
    assert.equal(
      blocked.stderrLines.filter((l) => /^code cache of .* not written: /.test(l)).length,
      2,
      blocked.dump(),
    )
    assert.deepEqual(readdirSync(taken).sort(), ['main.bundle.js.cache', 'receive.bundle.js.cache'])
  })

  it('a bundle edited after its cache was made runs its new source (V8 checks only the length)', async () => {
    const bundle = bundleOf('exports.value = 42\n')
    await writeCache(bundle)
    // Same length: V8 alone would run the cached code and give 42.
    writeFileSync(bundle, 'exports.value = 43\n')
    assert.deepEqual(await load(bundle), { outcome: 'stale', exports: { value: 43 } })
  })

  it('a cache V8 refuses leaves the bundle compiled from source', async () => {
    const bundle = bundleOf('exports.value = 42\n')
    await writeCache(bundle)
    const cache = readFileSync(cacheFileOf(bundle))
    // The header still fits the source; V8's own data is damaged.
    cache.fill(0x5a, 8, 40)
    writeFileSync(cacheFileOf(bundle), cache)
    assert.deepEqual(await load(bundle), { outcome: 'rejected', exports: { value: 42 } })
  })

  it('both bundles are ASCII, which the loader decodes as latin1 (half the cost of UTF-8); other text still loads, as UTF-8', async () => {
    for (const file of [
      path.join(ROOT, 'dist', 'workers', 'receive.bundle.js'),
      path.join(ROOT, 'dist', 'workers', 'logger.bundle.js'),
      path.join(ROOT, 'dist', 'main.bundle.js'),
    ]) {
      const lines = readFileSync(file, 'utf8').split('\n')
      // esbuild escapes strings and names (charset: 'ascii') but keeps some comments as written.
      const other = lines.flatMap((line, i) =>
        /[\u0080-\uffff]/.test(line) ? [`${i + 1}: ${line.trim()}`] : [],
      )
      assert.deepEqual(other, [], `${path.basename(file)}: write these source lines in ASCII`)
    }
    const bundle = bundleOf("module.exports = { text: 'caf\u00e9 \u2713 10 \u00b5s' }")
    await writeCache(bundle)
    const { outcome, exports } = await load(bundle)
    assert.equal(outcome, 'used')
    assert.equal(exports.text, 'caf\u00e9 \u2713 10 \u00b5s')
  })

  it("a secondary bundle (the logger a thread loads later) leaves the thread's outcome as it was and never trains from the environment", async () => {
    const own = bundleOf('module.exports = 1')
    const later = bundleOf('module.exports = 2')
    await writeCache(later)
    const seen = await inThread<{ first: string; second: string; outcome: string | undefined }>(`
      process.env.${'ZC_CODE_CACHE_TRAINING'} = ${JSON.stringify(path.join(dir, 'nowhere'))}
      const first = loader.runBundle(${JSON.stringify(own)}, { exports: {} }, { trainInto: '' })
      const second = loader.runBundle(${JSON.stringify(later)}, { exports: {} }, { secondary: true })
      post({ first, second, outcome: require(${JSON.stringify(path.join(ROOT, 'src', 'shared', 'code-cache-state.ts'))}).codeCacheOutcome() })`)
    assert.equal(seen.first, 'none')
    assert.equal(
      seen.second,
      'used',
      'the environment asked for training; a secondary bundle ignores it',
    )
    assert.equal(seen.outcome, 'none', "the thread's own outcome")
    assert.ok(!existsSync(path.join(dir, 'nowhere')))
  })

  it('the receive bundle holds no pino: its logger bundle does, loaded when a handler first reads ctx.log', () => {
    const modules = (file: string) =>
      readFileSync(path.join(ROOT, 'dist', 'workers', file), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('// '))
    assert.deepEqual(
      modules('receive.bundle.js').filter((l) => l.includes('node_modules/pino/')),
      [],
    )
    assert.ok(modules('logger.bundle.js').some((l) => l.includes('node_modules/pino/pino.js')))
  })

  it("a thread runs the logger bundle from its cache (else the first ctx.log costs a compile of pino), and gets pino's logger from it", async () => {
    const bundle = path.join(ROOT, 'dist', 'workers', 'logger.bundle.js')
    const seen = await inThread<{ outcome: string; child: string; level: string }>(`
      const module = { exports: {} }
      const outcome = loader.runBundle(${JSON.stringify(bundle)}, module, { secondary: true })
      const log = module.exports.createLogger('warn', { socket: 's' }, 'json')
      post({ outcome, child: typeof log.child, level: log.level })`)
    assert.deepEqual(seen, { outcome: 'used', child: 'function', level: 'warn' })
  })

  it('neither bundle has an import() of its own: a cached script cannot run one', () => {
    // Node drops importModuleDynamically for a script made from cached data: an import() in a
    // bundle would fail with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. The service loader's
    // import() is in shared/import-module.ts, outside both (test/package.test.ts loads an ES
    // module service with top-level await, which only import() can load).
    const receive = readFileSync(path.join(ROOT, 'dist', 'workers', 'receive.bundle.js'), 'utf8')
    assert.deepEqual(receive.match(/\bimport\(/g) ?? [], [])
    assert.match(receive, /require\("\.\/\.\.\/src\/shared\/import-module\.js"\)/)
    const main = readFileSync(path.join(ROOT, 'dist', 'main.bundle.js'), 'utf8')
    assert.deepEqual(main.match(/\bimport\(/g) ?? [], [])
    assert.match(main, /require\("\.\/src\/shared\/import-module\.js"\)/)
  })
})
