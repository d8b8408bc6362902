/**
 * Start-up and shutdown times of the real container process, for 1, 4 and 8 SUB sockets:
 * spawn -> `ready` log line, and SIGTERM -> exit. Prints medians of several runs.
 *
 *   npm run build && node --require tsx/cjs bench/lifecycle.ts [runs]
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createInterface } from 'node:readline'

const MAIN = path.join(__dirname, '..', 'dist', 'main.js')
const runs = Number(process.argv[2] ?? 9)

function envFor(sockets: number): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' }
  const classes = ['control', 'telemetry', 'logging']
  for (let i = 0; i < sockets; i++) {
    // Each socket connects to its own port on loopback; nothing needs to listen there.
    env[`ZMQ_SUB_S${i}_ENDPOINT`] = `tcp://127.0.0.1:${40000 + i}`
    env[`ZMQ_SUB_S${i}_TOPICS`] = `bench.s${i}`
    env[`ZMQ_SUB_S${i}_CLASS`] = classes[i % classes.length] as string
  }
  return env
}

async function measure(
  sockets: number,
): Promise<{ readyMs: number; stopMs: number; code: number | null }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [MAIN], {
    env: envFor(sockets),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  await new Promise<void>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"msg":"ready"')) resolve()
    })
  })
  const readyMs = performance.now() - t0
  const t1 = performance.now()
  child.kill('SIGTERM')
  const [code] = await exited
  return { readyMs, stopMs: performance.now() - t1, code: code as number | null }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${runs} runs each, medians`)
  console.log('| SUB sockets | spawn -> ready (ms) | SIGTERM -> exit (ms) | exit codes |')
  console.log('|---|---|---|---|')
  for (const sockets of [1, 4, 8]) {
    const results = []
    for (let i = 0; i < runs; i++) results.push(await measure(sockets))
    const codes = [...new Set(results.map((r) => r.code))].join(',')
    console.log(
      `| ${sockets} | ${median(results.map((r) => r.readyMs)).toFixed(0)} | ${median(results.map((r) => r.stopMs)).toFixed(0)} | ${codes} |`,
    )
  }
}

void main()
