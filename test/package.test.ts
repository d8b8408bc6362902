// The package as users get it. `npm pack` of a fresh copy of the repository (the files git checks
// out, nothing built) holds dist/; the tarball installs into an empty project, where `require`,
// `import`, the bin and `tsc --module nodenext` all find the library. Inside the repository and in
// the image's layout (/app/services/x.js beside /app/package.json), a service file imports the
// library by its name, which Node resolves by package self-reference ("name" + "exports").
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ContainerProcess, ROOT } from './helpers/container'
import { LogProcess } from './helpers/log-process'
import { packFreshClone, run } from './helpers/pack'
import { TestPublisher } from './helpers/peers'

const PACKAGE = 'zmq-container'
const HANDLED = 'handled by a service that imports zmq-container'
const byNameFixture = (file: string) => path.join(ROOT, 'test', 'fixtures', 'by-name', file)
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

const work = mkdtempSync(path.join(tmpdir(), 'zc-package-'))
const project = path.join(work, 'project')
let tarball = ''
/** Printed as test diagnostics: what packing and installing cost here. */
const timingsMs = { pack: 0, install: 0 }

/** Waits until the container's SUB is attached, sends one message, waits for its handler's line. */
async function deliverOne(container: LogProcess, pub: TestPublisher): Promise<void> {
  await container.waitForLog('ready')
  await pub.subscribed('greeter.hello')
  await pub.send(['greeter.hello', 'hi'])
  const line = await container.waitForLog(HANDLED)
  assert.equal(line.topic, 'greeter.hello')
}

async function stopCleanly(container: LogProcess): Promise<void> {
  container.signal('SIGTERM')
  const exit = await container.exited
  assert.equal(exit.code, 0, container.dump())
}

describe('the npm package', () => {
  before(() => {
    const startedAt = performance.now()
    tarball = packFreshClone(work)
    timingsMs.pack = performance.now() - startedAt

    mkdirSync(project)
    writeFileSync(
      path.join(project, 'package.json'),
      `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2)}\n`,
    )
    const installStartedAt = performance.now()
    // The dependencies come from npm's cache when it has them: the suite's own `npm ci` filled it.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project)
    timingsMs.install = performance.now() - installStartedAt
  })

  after(() => rmSync(work, { recursive: true, force: true }))

  it('packs dist/ from a fresh clone (prepack builds it), with every entry point', (t) => {
    t.diagnostic(
      `npm pack of a fresh clone, prepack build included: ${Math.round(timingsMs.pack)} ms; ` +
        `npm install of the tarball: ${Math.round(timingsMs.install)} ms`,
    )
    const entries = new Set(
      execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean),
    )
    for (const file of [
      'dist/main.js',
      // The container's main thread runs this bundle with its code cache (scripts/write-entry.js).
      'dist/main.bundle.js',
      'dist/main.bundle.js.cache',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/esm/index.mjs',
      'dist/esm/index.d.mts',
      'dist/workers/receive.js',
      // receive.js is only the loader of these two (src/shared/bundle-loader.ts).
      'dist/workers/receive.bundle.js',
      'dist/workers/receive.bundle.js.cache',
      'dist/workers/recorder.js',
      'dist/src/testing/index.js',
      'dist/esm/testing.mjs',
      'dist/esm/testing.d.mts',
      'dist/src/service.js',
      'dist/src/service.d.ts',
      'dist/esm/service.mjs',
      'dist/esm/service.d.mts',
    ])
      assert.ok(entries.has(`package/${file}`), `the tarball holds ${file}`)
    assert.ok(
      ![...entries].some((e) => e.startsWith('package/test/') || e.startsWith('package/src/')),
      'no tests or TypeScript sources in the tarball',
    )
  })

  it('is found by require() in a project that installed the tarball', () => {
    const out = run(
      process.execPath,
      [
        '-e',
        `const m = require('${PACKAGE}')
         if (typeof m.defineService !== 'function' || typeof m.Supervisor !== 'function') process.exit(1)
         if (typeof require('${PACKAGE}/testing').startContainer !== 'function') process.exit(2)
         const light = require('${PACKAGE}/service')
         if (typeof light.defineService !== 'function' || typeof light.codecs.json !== 'function') process.exit(3)
         console.log(require.resolve('${PACKAGE}'))`,
      ],
      project,
    )
    assert.equal(out.trim(), path.join(project, 'node_modules', PACKAGE, 'dist', 'src', 'index.js'))
  })

  it('is found by import in a project that installed the tarball', () => {
    const out = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { defineService, Supervisor, EXIT } from '${PACKAGE}'
         import { startContainer } from '${PACKAGE}/testing'
         import { defineTypedService } from '${PACKAGE}/service'
         if (typeof startContainer !== 'function') process.exit(2)
         if (typeof defineTypedService !== 'function') process.exit(3)
         if (typeof defineService !== 'function' || typeof Supervisor !== 'function' || EXIT.CONFIG_INVALID !== 78) process.exit(1)
         console.log(import.meta.resolve('${PACKAGE}'))`,
      ],
      project,
    )
    assert.equal(
      out.trim(),
      `file://${path.join(project, 'node_modules', PACKAGE, 'dist', 'esm', 'index.mjs')}`,
    )
  })

  it('runs its bin (`zmq-container check`) from the installed project', () => {
    const result = spawnSync(path.join(project, 'node_modules', '.bin', PACKAGE), ['check'], {
      cwd: project,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        ZMQ_SUB_ENDPOINT: 'tcp://127.0.0.1:5555',
        ZMQ_SUB_TOPICS: 'camera.frame',
      },
    })
    assert.equal(result.status, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /^SUB sub \(ZMQ_SUB_\*\): /m)
  })

  it('typechecks with tsc --module nodenext, as ESM and as CommonJS', () => {
    // The @ts-expect-error lines fail the check if the types were missing (everything `any`).
    const source = `import { defineService, type Service } from '${PACKAGE}'
export const service: Service = defineService({
  handlers: { '*': (message, ctx) => ctx.log.info({ topic: message.topic, bytes: message.payload.length }) },
})
// @ts-expect-error handlers map socket names to functions
defineService({ handlers: { sub: 42 } })
`
    writeFileSync(path.join(project, 'service.mts'), source)
    writeFileSync(path.join(project, 'service.cts'), source)
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        },
        files: ['service.mts', 'service.cts'],
      }),
    )
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], project)
  })
})

describe('a service file that imports zmq-container by name', () => {
  for (const file of ['greeter.js', 'greeter.mjs', 'greeter-await.mjs']) {
    it(`runs from the repository: node dist/main.js with ZC_SERVICE=test/fixtures/by-name/${file}`, async () => {
      const pub = await new TestPublisher().bind()
      const container = new ContainerProcess({
        ZC_SERVICE: byNameFixture(file),
        ZMQ_SUB_ENDPOINT: pub.endpoint,
        ZMQ_SUB_TOPICS: 'greeter.hello',
      })
      try {
        await container.waitForLog('service loaded by package name')
        await deliverOne(container, pub)
        await stopCleanly(container)
      } finally {
        await container.stop()
        pub.close()
      }
    })
  }

  it("runs from the image's layout: /app/services/greeter.js beside /app/package.json", async () => {
    // The runtime stage's WORKDIR: package.json, dist/ and node_modules/ (linked), and the
    // README's recipe adds the service under services/.
    const app = mkdtempSync(path.join(tmpdir(), 'zc-app-'))
    copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'))
    symlinkSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), 'dir')
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir')
    mkdirSync(path.join(app, 'services'))
    copyFileSync(byNameFixture('greeter.js'), path.join(app, 'services', 'greeter.js'))
    const pub = await new TestPublisher().bind()
    const container = new LogProcess(
      'container',
      process.execPath,
      ['dist/main.js'],
      {
        PATH: process.env.PATH ?? '',
        ZC_SERVICE: path.join(app, 'services', 'greeter.js'),
        ZMQ_SUB_ENDPOINT: pub.endpoint,
        ZMQ_SUB_TOPICS: 'greeter.hello',
      },
      { cwd: app },
    )
    try {
      await deliverOne(container, pub)
      await stopCleanly(container)
    } finally {
      await container.stop()
      pub.close()
      rmSync(app, { recursive: true, force: true })
    }
  })
})
