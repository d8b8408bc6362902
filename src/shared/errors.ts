/**
 * Every error the container raises on purpose carries one of these codes. The README's
 * "Error codes" table documents each one; test/readme-tables.test.ts keeps the two in step.
 */
export const ERROR_CODES = {
  ZC_ERR_CONFIG_INVALID: 'the environment does not describe a valid container',
  ZC_ERR_TOPIC_INVALID: 'a topic breaks the topic rules (ASCII alphanumerics and dots, 1-64 chars)',
  ZC_ERR_NO_PUBLISHER: 'no PUB socket can carry the topic being published',
  ZC_ERR_SERVICE_LOAD: 'the service module could not be loaded or has the wrong shape',
  ZC_ERR_SERVICE_START: "the service's start() threw or rejected",
  ZC_ERR_BIND_FAILED: 'a socket could not bind or connect one of its endpoints',
  ZC_ERR_WORKER_START: 'a receive worker failed or timed out before it was ready',
  ZC_ERR_WORKER_OUT_OF_MEMORY:
    'a receive worker passed its heap high-water mark and stopped itself',
  ZC_ERR_REQUEST_TIMEOUT: 'a request got no reply after every retry (Lazy Pirate client)',
  ZC_ERR_REQUEST_FAILED: 'a REP socket answered a request with an error',
  ZC_ERR_PAYLOAD_DECODE:
    "a typed service's codec could not decode a payload, or its topic has no codec (dropped as decode_error)",
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** The one error class of the project; `code` says what happened, `cause` keeps the zmq error. */
export class ZcError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ZcError'
    this.code = code
  }
}

/** One bad environment variable: what was wrong with it and a value that would work. */
export interface ConfigIssue {
  variable: string
  problem: string
  example: string
  /** The variable this one is probably a misspelling of (ZMQ_SUB_TOPICS for ZMQ_SUB_TOPIC). */
  meant?: string
}

export class ConfigError extends ZcError {
  readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[]) {
    super('ZC_ERR_CONFIG_INVALID', issues.map(formatIssue).join('\n'))
    this.name = 'ConfigError'
    this.issues = issues
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const example = issue.example ? ` (example: ${issue.variable}=${issue.example})` : ''
  return oneLine(`${issue.variable}: ${issue.problem}${example}`)
}

/**
 * Problems quote the values they reject, and a value may hold a newline or a terminal escape:
 * escaped here, one issue stays one line and cannot forge another line of output.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g

function oneLine(text: string): string {
  return text.replace(
    CONTROL_CHARACTERS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** Plain data for errors that cross a thread boundary (class instances lose their class). */
export interface SerializedError {
  name: string
  message: string
  code?: string
  stack?: string
}

/**
 * The `code` of a thrown value (`EAGAIN` from libzmq, `ENOENT` from Node, a `ZC_ERR_*`), or
 * undefined when it has no string code: a thrown value need not be an Error, or even an object.
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = errorCode(error)
    return {
      name: error.name,
      message: error.message,
      ...(code !== undefined ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    }
  }
  let message: string
  try {
    message = String(error)
  } catch {
    // Object.create(null), or a toString that throws: still report something.
    message = Object.prototype.toString.call(error)
  }
  return { name: 'NonError', message }
}

/**
 * The other side's error, rebuilt: a known code comes back as a ZcError (so `instanceof` and
 * `code` work as they did where it was thrown), any other string code stays on the error.
 */
export function deserializeError(serialized: SerializedError): Error {
  const { code, name, message } = serialized
  const error =
    code !== undefined && code in ERROR_CODES
      ? new ZcError(code as ErrorCode, message)
      : Object.assign(new Error(message), code === undefined ? {} : { code })
  error.name = name
  return error
}
