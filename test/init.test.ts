// `zmq-container init` as a new user meets it: the project it creates installs the packed
// package tarball (not a link), passes its own `npm test` and `npm run build`, and its service,
// started the way `npm start` does, handles a message from a pyzmq peer.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import { validate as lintDockerfile } from 'dockerfile-utils'
import { parse as parseYaml } from 'yaml'
import { packageVersion } from '../src/shared/paths'
import { MAIN, ROOT } from './helpers/container'
import { LogProcess } from './helpers/log-process'
import { cleanEnv, packFreshClone, run } from './helpers/pack'

const PYTHON = '/usr/bin/python3'
const PEER = path.join(ROOT, 'test', 'fixtures', 'pyzmq', 'publish_once.py')
/** Where CI lays the Compose Specification schema, as test/deploy.test.ts reads it. */
const COMPOSE_SCHEMA = path.join(ROOT, '..', 'shared', 'schemas', 'compose-spec.json')

function pyzmqMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import zmq'], { encoding: 'utf8' })
  if (probe.error) return `${PYTHON} is not installed`
  if (probe.status !== 0)
    return `pyzmq is missing for ${PYTHON} (apt-get install -y python3-zmq; .ci/run does it)`
  return false
}

function init(args: string[], cwd = tmpdir()) {
  return spawnSync(process.execPath, [MAIN, 'init', ...args], { cwd, encoding: 'utf8' })
}

describe('zmq-container init: the command', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zc-init-cmd-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('writes every file of the project, with the sockets asked for, and prints the next commands', () => {
    const target = path.join(dir, 'my-camera')
    const result = init([target, '--sub', 'camera.cmd,nav.', '--pub', 'camera.frame', '--rep'])
    assert.equal(result.status, 0, result.stderr)
    // The package is not on the registry: the project gets a tarball of this checkout.
    assert.ok(
      result.stdout.includes(
        `\n  (cd ${ROOT} && npm pack --ignore-scripts --pack-destination ${target})\n  npm install ./zmq-container-${packageVersion()}.tgz && npm run build\n  npm test && npm start\n`,
      ),
      result.stdout,
    )
    assert.match(result.stdout, /Next:\n {2}cd .*my-camera\n/)
    const files = readdirSync(target, { recursive: true }).map(String).sort()
    for (const file of [
      '.env',
      'Dockerfile',
      'README.md',
      'compose.yaml',
      'package.json',
      'src/service.ts',
      'test/service.test.ts',
      'tsconfig.json',
    ])
      assert.ok(files.includes(file), `${file} in ${files.join(', ')}`)
    const env = parseEnv(readFileSync(path.join(target, '.env'), 'utf8'))
    assert.equal(env.ZMQ_SUB_TOPICS, 'camera.cmd,nav.')
    assert.equal(env.ZMQ_PUB_TOPICS, 'camera.frame')
    assert.equal(env.ZC_SERVICE, 'dist/service.js')
    assert.ok(env.ZMQ_REP_ENDPOINT)
    // Every variable it sets has a comment line right above it (or above its group).
    const lines = readFileSync(path.join(target, '.env'), 'utf8').split('\n')
    for (const [i, line] of lines.entries())
      if (/^[A-Z_]+=/.test(line) && !/^[A-Z_]+=/.test(lines[i - 1] ?? ''))
        assert.match(lines[i - 1] ?? '', /^# /, `a comment above ${line}`)
    const service = readFileSync(path.join(target, 'src/service.ts'), 'utf8')
    assert.match(service, /handlers: \{.*sub: \(message, ctx\)/s)
    assert.match(service, /replies: \{.*rep: \(request\)/s)
    const pkg = JSON.parse(readFileSync(path.join(target, 'package.json'), 'utf8'))
    assert.equal(pkg.name, 'my-camera')
    assert.equal(pkg.dependencies['zmq-container'], '^0.1.0')
    // The `zmq-container check` of the generated .env passes, as the container would load it.
    const check = spawnSync(process.execPath, [MAIN, 'check'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env, ZC_SERVICE: '' },
    })
    assert.ok(check.status === 0 || check.status === 2, check.stdout + check.stderr)
  })

  it('writes a Dockerfile with no lint findings and a compose.yaml valid by the Compose schema', (t) => {
    const target = path.join(dir, 'linted')
    assert.equal(init([target, '--sub', 'camera.frame', '--rep']).status, 0)
    const findings = lintDockerfile(readFileSync(path.join(target, 'Dockerfile'), 'utf8'))
    assert.deepEqual(
      findings.map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
      [],
    )
    const compose = parseYaml(readFileSync(path.join(target, 'compose.yaml'), 'utf8'))
    assert.deepEqual(Object.keys(compose.services), ['linted', 'peer'])
    if (!existsSync(COMPOSE_SCHEMA)) {
      t.diagnostic(`${COMPOSE_SCHEMA} is absent: compose.yaml not checked against the schema`)
      return
    }
    const ajv = new Ajv({ strict: false, allErrors: true })
    addFormats(ajv)
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/)
    ajv.addFormat('expose', true)
    ajv.addFormat('ports', true)
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(COMPOSE_SCHEMA, 'utf8'))
    const validate = ajv.compile(schema)
    assert.ok(validate(compose), ajv.errorsText(validate.errors, { separator: '\n' }))
  })

  it('refuses a directory that holds anything, and writes nothing', () => {
    const target = path.join(dir, 'taken')
    mkdirSync(target)
    writeFileSync(path.join(target, 'notes.txt'), 'mine')
    const result = init([target])
    assert.equal(result.status, 73)
    assert.match(result.stderr, /is not an empty directory; nothing was written/)
    assert.deepEqual(readdirSync(target), ['notes.txt'])
  })

  it('rejects a bad topic or name with one line and exit 64', () => {
    const bad = init([path.join(dir, 'x'), '--pub', 'camera frame'])
    assert.equal(bad.status, 64)
    assert.match(bad.stderr, /--pub "camera frame" must be <component>.<message_type>/)
    // A subscription the container would refuse (no dot: it matches nothing) is refused here too.
    const bare = init([path.join(dir, 'y'), '--sub', 'camera'])
    assert.equal(bare.status, 64)
    assert.match(bare.stderr, /--sub "camera" has no dot/)
    const name = init([path.join(dir, 'Bad_Name')])
    assert.equal(name.status, 64)
    assert.match(name.stderr, /pass --name/)
  })
})

describe('zmq-container init: the project, installed from the packed tarball', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'zc-init-'))
  const projects = { ts: path.join(work, 'ts-camera'), js: path.join(work, 'js-camera') }
  const timingsMs = { pack: 0, install: 0 }
  before(() => {
    const startedAt = performance.now()
    const tarball = packFreshClone(work)
    timingsMs.pack = performance.now() - startedAt
    for (const [language, dir] of Object.entries(projects)) {
      // TypeScript with every kind of socket; JavaScript with a SUB alone, whose test can only
      // wait on the counters.
      const args =
        language === 'ts'
          ? [dir, '--sub', 'camera.frame', '--pub', 'camera.ack', '--rep']
          : [dir, '--sub', 'camera.', '--js']
      const result = init(args)
      assert.equal(result.status, 0, result.stderr)
      const installStartedAt = performance.now()
      // The tarball, as a file: dependency; the rest from npm's cache (filled by the suite's npm ci).
      run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], dir)
      timingsMs.install = Math.max(timingsMs.install, performance.now() - installStartedAt)
    }
  })
  after(() => rmSync(work, { recursive: true, force: true }))

  for (const language of ['ts', 'js'] as const) {
    it(`${language}: npm run build and npm test pass in the generated project`, (t) => {
      t.diagnostic(
        `npm pack: ${Math.round(timingsMs.pack)} ms; npm install of the generated project: ${Math.round(timingsMs.install)} ms`,
      )
      const dir = projects[language]
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
      assert.match(
        pkg.dependencies['zmq-container'],
        /^file:.*\.tgz$/,
        'installed from the tarball',
      )
      run('npm', ['run', 'build'], dir)
      const out = run('npm', ['test'], dir)
      // Node 20 prints TAP when not on a terminal (`# pass 2`), Node 24 its spec reporter (`ℹ pass 2`).
      assert.match(out, new RegExp(`^(?:#|ℹ) pass ${language === 'ts' ? 2 : 1}$`, 'm'), out)
      assert.match(out, /^(?:#|ℹ) fail 0$/m, out)
    })
  }

  it("an installed package's init packs that copy into the new project, and its steps run as printed", () => {
    const installed = path.join(projects.ts, 'node_modules', 'zmq-container', 'dist', 'main.js')
    // A space in the path: the printed steps quote it.
    const target = path.join(work, 'from installed')
    const result = spawnSync(
      process.execPath,
      [installed, 'init', target, '--name', 'from-installed'],
      {
        cwd: work,
        encoding: 'utf8',
      },
    )
    assert.equal(result.status, 0, result.stderr)
    const steps = result.stdout.split('\n')
    const pack = steps.find((l) => l.includes('npm pack'))?.trim() ?? ''
    assert.match(
      pack,
      /node_modules\/zmq-container && npm pack --ignore-scripts --pack-destination '.*from installed'\)$/,
    )
    assert.ok(
      steps.includes(`  npm install ./zmq-container-${packageVersion()}.tgz && npm run build`),
      result.stdout,
    )
    // The pack step as printed, through a shell: the tarball lands in the project.
    const packed = spawnSync('bash', ['-c', pack], { cwd: target, encoding: 'utf8' })
    assert.equal(packed.status, 0, packed.stderr)
    assert.ok(
      existsSync(path.join(target, `zmq-container-${packageVersion()}.tgz`)),
      readdirSync(target).join(' '),
    )
  })

  it('ts: the service, started as `npm start` does, handles a message from a pyzmq peer', {
    skip: pyzmqMissing(),
  }, async () => {
    const dir = projects.ts
    // The generated project's .env, with free ports instead of its fixed ones.
    const env = parseEnv(readFileSync(path.join(dir, '.env'), 'utf8')) as Record<string, string>
    delete env.HTTP_PORT
    const peer = new LogProcess('pyzmq', PYTHON, [PEER, 'camera.frame', 'from pyzmq'], {
      PATH: process.env.PATH ?? '',
      PYTHONUNBUFFERED: '1',
    })
    let service: LogProcess | undefined
    try {
      const bound = await peer.waitForLog('bound')
      service = new LogProcess(
        'service',
        process.execPath,
        [path.join('node_modules', 'zmq-container', 'dist', 'main.js')],
        {
          ...(cleanEnv() as Record<string, string>),
          ...env,
          ZMQ_SUB_ENDPOINT: String(bound.endpoint),
          ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:*',
          ZMQ_REP_ENDPOINT: 'tcp://127.0.0.1:*',
        },
        { cwd: dir },
      )
      await service.waitForLog('ready')
      await peer.waitForLog('sent')
      const handled = await service.waitForLog('handled')
      assert.equal(handled.topic, 'camera.frame')
      assert.equal(handled.bytes, 'from pyzmq'.length)
      service.signal('SIGTERM')
      assert.equal((await service.exited).code, 0, service.dump())
    } finally {
      await service?.stop()
      await peer.stop()
    }
  })
})
