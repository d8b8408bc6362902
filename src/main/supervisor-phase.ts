/**
 * Where the supervisor is. `starting`: start() is bringing sockets up (a close during it makes
 * start() resolve false at its next step). `running`: start() completed. `closing`: close() was
 * called; `started` says whether start() had completed, as /readyz reports workers only then.
 * `forced`: a second signal; the close in progress logs nothing more.
 */
export type SupervisorPhase =
  | { readonly name: 'starting' }
  | { readonly name: 'running' }
  | { readonly name: 'closing'; readonly started: boolean }
  | { readonly name: 'forced'; readonly started: boolean }

/** What moves it on: start() completed, close(), forceStop() (a second signal). */
export type SupervisorEvent = 'started' | 'close' | 'force'

/** Whether start() completed, in this phase or before the close that ended it. */
export function hasStarted(phase: SupervisorPhase): boolean {
  return phase.name === 'running' || (phase.name !== 'starting' && phase.started)
}

/** The one transition function of a supervisor; undefined when the event does not apply. */
export function nextSupervisorPhase(
  phase: SupervisorPhase,
  event: SupervisorEvent,
): SupervisorPhase | undefined {
  const started = hasStarted(phase)
  switch (event) {
    case 'started':
      return phase.name === 'starting' ? { name: 'running' } : undefined
    case 'close':
      return phase.name === 'starting' || phase.name === 'running'
        ? { name: 'closing', started }
        : undefined
    case 'force':
      return phase.name === 'forced' ? undefined : { name: 'forced', started }
  }
}
