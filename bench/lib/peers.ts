import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { BENCH, BUILD, baselineScript, pythonScript } from './paths'
import { type Line, Proc } from './proc'

export const PYTHON = '/usr/bin/python3'

/** What this machine can run, with a note for each missing piece. */
export interface Tools {
  /** Compiled C peers, when gcc and libzmq's headers (libzmq3-dev) are present. */
  readonly c: { zpub: string; zsub: string } | undefined
  /** Debian's python3-zmq under /usr/bin/python3. */
  readonly python: boolean
  readonly notes: string[]
}

export function prepareTools(): Tools {
  const notes: string[] = []
  let c: Tools['c']
  const sources = ['zpub', 'zsub'].map((n) => path.join(BENCH, 'peers', `${n}.c`))
  const hasGcc = spawnSync('gcc', ['--version']).status === 0
  const hasHeaders = existsSync('/usr/include/zmq.h')
  if (!hasGcc || !hasHeaders) {
    notes.push(
      `C peers skipped: ${hasGcc ? '' : 'gcc is missing; '}${hasHeaders ? '' : 'libzmq headers are missing (apt-get install libzmq3-dev); '}the C baseline (floor) is not measured and a Node publisher drives the scenarios instead (slower: rates near its limit are the publisher's, not the receiver's).`,
    )
  } else {
    try {
      mkdirSync(BUILD, { recursive: true })
      const built = sources.map((src) => {
        const out = path.join(BUILD, path.basename(src, '.c'))
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs)
          execFileSync('gcc', ['-O2', '-pthread', '-o', out, src, '-lzmq'], { stdio: 'pipe' })
        return out
      })
      c = { zpub: built[0] as string, zsub: built[1] as string }
    } catch (error) {
      notes.push(`C peers skipped: gcc failed: ${String((error as Error).message).slice(0, 300)}`)
    }
  }
  const python = spawnSync(PYTHON, ['-c', 'import zmq']).status === 0
  if (!python)
    notes.push(
      `pyzmq baseline skipped: ${PYTHON} with python3-zmq is missing (apt-get install python3-zmq).`,
    )
  return { c, python, notes }
}

/** One XPUB socket of the publisher and what it sends. */
export interface Stream {
  /** Components: component x publishes x.data, then x.end once its count is sent. */
  readonly topics: readonly string[]
  readonly size: number
  /** Messages per second over all its topics; 0 as fast as possible. */
  readonly rate: number
  /** Messages to send; 0 until stopped. */
  readonly count: number
  /** Loss-free: a full queue blocks the sender (ZMQ_XPUB_NODROP). */
  readonly nodrop: boolean
  /** Where its XPUB binds; default tcp://127.0.0.1:* (a free port). */
  readonly endpoint?: string
}

export type PublisherKind = 'c' | 'python' | 'node'

/**
 * The sender of a run: binds one XPUB per stream on 127.0.0.1, waits until every data topic is
 * subscribed, then sends on `go()`. Every payload starts with its send time.
 */
export class Publisher {
  readonly proc: Proc
  endpoints: string[] = []

  private constructor(proc: Proc) {
    this.proc = proc
  }

  static async start(tools: Tools, streams: Stream[], kind?: PublisherKind): Promise<Publisher> {
    const specs = streams.map(
      (s) =>
        `${s.endpoint ?? 'tcp://127.0.0.1:*'}|${s.topics.join(',')}|${s.size}|${s.rate}|${s.count}|${s.nodrop ? 1 : 0}`,
    )
    const use = kind ?? (tools.c ? 'c' : 'node')
    let proc: Proc
    if (use === 'c' && tools.c) proc = new Proc('zpub', tools.c.zpub, specs, {})
    else if (use === 'python')
      proc = new Proc('pypub', PYTHON, [pythonScript('pyzmq_pub'), ...specs], {})
    else
      proc = new Proc('nodepub', process.execPath, [baselineScript('node-publisher'), ...specs], {})
    const pub = new Publisher(proc)
    for (let i = 0; i < streams.length; i++) {
      const line = await proc.waitFor(
        (l) => l.event === 'endpoint' && l.stream === i,
        10_000,
        'endpoint',
      )
      pub.endpoints.push(line.endpoint as string)
    }
    return pub
  }

  subscribed(timeoutMs = 15_000): Promise<Line> {
    return this.proc.waitFor((l) => l.event === 'subscribed', timeoutMs, 'subscribers')
  }

  go(): void {
    this.proc.write('go\n')
  }

  done(timeoutMs: number): Promise<Line> {
    return this.proc.waitFor((l) => l.event === 'done', timeoutMs, 'end of sending')
  }

  end(): Promise<unknown> {
    return this.proc.end()
  }
}
