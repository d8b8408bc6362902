import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './container'

/**
 * The environment of a nested npm or node: the parent's, without the npm_* variables that
 * `npm test` sets (its prefix, its package), so the nested command sees only its own folder, and
 * without NODE_TEST_CONTEXT, which would make a nested `node --test` report to this runner in its
 * binary protocol instead of printing its results.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_TEST_CONTEXT'),
  )
}

/** Runs a command to exit 0 (else fails with its output) and returns its stdout. */
export function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = cleanEnv(),
): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8' })
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(' ')} in ${cwd}: exit ${result.status}\n${result.stdout}\n${result.stderr}`,
  )
  return result.stdout
}

/** The repository as a fresh clone of the working tree has it: tracked and new files, no dist/. */
export function stageClone(clone: string): void {
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: ROOT, encoding: 'utf8' },
  )
    .split('\0')
    .filter((f) => f !== '' && existsSync(path.join(ROOT, f)))
  for (const file of files) {
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true })
    copyFileSync(path.join(ROOT, file), path.join(clone, file))
  }
  // `npm ci` would give the clone the same dev dependencies: link them instead of installing.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir')
}

/**
 * `npm pack` of a fresh clone (prepack builds dist/ there, not in the working tree other tests
 * read), into `work`; returns the tarball's path.
 */
export function packFreshClone(work: string): string {
  const clone = path.join(work, 'clone')
  stageClone(clone)
  assert.ok(!existsSync(path.join(clone, 'dist')), 'the clone starts without dist/')
  run('npm', ['pack', '--silent', '--pack-destination', work], clone)
  const name = readdirSync(work).find((f) => f.endsWith('.tgz'))
  assert.ok(name, `npm pack wrote a tarball in ${work}`)
  return path.join(work, name)
}
