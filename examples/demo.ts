/**
 * `npm run demo`: the seed's topology on loopback. Starts the camera and the dashboard as two
 * separate container processes (`node dist/main.js`, wired only by their env files), shows
 * their logs interleaved, and stops both with SIGTERM on Ctrl-C or after --duration seconds.
 *
 *   node dist/examples/demo.js [--duration S] [--json] [--camera-env F] [--dashboard-env F]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs, parseEnv } from 'node:util'
import { prettyFactory } from 'pino-pretty'
import { PRETTY_OPTIONS } from '../src/shared/logger'

const root = path.join(__dirname, '..', '..')
const USAGE =
  'usage: npm run demo -- [--duration S] [--json] [--camera-env FILE] [--dashboard-env FILE]'

/** A mistake on the command line: one line and the usage, exit 64 (EX_USAGE), no stack. */
function usageError(problem: string): never {
  process.stderr.write(`demo: ${problem}\n${USAGE}\n`)
  process.exit(64)
}

const args = (() => {
  try {
    return parseArgs({
      options: {
        duration: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        'camera-env': {
          type: 'string',
          default: path.join(root, 'examples', 'camera', 'loopback.env'),
        },
        'dashboard-env': {
          type: 'string',
          default: path.join(root, 'examples', 'dashboard', 'loopback.env'),
        },
      },
    }).values
  } catch (error) {
    // parseArgs' own words ("Unknown option '--durration'"), without its stack.
    return usageError((error as Error).message.replace(/\s*\n\s*/g, ' '))
  }
})()
if (args.help) {
  process.stdout.write(
    `${USAGE}\n\nStarts the camera and the dashboard containers on 127.0.0.1 and shows their logs;\nCtrl-C (or --duration S) stops both with SIGTERM.\n`,
  )
  process.exit(0)
}
for (const option of ['camera-env', 'dashboard-env'] as const)
  if (!existsSync(args[option])) usageError(`--${option}: no such file: ${args[option]}`)

/**
 * One human line per JSON log line: pino-pretty with the containers' own LOG_FORMAT=pretty
 * settings, so the demo reads like a container run with that setting.
 */
const pretty = prettyFactory({ ...PRETTY_OPTIONS, colorize: process.stdout.isTTY === true })

function start(name: string, envFile: string): ChildProcess {
  const env = { ...process.env, ...parseEnv(readFileSync(envFile, 'utf8')) }
  // detached: a process group of its own, so Ctrl-C reaches only this runner, which then
  // sends exactly one SIGTERM (a second signal would force the container to stop at once).
  const child = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const label = `[${name}]`.padEnd(12)
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue
    createInterface({ input: stream }).on('line', (line) => {
      // A line that is not JSON (a config error on stderr) passes through as it is.
      const shown = args.json || !line.startsWith('{') ? line : pretty(line).trimEnd()
      process.stdout.write(`${label}${shown}\n`)
    })
  }
  return child
}

async function main(): Promise<number> {
  const duration = Number(args.duration ?? process.env.DEMO_DURATION_S ?? 0)
  if (!(duration >= 0))
    usageError(
      `--duration must be a number of seconds, 0 or more, got "${args.duration ?? process.env.DEMO_DURATION_S}"`,
    )
  const children = [start('camera', args['camera-env']), start('dashboard', args['dashboard-env'])]
  const exits = children.map((c) =>
    once(c, 'exit').then(([code, signal]) => ({ code: code as number | null, signal })),
  )
  let stopping = false
  const stopAll = () => {
    const signal = stopping ? 'SIGKILL' : 'SIGTERM'
    if (stopping) process.stdout.write('[demo]      second Ctrl-C: killing both containers\n')
    else process.stdout.write('[demo]      stopping both containers (SIGTERM)\n')
    stopping = true
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal)
  }
  process.on('SIGINT', stopAll)
  process.on('SIGTERM', stopAll)
  const timer = duration > 0 ? setTimeout(stopAll, duration * 1000) : undefined
  // If one container ends on its own, stop the other too.
  void Promise.race(exits).then(() => {
    if (!stopping) stopAll()
  })
  const results = await Promise.all(exits)
  clearTimeout(timer)
  const names = ['camera', 'dashboard']
  results.forEach((r, i) => {
    process.stdout.write(`[demo]      ${names[i]} exited with ${r.code ?? r.signal}\n`)
  })
  return results.every((r) => r.code === 0) ? 0 : 1
}

main().then((code) => {
  process.exitCode = code
})
