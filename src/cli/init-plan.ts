/**
 * What `zmq-container init` is asked to make, and the facts its templates share (ports, where the
 * built service is, a sample topic), so the service, test and deployment files agree.
 */

/** What the project is asked to have. */
export interface InitPlan {
  /** npm package name (lower case, digits, dashes). */
  readonly name: string
  /** The first part of the topics the service publishes: the name with only ASCII alphanumerics. */
  readonly component: string
  readonly sub: readonly string[]
  readonly pub: readonly string[]
  readonly rep: boolean
  readonly language: 'ts' | 'js'
  /** Versions of the package itself and of the dev tools the generated project uses. */
  readonly versions: {
    readonly zmqContainer: string
    readonly typescript: string
    readonly tsx: string
    readonly typesNode: string
  }
}

/** Ports of the generated `.env` and compose file: the peer's PUB, then the service's own. */
export const PORT = { peer: 5555, pub: 5556, rep: 5557 } as const

/** Where the built service is, relative to the project: what ZC_SERVICE names. */
export function servicePath(plan: InitPlan): string {
  return plan.language === 'ts' ? 'dist/service.js' : 'src/service.js'
}

/** A topic the SUB socket receives: a full subscription as is, a prefix with `test` added. */
export function sampleTopic(subscription: string): string {
  return subscription.endsWith('.') ? `${subscription}test` : subscription
}
