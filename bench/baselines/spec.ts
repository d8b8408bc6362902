import path from 'node:path'
import { ROOT } from '../lib/paths'

/** What the bench hands a Node or Python baseline in BENCH_SPEC. */
export interface BaselineSpec {
  readonly sockets: ReadonlyArray<{ name: string; endpoint: string; component: string }>
  /** The first socket's handler republishes as relay.data / relay.end on a PUB of its own. */
  readonly relay: boolean
  /** The handler spins forever on the first data message. */
  readonly hang: boolean
  /** Shutdown join deadline. */
  readonly joinMs: number
  /** One loop only: yield with setImmediate after every message. */
  readonly yield?: boolean
}

export interface ReceiverCore {
  data(payload: Buffer): void
  end(): void
}

interface CoreModule {
  createReceiver(options: {
    name: string
    burnMs: number
    latency: boolean
    warmup: number
    outDir: string
    onResult: (result: object) => void
  }): ReceiverCore
  optionsFromEnv(name: string): {
    name: string
    burnMs: number
    latency: boolean
    warmup: number
    outDir: string
  }
}

/** The per-message work the container's bench service does too (bench/services/core.js). */
export const core = require(path.join(ROOT, 'bench', 'services', 'core.js')) as CoreModule

export function readSpec(): BaselineSpec {
  return JSON.parse(process.env.BENCH_SPEC ?? '{}') as BaselineSpec
}

/** `x.end` ends in `d`, `x.data` in `a`: no string decoding on the hot path. */
export const isEndTopic = (topic: Buffer) => topic[topic.length - 1] === 0x64

export const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`)

/** The hung handler: announces itself, then never returns. */
export function hangForever(say: (event: object) => void): never {
  say({ event: 'hanging' })
  for (;;) {}
}
