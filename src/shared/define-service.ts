import type { Service } from './service'

/**
 * Identity helper that gives a service module its types. A module of its own, with no runtime
 * imports: `zmq-container/service` exports it, and every receive thread loads what a service
 * imports (service.ts itself loads the logger, and with it pino).
 */
export function defineService(service: Service): Service {
  return service
}
