import { getPriority, setPriority } from 'node:os'
import { baselineScript, benchService, MAIN, pythonScript } from './paths'
import { PYTHON, type Tools } from './peers'
import { type Line, Proc } from './proc'

export type LatencyClass = 'control' | 'telemetry' | 'logging'

/** One inbound socket of a receiver: it subscribes to `<component>.data` and `<component>.end`. */
export interface SocketPlan {
  /** Lower-case letters and digits; the container's socket name. */
  readonly name: string
  readonly endpoint: string
  readonly component: string
  /** CPU the handler burns per data message. */
  readonly burnMs?: number
  readonly latencyClass?: LatencyClass
}

export interface ReceiverPlan {
  readonly sockets: readonly SocketPlan[]
  /** Record one-way latencies (written per socket to `outDir/<name>.f64`). */
  readonly latency: boolean
  /** Data messages per socket left out of the latencies (connection warm-up). */
  readonly warmup: number
  readonly outDir: string
  /** Republish every message as relay.data / relay.end on a PUB socket. */
  readonly relay?: boolean
  /** The handler hangs in synchronous code on the first data message. */
  readonly hang?: boolean
  /** Shutdown join deadline (ZC_SHUTDOWN_TIMEOUT_MS for the container). */
  readonly joinMs?: number
  /** Write the tail trace (see services/core.js startTrace) per socket to `outDir/<name>.trace.json`. */
  readonly trace?: boolean
  /** Node options before the script (container only), e.g. V8 heap flags. */
  readonly nodeArgs?: readonly string[]
  /** Extra environment (container only). */
  readonly env?: Readonly<Record<string, string>>
}

export interface Result {
  readonly socket: string
  readonly count: number
  readonly firstNs: number
  readonly lastNs: number
}

/** A receiving process of any design, seen through its JSON lines. */
export class Receiver {
  constructor(
    readonly proc: Proc,
    readonly design: Design,
    readonly lines: {
      ready: (l: Line) => boolean
      result: (l: Line) => Result | undefined
      relay: (l: Line) => string | undefined
      hanging: (l: Line) => boolean
    },
  ) {}

  /** Milliseconds from spawn to the ready line. */
  async ready(timeoutMs = 15_000): Promise<number> {
    const line = await this.proc.waitFor(this.lines.ready, timeoutMs, 'ready')
    return (line.__at as number) - this.proc.spawnedAt
  }

  async result(socket: string, timeoutMs: number): Promise<Result> {
    const line = await this.proc.waitFor(
      (l) => this.lines.result(l)?.socket === socket,
      timeoutMs,
      `result of ${socket}`,
    )
    return this.lines.result(line) as Result
  }

  async relayEndpoint(timeoutMs = 10_000): Promise<string> {
    const line = await this.proc.waitFor((l) => !!this.lines.relay(l), timeoutMs, 'relay endpoint')
    return this.lines.relay(line) as string
  }

  hanging(timeoutMs = 10_000): Promise<Line> {
    return this.proc.waitFor(this.lines.hanging, timeoutMs, 'hanging handler')
  }
}

export interface Design {
  readonly id: string
  readonly label: string
  /** Why it cannot run here, if it cannot. */
  unavailable(tools: Tools): string | undefined
  start(plan: ReceiverPlan, tools: Tools): Receiver
}

function benchEnv(plan: ReceiverPlan): Record<string, string> {
  const env: Record<string, string> = {
    BENCH_LATENCY: plan.latency ? '1' : '0',
    BENCH_WARMUP: String(plan.warmup),
    BENCH_OUT: plan.outDir,
    BENCH_RELAY: plan.relay ? '1' : '0',
    BENCH_TRACE: plan.trace ? '1' : '0',
  }
  for (const s of plan.sockets)
    if (s.burnMs) env[`BENCH_BURN_MS_${s.name.toUpperCase()}`] = String(s.burnMs)
  return env
}

/** The spec the Node and Python baselines read from BENCH_SPEC. */
function baselineEnv(plan: ReceiverPlan, extra: Record<string, unknown> = {}) {
  return {
    ...benchEnv(plan),
    BENCH_SPEC: JSON.stringify({
      sockets: plan.sockets.map((s) => ({
        name: s.name,
        endpoint: s.endpoint,
        component: s.component,
      })),
      relay: !!plan.relay,
      hang: !!plan.hang,
      joinMs: plan.joinMs ?? 2000,
      ...extra,
    }),
  }
}

const eventLines = {
  ready: (l: Line) => l.event === 'ready',
  result: (l: Line) => (l.event === 'result' ? (l as unknown as Result) : undefined),
  relay: (l: Line) => (l.event === 'relay' ? (l.endpoint as string) : undefined),
  hanging: (l: Line) => l.event === 'hanging',
}

/**
 * The container built at `main` (a `dist/main.js`): this checkout's for the bench, another
 * build's for bench/ab.ts.
 */
export function containerAt(id: string, label: string, main: string): Design {
  const design: Design = {
    id,
    label,
    unavailable: () => undefined,
    start: (plan) => startContainer(design, main, plan),
  }
  return design
}

export const container = containerAt('container', 'container (worker per socket)', MAIN)

function startContainer(design: Design, main: string, plan: ReceiverPlan): Receiver {
  const env: Record<string, string> = {
    LOG_LEVEL: 'info',
    ZC_SERVICE: benchService(plan.hang ? 'hang' : 'bench'),
    ...benchEnv(plan),
  }
  for (const s of plan.sockets) {
    const prefix = `ZMQ_SUB_${s.name.toUpperCase()}`
    env[`${prefix}_ENDPOINT`] = s.endpoint
    env[`${prefix}_TOPICS`] = `${s.component}.data,${s.component}.end`
    env[`${prefix}_CLASS`] = s.latencyClass ?? 'telemetry'
  }
  if (plan.relay) {
    env.ZMQ_PUB_ENDPOINT = 'tcp://127.0.0.1:*'
    env.ZMQ_PUB_TOPICS = 'relay.data,relay.end'
  }
  if (plan.joinMs) env.ZC_SHUTDOWN_TIMEOUT_MS = String(plan.joinMs)
  Object.assign(env, plan.env)
  const proc = new Proc(design.id, process.execPath, [...(plan.nodeArgs ?? []), main], env)
  return new Receiver(proc, design, {
    ready: (l) => l.msg === 'ready',
    result: (l) => (l.msg === 'bench result' ? (l.bench as Result) : undefined),
    relay: (l) => {
      if (l.msg !== 'publisher ready') return undefined
      const first = (l.endpoints as string[] | undefined)?.[0]
      return first?.replace(/^bind /, '')
    },
    hanging: (l) => l.msg === 'handler hanging',
  })
}

/**
 * The container as it ships with `env` added: a variant a tool or scenario runs beside it, to
 * show what one setting changes. Labelled by the variables set, with `note` after them, unless
 * `label` says otherwise (a value such as a file path tells a reader nothing); `unavailable` says
 * why it cannot run here, if it can not.
 */
export function containerWith(
  id: string,
  env: Readonly<Record<string, string>>,
  options: {
    readonly note?: string
    readonly label?: string
    readonly unavailable?: () => string | undefined
  } = {},
): Design {
  const settings = Object.entries(env).map(([name, value]) => `${name}=${value}`)
  return {
    id,
    label: options.label ?? `container, ${settings.join(' ')}${options.note ?? ''}`,
    unavailable: options.unavailable ?? (() => undefined),
    start: (plan, tools) => container.start({ ...plan, env: { ...plan.env, ...env } }, tools),
  }
}

/**
 * Every receive thread at the nice it inherits, so the isolation scenario shows what the class
 * priorities buy on saturated cores.
 */
export const containerNoPriority = containerWith('container-no-priority', {
  ZC_THREAD_PRIORITY: 'false',
})

/**
 * zeromq.js's own zero-copy receives, where a frame over 128 bytes reaches the handler as an
 * external Buffer (what the bare worker gets). Shows what copying received frames buys (README
 * "Receiving: copy, not zero-copy").
 */
export const containerZeroCopy = containerWith('container-zero-copy', { ZMQ_RECEIVE_COPY: 'false' })

/**
 * The control thread asking for a 100 µs scheduler slice (`_SLICE_US`, opt-in): what a short
 * slice adds to the class nice values.
 */
export const containerControlSlice = containerWith('container-control-slice', {
  ZMQ_SUB_CONTROL_SLICE_US: '100',
})

/**
 * The control thread at nice -10, below the process's own: needs CAP_SYS_NICE (root here; not in
 * Docker's default capability set). Shows what the class priorities reach with the privilege.
 */
export const containerControlBoost = containerWith(
  'container-control-nice',
  { ZMQ_SUB_CONTROL_NICE: '-10' },
  {
    note: ' (CAP_SYS_NICE)',
    unavailable: () => (canLowerNice() ? undefined : 'needs CAP_SYS_NICE (run the bench as root)'),
  },
)

/** Whether this process may lower a nice value (CAP_SYS_NICE): tries it on itself and back. */
function canLowerNice(): boolean {
  const before = getPriority()
  try {
    setPriority(before - 1)
    setPriority(before)
    return true
  } catch {
    return false
  }
}

function nodeBaseline(id: string, label: string, script: string, extra = {}): Design {
  const design: Design = {
    id,
    label,
    unavailable: () => undefined,
    start(plan) {
      const proc = new Proc(
        id,
        process.execPath,
        [baselineScript(script)],
        baselineEnv(plan, extra),
      )
      return new Receiver(proc, design, eventLines)
    },
  }
  return design
}

export const zmqLoop = nodeBaseline('zmq-loop', 'zeromq.js, one event loop', 'node-loop')
export const zmqLoopYield = nodeBaseline(
  'zmq-loop-yield',
  'zeromq.js, one loop, setImmediate per message',
  'node-loop',
  { yield: true },
)
export const zmqWorker = nodeBaseline(
  'zmq-worker',
  'zeromq.js SUB in a bare worker',
  'node-workers',
)

export const pyzmq: Design = {
  id: 'pyzmq',
  label: 'pyzmq thread per socket (seed)',
  unavailable: (tools) => (tools.python ? undefined : 'python3-zmq is missing'),
  start(plan) {
    const proc = new Proc('pyzmq', PYTHON, [pythonScript('pyzmq_receiver')], {
      ...baselineEnv(plan),
      PYTHONUNBUFFERED: '1',
    })
    return new Receiver(proc, pyzmq, eventLines)
  },
}

export const cFloor: Design = {
  id: 'c',
  label: 'C thread per socket (floor)',
  unavailable: (tools) => (tools.c ? undefined : 'gcc or libzmq3-dev is missing'),
  start(plan, tools) {
    if (!tools.c) throw new Error('no C peers')
    if (plan.hang) throw new Error('the C floor has no hung-handler mode')
    const args = [
      ...(plan.latency ? ['--latency'] : []),
      '--warmup',
      String(plan.warmup),
      '--out',
      plan.outDir,
      ...plan.sockets.map(
        (s, i) =>
          `${s.name}|${s.endpoint}|${s.component}|${Math.round((s.burnMs ?? 0) * 1000)}|${plan.relay && i === 0 ? 1 : 0}`,
      ),
    ]
    const proc = new Proc('c', tools.c.zsub, args, {})
    return new Receiver(proc, cFloor, eventLines)
  },
}

export const ALL_DESIGNS = [container, zmqLoop, zmqLoopYield, zmqWorker, pyzmq, cFloor]
