import path from 'node:path'
import { LogProcess } from './log-process'

export const ROOT = path.join(__dirname, '..', '..')
export const MAIN = path.join(ROOT, 'dist', 'main.js')

export const fixtureService = (name: string) =>
  path.join(ROOT, 'test', 'fixtures', 'services', `${name}.js`)

export type { Exit } from './log-process'

/**
 * `node dist/main.js` as a child process, the way an orchestrator runs it: environment only,
 * JSON log lines on stdout, one line per config problem on stderr.
 */
export class ContainerProcess extends LogProcess {
  constructor(env: Record<string, string>, args: string[] = [], label = 'container') {
    // Only what the test sets, plus PATH: nothing leaks in from the developer's shell.
    super(label, process.execPath, [MAIN, ...args], {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'debug',
      ...env,
    })
  }
}
