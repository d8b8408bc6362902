// Start-up cost is mostly module loading (issue 14): every receive thread loads its own copy of
// its module graph, and the main thread loads the container's before it reads the environment.
// These tests pin what each may load, so a new top-level import that drags a large library
// into the start-up path fails here, not in a benchmark weeks later.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import { MAIN, ROOT } from './helpers/container'

const DIST = path.join(ROOT, 'dist', 'src')

/** The npm packages a fresh thread has loaded after requiring `file` (compiled code, dist/). */
async function packagesLoadedBy(file: string): Promise<string[]> {
  const names = (await filesLoadedBy(file))
    .map((k) => (/node_modules[\\/]((@[^\\/]+[\\/])?[^\\/]+)/.exec(k) ?? [])[1])
    .filter((name): name is string => name !== undefined)
  return [...new Set(names)]
}

/** Every file a fresh thread has loaded after requiring `file`. */
function filesLoadedBy(file: string): Promise<string[]> {
  // A thread entry starts its work as it loads; without its workerData that work fails, which is
  // not what this measures.
  const code = `
    process.on('unhandledRejection', () => {})
    require(${JSON.stringify(file)})
    require('node:worker_threads').parentPort.postMessage(Object.keys(require.cache))`
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

/**
 * The project's files `node dist/main.js ...argv` has loaded when it exits, relative to the root:
 * the binary as a user runs it, with an empty environment (the container exits 78 on it).
 */
function projectFilesLoadedByEntry(argv: string[], exitCode: number): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zc-entry-'))
  try {
    const preload = path.join(dir, 'report.js')
    writeFileSync(
      preload,
      "process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'))\n",
    )
    const run = spawnSync(process.execPath, ['--require', preload, MAIN, ...argv], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 30_000,
    })
    assert.ifError(run.error)
    // Ended as it should: a crash after the bundle loaded must not pass on its file list.
    assert.equal(run.status, exitCode, run.stderr)
    const line = run.stderr.split('\n').find((l) => l.startsWith('LOADED '))
    assert.ok(line, run.stderr)
    return (JSON.parse(line.slice('LOADED '.length)) as string[])
      .filter((f) => f.startsWith(ROOT) && !f.includes(`${path.sep}node_modules${path.sep}`))
      .map((f) => path.relative(ROOT, f))
      .sort()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('start-up loading', () => {
  it("the container's main thread runs one bundle: of the project it loads only the entry, early-signals.js, runs-container.js, the bundle's loader, errors.js and paths.js besides", () => {
    // tsc's output would load some 90 of the project's modules here, one file each.
    // An empty environment: the container reads it, and exits 78 (no socket configured).
    // The bundle itself (main.bundle.js) runs through vm, with its code cache, so Node's module
    // table does not list it (test/bundle-loader.test.ts).
    assert.deepEqual(projectFilesLoadedByEntry([], 78), [
      path.join('dist', 'main.js'),
      path.join('dist', 'src', 'early-signals.js'),
      path.join('dist', 'src', 'main', 'runs-container.js'),
      path.join('dist', 'src', 'shared', 'bundle-loader.js'),
      path.join('dist', 'src', 'shared', 'code-cache-state.js'),
      path.join('dist', 'src', 'shared', 'crc32.js'),
      path.join('dist', 'src', 'shared', 'errors.js'),
      // import-module.js only for an ES module service (src/shared/service.ts).
      path.join('dist', 'src', 'shared', 'paths.js'),
    ])
  })

  it('a command-line tool loads tsc modules, not the bundle', () => {
    const loaded = projectFilesLoadedByEntry(['--version'], 0)
    assert.ok(loaded.includes(path.join('dist', 'src', 'main.js')), loaded.join(' '))
    assert.ok(
      !loaded.includes(path.join('dist', 'src', 'shared', 'bundle-loader.js')),
      loaded.join(' '),
    )
  })

  it('a receive thread loads neither the config validators, piscina nor pino', async () => {
    const loaded = await packagesLoadedBy(path.join(DIST, 'worker', 'receive-worker.js'))
    // The ones it needs, so the check reads the right graph: jsonLineLog writes pino's lines
    // with pino's error serializer.
    for (const needed of ['zeromq', 'pino-std-serializers'])
      assert.ok(loaded.includes(needed), loaded.join(' '))
    // envalid and fastest-levenshtein come with the config index (the main thread validates);
    // piscina only with _POOL_THREADS, loaded when a pool is made; pino when a handler first
    // reads ctx.log (worker/thread-logs.ts).
    for (const spare of ['envalid', 'fastest-levenshtein', 'piscina', 'pino'])
      assert.ok(!loaded.includes(spare), `${spare} in ${loaded.join(' ')}`)
  })

  it('the receive thread entry is one bundle: of the project it loads only its loader (with its CRC and where it keeps its outcome) and errors.js', async () => {
    const loaded = await filesLoadedBy(path.join(ROOT, 'dist', 'workers', 'receive.js'))
    const own = loaded
      .filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`))
      .map((f) => path.relative(ROOT, f))
      .sort()
    // tsc's output would load some 30 of the project's modules here, and pino's dozen files.
    // The bundle itself (receive.bundle.js) runs through vm, with its code cache, so Node's
    // module table does not list it (test/bundle-loader.test.ts).
    assert.deepEqual(own, [
      path.join('dist', 'src', 'shared', 'bundle-loader.js'),
      path.join('dist', 'src', 'shared', 'code-cache-state.js'),
      path.join('dist', 'src', 'shared', 'crc32.js'),
      path.join('dist', 'src', 'shared', 'errors.js'),
      // Outside the bundle too, but loaded only when needed: import-module.js for an ES module
      // service, paths.js for a pool (each file costs a thread about 0.35 ms to find and compile).
      path.join('dist', 'workers', 'receive.js'),
    ])
    // zeromq (its JS and the addon loader) is the one package left outside the bundle that
    // every thread loads: native, so one copy per process. (A thread that loads nothing has the
    // test runner's TypeScript loader: not the entry's.)
    const runner = new Set(await packagesLoadedBy('node:os'))
    const packages = (await packagesLoadedBy(path.join(ROOT, 'dist', 'workers', 'receive.js')))
      .filter((name) => !runner.has(name))
      .sort()
    assert.deepEqual(packages, ['cmake-ts', 'zeromq'])
  })

  it('zmq-container/service, which every receive thread loads with a service, is its entry and five small modules', async () => {
    const loaded = await filesLoadedBy(path.join(DIST, 'service.js'))
    const own = loaded
      .filter((f) => f.startsWith(path.join(ROOT, 'dist')))
      .map((f) => path.relative(DIST, f))
      .sort()
    // The package's main entry loads some 80 (the supervisor, the config validators, the
    // recording reader...) and pino; a service importing it pays for them in every thread.
    assert.deepEqual(own, [
      path.join('service.js'),
      path.join('shared', 'config', 'types.js'),
      path.join('shared', 'define-service.js'),
      path.join('shared', 'errors.js'),
      path.join('shared', 'topics.js'),
      path.join('shared', 'typed-topics.js'),
    ])
    const runner = new Set(await packagesLoadedBy('node:os'))
    const packages = (await packagesLoadedBy(path.join(DIST, 'service.js'))).filter(
      (name) => !runner.has(name),
    )
    assert.deepEqual(packages, [])
  })

  it('the container entry loads neither the tools, the recorder nor prom-client up front', async () => {
    const loaded = await packagesLoadedBy(path.join(DIST, 'main.js'))
    for (const needed of ['zeromq', 'pino', 'envalid'])
      assert.ok(loaded.includes(needed), loaded.join(' '))
    // yaml: the topology tools; @mcap: recording; prom-client: /metrics, made once ready.
    for (const spare of ['yaml', '@mcap/core', '@mcap/nodejs', 'prom-client'])
      assert.ok(!loaded.includes(spare), `${spare} in ${loaded.join(' ')}`)
  })

  it('--version loads none of the command-line tools', async () => {
    // The entry's `main` as the binary runs it, then what it loaded.
    const code = `
      process.stdout.write = () => true
      require(${JSON.stringify(path.join(DIST, 'main.js'))}).main(['--version'])
      require('node:worker_threads').parentPort.postMessage(Object.keys(require.cache))`
    const files: string[] = await new Promise((resolve, reject) => {
      const worker = new Worker(code, { eval: true })
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    const tools = files.filter((f) => f.includes(`${path.sep}cli${path.sep}`))
    assert.deepEqual(tools, [])
    assert.ok(
      files.some((f) => f.endsWith(`${path.sep}main.js`)),
      files.join(' '),
    )
  })
})
