#!/usr/bin/env node
// A health check that needs no curl: `node scripts/healthcheck.js [livez|readyz]`.
// Asks the container's own HTTP listener (HTTP_PORT) for /livez or /readyz and exits 0 on a 200,
// 1 on anything else: another status, no listener, HTTP_PORT unset, or no answer within 2 s.
// Docker's HEALTHCHECK runs it (exit 1 means unhealthy; Docker reserves 2). Kubernetes probes
// use httpGet on the same paths instead. fetch refuses the Fetch standard's "bad ports" (6000 and
// 6665-6669 among them), so keep HTTP_PORT off those; the default 9464 is fine.
'use strict'

const TIMEOUT_MS = 2000
const CHECKS = ['livez', 'readyz']
// The listener binds HTTP_HOST (all interfaces by default); a wildcard is reached on loopback.
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]'])

/** @returns {Promise<0 | 1>} */
async function check(argv, env) {
  const [name = 'livez', ...rest] = argv
  if (!CHECKS.includes(name) || rest.length > 0) {
    return fail(`usage: node scripts/healthcheck.js [${CHECKS.join('|')}]`)
  }
  const port = Number(env.HTTP_PORT)
  if (!env.HTTP_PORT || !Number.isInteger(port) || port < 1 || port > 65535) {
    return fail(
      `${name}: HTTP_PORT is ${JSON.stringify(env.HTTP_PORT ?? null)}; the check needs the health port`,
    )
  }
  const host = WILDCARDS.has(env.HTTP_HOST ?? '') ? '127.0.0.1' : env.HTTP_HOST
  const url = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}/${name}`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
    await response.arrayBuffer()
    const line = `${name}: ${response.status} ${response.statusText} from ${url}`
    if (response.status !== 200) return fail(line)
    process.stdout.write(`${line}\n`)
    return 0
  } catch (error) {
    const reason =
      error?.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS} ms`
        : (error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error))
    return fail(`${name}: ${url} unreachable (${reason})`)
  }
}

function fail(line) {
  process.stdout.write(`${line}\n`)
  return 1
}

// process.exit rather than waiting for the event loop: a kept-alive socket must not hold the
// check past Docker's --timeout. Writes to a pipe are synchronous on Linux, so nothing is lost.
check(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error) => {
    process.stdout.write(`healthcheck: ${String(error)}\n`)
    process.exit(1)
  },
)
