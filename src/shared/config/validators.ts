// The envalid validators every variable goes through. Each error message starts from the rejected
// value's problem ("is "x"; ..."): ConfigIssue puts the variable's name in front of it.
import { makeValidator } from 'envalid'
import { type Endpoint, type EndpointAction, parseEndpointList } from '../endpoints'
import { subscriptionProblem, topicProblem } from '../topics'
import { curveKeyProblem, parseKeyList } from './secrets'
import { SLICE_US_RANGE } from './types'

/** libzmq's integer socket options (sizes, high-water marks, durations) are C ints. */
export const INT32_MAX = 2 ** 31 - 1

/**
 * The longest duration the container accepts anywhere: Node timers and libzmq options hold 32-bit
 * signed milliseconds, and a larger value fires at once or misbehaves late.
 */
export const MAX_MS = INT32_MAX

/** What an integer variable counts, as its error message names it. */
export type IntegerUnit = 'number' | 'ms' | 'port'

const INTEGER_NOUNS: Record<IntegerUnit, string> = {
  number: 'a whole number',
  ms: 'a whole number of milliseconds',
  port: 'a port',
}

/**
 * A whole number from `min` to `max` (digits only: no fraction or exponent, and a minus sign only
 * where `min` is negative).
 */
export const integer = (min: number, max: number, unit: IntegerUnit = 'number') =>
  makeValidator<number>((input) => {
    const text = input.trim()
    const n = Number(text)
    const digits = min < 0 ? /^-?\d+$/ : /^\d+$/
    if (!digits.test(text) || n < min || n > max)
      throw new Error(`is "${input}"; it must be ${INTEGER_NOUNS[unit]} from ${min} to ${max}`)
    return n
  })

/**
 * A receive thread's scheduler slice in µs: 0 for the kernel's own, or what sched_setattr(2)
 * accepts for a normal thread (the kernel would clamp anything else silently).
 */
export const sliceUs = makeValidator<number>((input) => {
  const text = input.trim()
  const n = Number(text)
  const { min, max } = SLICE_US_RANGE
  if (!/^\d+$/.test(text) || (n !== 0 && (n < min || n > max)))
    throw new Error(
      `is "${input}"; it must be 0 (the kernel's own slice) or a whole number of microseconds from ${min} to ${max}`,
    )
  return n
})

/**
 * One of `values`. `ignoreCase` also trims: WARN and warn mean the same to anyone who sets them.
 * The message lists the choices as "use a or b", or "use one of a, b, c".
 */
export const oneOf = <T extends string>(
  values: readonly T[],
  { ignoreCase = false }: { ignoreCase?: boolean } = {},
) =>
  makeValidator<T>((input) => {
    const value = (ignoreCase ? input.trim().toLowerCase() : input) as T
    if (!values.includes(value)) {
      const choices =
        values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`
      throw new Error(`is "${input}"; use ${choices}`)
    }
    return value
  })

/** A switch: 1/true/yes/on or 0/false/no/off, in any case. */
export const flag = makeValidator<boolean>((input) => {
  const text = input.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(text)) return true
  if (['0', 'false', 'no', 'off'].includes(text)) return false
  throw new Error(`is "${input}"; use true or false`)
})

/** A listening address for the HTTP endpoints: an IP address or a host name. */
export const host = makeValidator<string>((input) => {
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(input))
    throw new Error(`is "${input}"; give an address or host name`)
  return input
})

/** A name or path, refused with spaces around it: they are a quoting slip, never meant. */
export const trimmedString = makeValidator<string>((input) => {
  if (input.trim() !== input) throw new Error('has leading or trailing spaces')
  return input
})

/** One Z85 CURVE key; the problem never echoes the value, which may be a secret key. */
export const curveKey = makeValidator<string>((input) => {
  const problem = curveKeyProblem(input.trim())
  if (problem) throw new Error(problem)
  return input.trim()
})

/** ZMQ_CURVE_ALLOW's public keys (see parseKeyList); an entry is named by its place, not shown. */
export const curveKeyList = makeValidator<string[]>((input) => {
  const keys = parseKeyList(input)
  if (keys.length === 0) throw new Error('lists no key')
  keys.forEach((k, i) => {
    const problem = curveKeyProblem(k)
    if (problem) throw new Error(`entry ${i + 1} ${problem}`)
  })
  return keys
})

/** Comma-separated endpoints; one without `@`/`>` gets `defaultAction`. */
export const endpointList = (defaultAction: EndpointAction) =>
  makeValidator<Endpoint[]>((input) => {
    const parsed = parseEndpointList(input, defaultAction)
    if (!parsed.ok) throw new Error(parsed.problem)
    return parsed.value
  })

/** A SUB's subscriptions (`sub`) or a PUB's declared topics (`pub`), comma-separated. */
export const topicList = (kind: 'sub' | 'pub') =>
  makeValidator<string[]>((input) => parseTopicList(input, kind))

/**
 * What is wrong with `t` as a container subscription, or undefined: the topic rules, and a dot.
 * Matching is exact and every topic has a dot, so a bare word would match nothing at all.
 */
export function containerSubscriptionProblem(t: string): string | undefined {
  const problem = subscriptionProblem(t)
  if (problem) return problem
  if (!t.includes('.'))
    return `has no dot, so it matches no topic (topics are <component>.<message_type>, matched exactly); subscribe to ${t}. for every ${t} topic, or to a full topic such as ${t}.cmd`
  return undefined
}

function parseTopicList(input: string, kind: 'sub' | 'pub'): string[] {
  const topics = input.split(',').map((t) => t.trim())
  for (const t of topics) {
    const problem = kind === 'sub' ? containerSubscriptionProblem(t) : topicProblem(t)
    if (problem) throw new Error(`${JSON.stringify(t)} ${problem}`)
  }
  const duplicate = topics.find((t, i) => topics.indexOf(t) !== i)
  if (duplicate) throw new Error(`lists ${duplicate} twice`)
  return topics
}
