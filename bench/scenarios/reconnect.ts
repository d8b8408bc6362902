import { setTimeout as delay } from 'node:timers/promises'
import { Publisher } from 'zeromq'
import { attempt, type BenchContext, failureNote, type Scenario } from '../lib/context'
import { baselineScript, MAIN, pythonScript } from '../lib/paths'
import { PYTHON } from '../lib/peers'
import { type Line, Proc } from '../lib/proc'
import { type Goal, goalList, num, table } from '../lib/report'
import { median } from '../lib/stats'

/**
 * The publisher's absences, in seconds: first how long after the subscribers start it binds
 * for the first time, then how long it stays away after each close before it binds again.
 */
const FIRST_BIND_AFTER_S = 12
const ABSENCES_S = [0.5, 2, 12] as const
const PHASES = [
  `first bind, ${FIRST_BIND_AFTER_S} s after the SUB started`,
  ...ABSENCES_S.map((a) => `back after ${a} s away`),
]
const TOPIC = 'gap.data'
/** The publisher sends this often while up, so the first message follows the subscription. */
const SEND_EVERY_MS = 5
/** A subscriber that has heard nothing this long after the bind counts as never. */
const GIVE_UP_MS = 15_000

/** One subscriber under test: a child process that prints a line per message it receives. */
interface Peer {
  readonly id: string
  readonly label: string
  unavailable(ctx: BenchContext): string | undefined
  start(endpoint: string): Proc
  /** Whether `line` reports a message of publisher epoch `epoch`. */
  heard(line: Line, epoch: number): boolean
}

const containerPeer = (id: string, label: string, env: Record<string, string>): Peer => ({
  id,
  label,
  unavailable: () => undefined,
  start: (endpoint) =>
    new Proc(label, process.execPath, [MAIN], {
      ZMQ_SUB_ENDPOINT: endpoint,
      ZMQ_SUB_TOPICS: TOPIC,
      LOG_LEVEL: 'info',
      ...env,
    }),
  // The logging service (no ZC_SERVICE) logs every message with its payload.
  heard: (line, epoch) => line.msg === 'received' && line.payload === String(epoch),
})

const printedMessage = (line: Line, epoch: number) =>
  line.event === 'message' && line.payload === String(epoch)

const PEERS: Peer[] = [
  containerPeer('container', 'container (defaults)', {}),
  containerPeer('container-5000', 'container, before (ZMQ_RECONNECT_IVL_MAX_MS=5000)', {
    ZMQ_RECONNECT_IVL_MAX_MS: '5000',
  }),
  {
    id: 'zeromq-js',
    label: 'zeromq.js SUB, library defaults',
    unavailable: () => undefined,
    start: (endpoint) =>
      new Proc(
        'zeromq.js',
        process.execPath,
        [baselineScript('reconnect-sub'), endpoint, TOPIC],
        {},
      ),
    heard: printedMessage,
  },
  {
    id: 'pyzmq',
    label: 'pyzmq SUB, libzmq defaults',
    unavailable: (ctx) => (ctx.tools.python ? undefined : `${PYTHON} with python3-zmq is missing`),
    start: (endpoint) =>
      new Proc('pyzmq', PYTHON, [pythonScript('pyzmq_reconnect_sub'), endpoint, TOPIC], {}),
    heard: printedMessage,
  },
]

/** A publisher that binds `address` and sends its epoch number every few milliseconds. */
class EpochPublisher {
  readonly #socket = new Publisher({ linger: 0 })
  readonly #timer: NodeJS.Timeout
  #sending = false

  private constructor(readonly epoch: number) {
    this.#timer = setInterval(() => void this.#send(), SEND_EVERY_MS)
  }

  static async bind(address: string, epoch: number): Promise<EpochPublisher> {
    const pub = new EpochPublisher(epoch)
    await pub.#socket.bind(address)
    return pub
  }

  get endpoint(): string {
    return this.#socket.lastEndpoint as string
  }

  async #send(): Promise<void> {
    if (this.#sending || this.#socket.closed) return
    this.#sending = true
    try {
      await this.#socket.send([TOPIC, String(this.epoch)])
    } catch {
      // Closed while sending: the epoch is over.
    } finally {
      this.#sending = false
    }
  }

  close(): void {
    clearInterval(this.#timer)
    this.#socket.close()
  }
}

/**
 * One timeline: the subscribers start with no publisher; it binds for the first time after a
 * while; then, for each absence, it closes, stays away that long and binds the same address
 * again. Each subscriber's first message of every epoch is timed from the moment the bind
 * completed, one entry per phase (undefined: never heard).
 */
async function timeline(
  ctx: BenchContext,
  peers: readonly Peer[],
): Promise<Map<string, Array<number | undefined>>> {
  // A free port, bound and released, so the subscribers start with nothing to connect to.
  const probe = await EpochPublisher.bind('tcp://127.0.0.1:*', -1)
  const address = probe.endpoint
  probe.close()
  const procs = peers.map((p) => ({ peer: p, proc: p.start(address) }))
  const gaps = new Map<string, Array<number | undefined>>(peers.map((p) => [p.id, []]))
  let pub: EpochPublisher | undefined
  try {
    await Promise.all(
      procs.map(({ proc }) =>
        proc.waitFor((l) => l.msg === 'ready' || l.event === 'ready', 20_000, 'ready'),
      ),
    )
    const absences = [FIRST_BIND_AFTER_S, ...ABSENCES_S]
    for (const [epoch, absence] of absences.entries()) {
      pub?.close()
      await delay(absence * 1000)
      pub = await EpochPublisher.bind(address, epoch)
      const boundAt = performance.now()
      const heard = await Promise.all(
        procs.map(({ peer, proc }) =>
          proc
            .waitFor((l) => peer.heard(l, epoch), GIVE_UP_MS, `epoch ${epoch}`)
            .then(
              (l) => (l.__at as number) - boundAt,
              () => undefined,
            ),
        ),
      )
      for (const [j, { peer }] of procs.entries()) gaps.get(peer.id)?.push(heard[j])
      ctx.log(
        `    ${PHASES[epoch]}: ${procs.map(({ peer }, j) => `${peer.id} ${heard[j] === undefined ? 'never' : `${Math.round(heard[j] as number)} ms`}`).join(', ')}`,
      )
    }
  } finally {
    pub?.close()
    await Promise.all(procs.map(({ proc }) => proc.end()))
  }
  return gaps
}

export const reconnect: Scenario = {
  id: 'reconnect',
  title: '8. Reconnect gap: publisher bind -> first message at the SUB',
  async run(ctx: BenchContext) {
    const peers = PEERS.filter((p) => {
      const why = p.unavailable(ctx)
      if (why) ctx.log(`  NOTE: ${p.label} skipped: ${why}`)
      return !why
    })
    const failures: string[] = []
    const samples = new Map<string, Array<Array<number | undefined>>>()
    for (let rep = 0; rep < ctx.reps; rep++) {
      ctx.log(`  rep ${rep + 1}`)
      const out = await attempt(ctx, failures, `rep ${rep + 1}`, () => timeline(ctx, peers))
      for (const [id, gaps] of out ?? []) samples.set(id, [...(samples.get(id) ?? []), gaps])
    }
    /** Median gap after absence `i`; a rep where the SUB never heard counts as infinite. */
    const gapAfter = (id: string, i: number): number | undefined => {
      const runs = (samples.get(id) ?? []).map((gaps) => gaps[i] ?? Number.POSITIVE_INFINITY)
      return runs.length ? median(runs) : undefined
    }
    const shown = (ms: number | undefined) =>
      ms === undefined ? 'n/a' : Number.isFinite(ms) ? num(ms) : `never (${GIVE_UP_MS / 1000} s)`
    const rows = peers.map((p) => [p.label, ...PHASES.map((_, i) => shown(gapAfter(p.id, i)))])
    const worst = Math.max(...PHASES.map((_, i) => gapAfter('container', i) ?? Number.NaN))
    const singleRuns = (samples.get('container') ?? []).flat()
    const worstRun = Math.max(...singleRuns.map((g) => g ?? Number.POSITIVE_INFINITY))
    const goals: Goal[] = [
      {
        scenario: '8',
        goal: "first message within 500 ms of a publisher's bind, however long it was away",
        measured: `${shown(worst)} ms, the worst median (${PHASES.map((phase, i) => `${phase}: ${shown(gapAfter('container', i))}`).join('; ')}); worst single run ${shown(singleRuns.length ? worstRun : undefined)} ms`,
        met: Number.isNaN(worst) ? undefined : worst < 500,
      },
    ]
    return {
      body: [
        `A publisher on \`tcp://127.0.0.1\` sends its epoch number every ${SEND_EVERY_MS} ms. The subscribers start with no publisher; it binds for the first time ${FIRST_BIND_AFTER_S} s later. Then it closes, stays away for ${ABSENCES_S.join(' / ')} s in turn, and binds the same address again. Each cell is the time from that bind to the subscriber's first message of the new epoch, read by the bench from the subscriber's stdout (so it includes the connect retry, the handshake, the subscription reaching the publisher and the next send). Medians of ${ctx.reps} run${ctx.reps === 1 ? '' : 's'}, in ms.`,
        table(['subscriber', ...PHASES.map((phase) => `${phase} (ms)`)], rows),
        goalList(goals),
        ...failureNote(failures),
      ],
      goals,
      charts: [],
      raw: Object.fromEntries(samples),
    }
  },
}
