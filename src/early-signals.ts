/**
 * The first thing the entry script loads, before any other module: from then on a stop signal
 * is held for the container instead of taking Node's default action (the process would end at
 * once, 143 or 129, with nothing logged). Loading the rest takes long enough (zeromq's native
 * addon, pino, prom-client) for an orchestrator's quick SIGTERM to land in it. Imports nothing.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
export type StopSignal = (typeof STOP_SIGNALS)[number]

const held: StopSignal[] = []
const hold = (signal: StopSignal) => {
  held.push(signal)
}

/** Holds stop signals until {@link releaseSignals}. */
export function holdSignals(): void {
  for (const signal of STOP_SIGNALS) process.on(signal, hold)
}

/** Stops holding; returns the signals held so far, in order, for the caller to act on. */
export function releaseSignals(): StopSignal[] {
  for (const signal of STOP_SIGNALS) process.off(signal, hold)
  return held.splice(0)
}
