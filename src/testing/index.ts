/**
 * `zmq-container/testing`: run a container in the test's own process and talk to it.
 *
 * ```ts
 * import { startContainer } from 'zmq-container/testing'
 * ```
 */
export { AUTO_ENDPOINT } from './harness-env'
export type { LogLine, MemoryLog } from './memory-log'
export {
  type ReceivedMessage,
  type SocketChoice,
  type StartContainerOptions,
  startContainer,
  type TestContainer,
} from './start-container'
