// The README's first command: the seed topology as two container processes, wired by env files.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { loadConfig } from '../src/shared/config'
import { ROOT } from './helpers/container'

const exampleEnv = (name: string, file: string) =>
  parseEnv(readFileSync(path.join(ROOT, 'examples', name, file), 'utf8')) as Record<string, string>

describe('examples', () => {
  for (const name of ['camera', 'dashboard']) {
    for (const file of ['.env', 'loopback.env']) {
      it(`examples/${name}/${file} is a valid configuration`, () => {
        const config = loadConfig(exampleEnv(name, file))
        assert.equal(config.service, name)
        assert.deepEqual(
          config.sockets.map((s) => s.kind),
          name === 'camera' ? ['sub', 'rep', 'pub'] : ['sub', 'pub'],
        )
      })
    }
  }

  it("a mistake on the demo's command line is one line and the usage, exit 64; --help is exit 0", () => {
    const demo = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(ROOT, 'dist', 'examples', 'demo.js'), ...args], {
        encoding: 'utf8',
        timeout: 20_000,
      })
    const cases: Array<[string[], RegExp]> = [
      [['--durration', '2'], /^demo: Unknown option '--durration'/],
      [['--duration', '-5'], /^demo: Option '--duration' argument is ambiguous\./],
      [['--duration=abc'], /^demo: --duration must be a number of seconds, 0 or more, got "abc"$/],
      [['--camera-env', 'no-such.env'], /^demo: --camera-env: no such file: no-such\.env$/],
    ]
    for (const [args, said] of cases) {
      const run = demo(...args)
      assert.equal(run.status, 64, `${args.join(' ')}: ${run.stderr}`)
      const lines = run.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 2, run.stderr)
      assert.match(lines[0] as string, said)
      assert.match(lines[1] as string, /^usage: npm run demo -- /)
      assert.equal(run.stdout, '', 'no container was started')
    }
    const help = demo('--help')
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /^usage: npm run demo -- \[--duration S\]/)
  })

  it('the demo shows subscription, frame publication and a command round trip, then stops cleanly', async () => {
    // Same topology as the loopback files, on ipc in a private folder so parallel runs never clash.
    const dir = mkdtempSync(path.join(tmpdir(), 'zc-demo-'))
    try {
      const rewire = (env: Record<string, string>) =>
        Object.entries(env)
          .map(
            ([k, v]) =>
              `${k}=${v.replace('tcp://127.0.0.1:5555', `ipc://${dir}/frames`).replace('tcp://127.0.0.1:6000', `ipc://${dir}/cmd`).replace('tcp://127.0.0.1:5556', `ipc://${dir}/control`)}`,
          )
          .join('\n')
      const cameraEnv = path.join(dir, 'camera.env')
      const dashboardEnv = path.join(dir, 'dashboard.env')
      writeFileSync(cameraEnv, rewire(exampleEnv('camera', 'loopback.env')))
      writeFileSync(dashboardEnv, rewire(exampleEnv('dashboard', 'loopback.env')))

      const demo = spawn(
        process.execPath,
        [
          path.join(ROOT, 'dist', 'examples', 'demo.js'),
          '--json',
          '--camera-env',
          cameraEnv,
          '--dashboard-env',
          dashboardEnv,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      const exited = once(demo, 'exit')
      const seen: string[] = []
      const has = (prefix: string, msg: string) =>
        seen.some((l) => l.startsWith(prefix) && l.includes(`"msg":"${msg}"`))
      const confirmed = new Promise<void>((resolve) => {
        createInterface({ input: demo.stdout }).on('line', (line) => {
          seen.push(line)
          if (
            has('[dashboard]', 'command round trip confirmed') &&
            has('[dashboard]', 'frame rate')
          )
            resolve()
        })
      })
      await Promise.race([
        confirmed,
        exited.then(() => assert.fail(`demo ended early:\n${seen.join('\n')}`)),
      ])
      demo.kill('SIGINT')
      const [code] = await exited
      assert.equal(code, 0, seen.join('\n'))
      assert.ok(has('[camera]', 'subscribed'), 'camera logs its control subscription')
      assert.ok(has('[camera]', 'publishing'), 'camera logs frame publication')
      assert.ok(has('[camera]', 'frame rate changed'), 'camera obeyed the command')
      assert.ok(has('[dashboard]', 'frame rate'), 'dashboard logs the frame rate it receives')
      assert.ok(
        has('[dashboard]', 'camera control reply'),
        'dashboard asks over REQ/REP and gets a reply',
      )
      assert.ok(seen.includes('[demo]      camera exited with 0'))
      assert.ok(seen.includes('[demo]      dashboard exited with 0'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
