// The bench's own tools are run by hand, by whoever measures next: a mistyped option or a bad
// value is one line naming it, the tool's usage and exit 64, never a stack trace; --help is the
// usage and exit 0. Each tool runs as a real process (tsx), and none gets far enough to measure.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, it } from 'node:test'

const ROOT = path.join(__dirname, '..')

function runTool(tool: string, args: string[]) {
  const result = spawnSync(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(ROOT, 'bench', `${tool}.ts`), ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  )
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Each tool's own command, which its usage (the header comment) names. */
const COMMAND: Record<string, RegExp> = {
  ab: /npm run bench:ab -- /,
  'flood-ab': /npm run bench:flood -- /,
  record: /npm run bench:record -- /,
  slice: /npm run bench:slice -- /,
  hop: /npm run bench:hop -- /,
  'tail-trace': /npm run bench:tail -- /,
  'hot-path': /npm run bench:hot-path -- /,
  run: /npm run bench -- --quick/,
}

const CASES: Array<{ tool: string; args: string[]; says: RegExp }> = [
  { tool: 'ab', args: ['--reps', 'x'], says: /^bench: --reps: a whole number >= 1, not "x"$/ },
  { tool: 'ab', args: ['--what', 'both', '--bogus'], says: /^bench: Unknown option '--bogus'/ },
  { tool: 'ab', args: ['--sockets', '9'], says: /^bench: --sockets: whole numbers from 1 to 8/ },
  { tool: 'flood-ab', args: ['--size', '1'], says: /^bench: --size: a whole number >= 16/ },
  {
    tool: 'flood-ab',
    args: ['old=/nowhere/dist/main.js'],
    says: /^bench: \/nowhere\/dist\/main\.js: no such file/,
  },
  // A folder is not a build: it used to pass the check and fail later.
  { tool: 'flood-ab', args: [`old=${ROOT}`], says: /: no such file \(a built dist\/main\.js\)$/ },
  {
    tool: 'record',
    args: ['--env', 'NOEQUALS'],
    says: /^bench: --env: NAME=VALUE, not "NOEQUALS"$/,
  },
  { tool: 'record', args: ['--compression', 'lz4'], says: /^bench: --compression: none or zstd/ },
  { tool: 'record', args: ['--only', 'pace'], says: /^bench: --only: saturated, pinned or paced/ },
  // Refused before anything runs, not minutes later when the part comes.
  {
    tool: 'record',
    args: ['--pin', '--only', 'saturated'],
    says: /^bench: --pin pins the paced stream: not with --only saturated$/,
  },
  {
    tool: 'record',
    args: ['--only', 'pinned', '--env', 'ZC_THREAD_PRIORITY=false'],
    says: /^bench: --only pinned: ZC_THREAD_PRIORITY=false: /,
  },
  { tool: 'slice', args: ['--reps', '0'], says: /^bench: --reps: a whole number >= 1, not "0"$/ },
  { tool: 'slice', args: ['--only', 'isolaton'], says: /^bench: --only: isolation or latency/ },
  { tool: 'hop', args: ['--rounds', 'x'], says: /^bench: --rounds: a whole number >= 1/ },
  {
    tool: 'tail-trace',
    args: ['--rate'],
    says: /^bench: Option '--rate <value>' argument missing/,
  },
  { tool: 'hot-path', args: ['--round', '3'], says: /^bench: Unknown option '--round'/ },
  { tool: 'run', args: ['--only', 'nope'], says: /^bench: unknown scenario nope \(one of / },
]

describe('bench tools: a mistake on the command line', () => {
  for (const { tool, args, says } of CASES) {
    it(`${tool} ${args.join(' ')}: one line naming it, the usage, exit 64`, () => {
      const { status, stderr } = runTool(tool, args)
      assert.equal(status, 64, stderr)
      const [first, ...rest] = stderr.split('\n')
      assert.match(first ?? '', says)
      // The usage is the tool's header comment, and nothing of a stack trace follows.
      assert.match(rest.join('\n'), COMMAND[tool] as RegExp)
      assert.doesNotMatch(stderr, /^\s+at /m)
    })
  }

  for (const tool of Object.keys(COMMAND))
    it(`${tool} --help: the usage, exit 0`, () => {
      const { status, stderr } = runTool(tool, ['--help'])
      assert.equal(status, 0, stderr)
      assert.match(stderr, COMMAND[tool] as RegExp)
      assert.doesNotMatch(stderr, /^bench: /m)
    })
})
