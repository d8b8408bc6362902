// defineCommand: the argument prologue every subcommand shares (--help, parsing, exit 64),
// in-process through the CliIo seam.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { COMMANDS } from '../src/cli'
import { UsageError } from '../src/cli/args'
import { defineCommand } from '../src/cli/command'
import { runInProcess } from './helpers/cli-io'

function probe() {
  const calls: Array<{ values: Record<string, unknown>; positionals: string[] }> = []
  const command = defineCommand({
    name: 'probe',
    summary: 'a test command',
    help: 'Usage: zmq-container probe NAME [--count N]',
    options: { count: { type: 'string' }, loud: { type: 'boolean' } },
    positionals: { required: ['NAME'], max: 2 },
    async run({ values, positionals }) {
      calls.push({ values: { ...values }, positionals })
      if (values.count === 'bad') throw new UsageError('--count is "bad"')
      if (values.count === 'bug') throw new TypeError('a bug')
      return 0
    },
  })
  return { command, calls }
}

describe('defineCommand', () => {
  it('--help or -h prints the help and exits 0 without running the command', async () => {
    for (const flag of ['--help', '-h']) {
      const { command, calls } = probe()
      const run = await runInProcess(command, ['--count', 'x', flag])
      assert.deepEqual(run, {
        code: 0,
        stdout: 'Usage: zmq-container probe NAME [--count N]\n',
        stderr: '',
      })
      assert.equal(calls.length, 0)
    }
  })

  it('after --, --help is a positional', async () => {
    const { command, calls } = probe()
    const run = await runInProcess(command, ['name', '--', '--help'])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(calls[0]?.positionals, ['name', '--help'])
  })

  it('hands the command its parsed options and positionals', async () => {
    const { command, calls } = probe()
    assert.equal((await runInProcess(command, ['a', '--count=3', '--loud', 'b'])).code, 0)
    assert.deepEqual(calls, [{ values: { count: '3', loud: true }, positionals: ['a', 'b'] }])
  })

  const usage: Array<[string[], string]> = [
    [
      ['a', '--cont', '1'],
      'unknown option --cont; did you mean --count?; options are --count, --loud, --help',
    ],
    [[], 'missing NAME'],
    [['a', 'b', 'c'], 'unexpected argument "c"'],
    [['a', '--count'], "option '--count <value>' argument missing"],
    [['a', '--count', 'bad'], '--count is "bad"'],
  ]
  for (const [args, message] of usage) {
    it(`bad arguments (${args.join(' ') || 'none'}): one stderr line naming the command, exit 64`, async () => {
      const { command } = probe()
      const run = await runInProcess(command, args)
      assert.deepEqual(run, {
        code: 64,
        stdout: '',
        stderr: `zmq-container probe: ${message} (see zmq-container probe --help)\n`,
      })
    })
  }

  it('any other error is a bug: it rejects', async () => {
    const { command } = probe()
    await assert.rejects(runInProcess(command, ['a', '--count', 'bug']), TypeError)
  })

  for (const command of COMMANDS) {
    it(`${command.name} has the prologue: --help exits 0, an unknown option exits 64`, async () => {
      const help = await runInProcess(command, ['--help'])
      assert.equal(help.code, 0, help.stderr)
      assert.equal(help.stdout, `${command.help}\n`)
      const bad = await runInProcess(command, ['--no-such-option'])
      assert.equal(bad.code, 64)
      assert.equal(bad.stdout, '')
      assert.match(
        bad.stderr,
        new RegExp(
          `^zmq-container ${command.name}: unknown option --no-such-option; options are .*\\(see zmq-container ${command.name} --help\\)\\n$`,
        ),
      )
    })
  }
})
