import { setTimeout as sleep } from 'node:timers/promises'
import { integerOption, numberOption, UsageError } from './args'
import { defineCommand } from './command'
import { fitWidth } from './format'
import { CLI_EXIT } from './io'
import { fetchInfo, infoUrl } from './live/fetch-info'
import { renderTop, type UrlState } from './live/top-view'

const HELP = `Usage: zmq-container top URL... [--interval S] [--count N] [--timeout MS]

A terminal view of running containers, like eCAL Monitor: every second it reads each URL's
/info (the container's HTTP_PORT) and shows, per container, readiness and uptime, and per
socket: connected peers, msg/s in (SUB, and per subscription; REP) and out (PUB, and per
declared topic), p99 handler time over the last 10 s (the upper bound of its histogram bucket,
as in /metrics), worker restarts and state, and drops by reason (totals, with the
increase since the last sample). Rates are counts between two samples over the container's
own clock. A URL that does not answer shows as one line saying why (refused, no answer, not a
zmq-container), and the others go on.

On a terminal the view is redrawn in place; in a pipe each sample is printed as a block.

Options:
  --interval S   seconds between samples (default 1; decimals allowed)
  --count N      stop after N samples (default: until Ctrl-C)
  --timeout MS   how long each URL may take to answer (default: the interval, at most 2000)
  -h, --help     show this help

Exit codes: 0 stopped by Ctrl-C or --count; 64 bad arguments.

Examples:
  zmq-container top http://127.0.0.1:9464 http://127.0.0.1:9465
  docker compose exec camera node dist/main.js top http://camera:9464 http://dashboard:9464`

export const top = defineCommand({
  name: 'top',
  summary: 'watch running containers: rates, drops, p99, restarts, readiness',
  help: HELP,
  options: {
    interval: { type: 'string' },
    count: { type: 'string' },
    timeout: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw new UsageError('missing URL (http://host:HTTP_PORT)')
    for (const p of positionals) {
      try {
        infoUrl(p)
      } catch {
        throw new UsageError(`URL ${JSON.stringify(p)} is not a URL; give http://host:HTTP_PORT`)
      }
    }
    const intervalS =
      values.interval === undefined ? 1 : numberOption('--interval', values.interval, 0.1, 3600)
    const count =
      values.count === undefined
        ? Number.POSITIVE_INFINITY
        : integerOption('--count', values.count, 1, Number.MAX_SAFE_INTEGER)
    const timeoutMs =
      values.timeout === undefined
        ? Math.min(intervalS * 1000, 2000)
        : integerOption('--timeout', values.timeout, 1)

    const tty = io.stdout.isTTY === true
    let states: UrlState[] = positionals.map((url) => ({
      url,
      current: undefined,
      previous: undefined,
    }))
    for (let sample = 0; sample < count && !io.signal.aborted; sample++) {
      const started = performance.now()
      const results = await Promise.all(positionals.map((url) => fetchInfo(url, timeoutMs)))
      states = states.map((s, i) => {
        const result = results[i] as (typeof results)[number]
        const last = s.current?.ok ? s.current.info : s.previous
        return { url: s.url, current: result, previous: last }
      })
      const lines = renderTop(states, intervalS)
      if (tty) {
        // Home and clear, then the screen: a redraw that never scrolls.
        io.stdout.write(
          `\x1b[H\x1b[2J${lines.map((l) => fitWidth(l, io.stdout.columns)).join('\n')}\n`,
        )
      } else {
        io.stdout.write(`${lines.join('\n')}\n\n`)
      }
      if (sample + 1 >= count) break
      const waitMs = Math.max(0, intervalS * 1000 - (performance.now() - started))
      await sleep(waitMs, undefined, { signal: io.signal }).catch(() => undefined)
    }
    return CLI_EXIT.OK
  },
})
