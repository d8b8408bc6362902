import type { Service } from './service'

/** What a service object may hold. */
export const SERVICE_KEYS = ['handlers', 'replies', 'start'] as const

/**
 * Keys of `service` that a service does not have, e.g. `handler` or `strat`: in JavaScript
 * nothing else catches them, and the container would run without the part so misnamed.
 */
export function unknownServiceKeys(service: object): string[] {
  return Object.keys(service).filter((key) => !(SERVICE_KEYS as readonly string[]).includes(key))
}

/**
 * Gives a service module its types, and refuses a key a service does not have (a typo that
 * TypeScript would catch, and JavaScript would not). A module of its own, with no runtime
 * imports: `zmq-container/service` exports it, and every receive thread loads what a service
 * imports (service.ts itself loads the logger, and with it pino).
 */
export function defineService(service: Service): Service {
  refuseUnknownKeys('defineService', service)
  return service
}

/** Throws, naming `helper`, when `service` has a key a service does not have. */
export function refuseUnknownKeys(helper: string, service: object): void {
  const unknown = unknownServiceKeys(service)
  if (unknown.length > 0)
    throw new TypeError(
      `${helper}: ${unknown.map((k) => `"${k}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not part of a service, which has ${SERVICE_KEYS.join(', ')}`,
    )
}
