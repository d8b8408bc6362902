import { type ParseArgsConfig, parseArgs } from 'node:util'
import { closest, distance } from 'fastest-levenshtein'
import { MAX_MS } from '../shared/config/validators'
import { type Endpoint, type EndpointAction, parseEndpoint } from '../shared/endpoints'
import { errorCode } from '../shared/errors'
import { subscriptionProblem, topicProblem } from '../shared/topics'

/** Bad command-line arguments: main prints the message as one line and exits 64. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The option declarations of one command, as parseArgs takes them. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>

/** A command's parsed arguments: `values` by option name, and the positionals. */
export type CommandArgs<O extends CommandOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>
>

/**
 * A command's arguments by node:util parseArgs (positionals allowed), with its errors turned into
 * {@link UsageError}s: an unknown option gets the nearest real one (`--cont`: did you mean
 * `--count`?) instead of Node's advice about positionals.
 */
export function parseCommandArgs<const O extends CommandOptions>(
  args: readonly string[],
  options: O,
): CommandArgs<O> {
  return parseOrThrow(
    () =>
      parseArgs<{ args: string[]; options: O; allowPositionals: true }>({
        args: joinNegativeValues(args, options),
        options,
        allowPositionals: true,
      }),
    Object.keys(options),
  )
}

/**
 * Runs a node:util parseArgs call and turns its errors (unknown option, missing value) into
 * {@link UsageError}s; any other error is a bug and passes through. `optionNames` (without the
 * dashes) lets an unknown option get a suggestion.
 */
export function parseOrThrow<T>(parse: () => T, optionNames: readonly string[] = []): T {
  try {
    return parse()
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'(-[^']*)'/.exec((error as Error).message)?.[1] ?? '?'
      throw new UsageError(unknownOptionMessage(option, optionNames))
    }
    if (code?.startsWith('ERR_PARSE_ARGS_')) {
      const { message } = error as Error
      // "Unknown option '--x'" reads as the rest of "zmq-container tap: ..." in lower case.
      throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1))
    }
    throw error
  }
}

/**
 * `--retries -1` is Node's "ambiguous argument" error; as `--retries=-1` it reaches the command's
 * own check, which says what the value must be.
 */
function joinNegativeValues(args: readonly string[], options: CommandOptions): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') return [...out, ...args.slice(i)]
    const next = args[i + 1]
    const takesValue = arg.startsWith('--') && options[arg.slice(2)]?.type === 'string'
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/**
 * The one of `names` that `name` probably means: one it begins, or one or two letters off; one
 * letter for a short name, where two would make `xyz` mean `hz`. Undefined when none is that near.
 */
export function nearestName(name: string, names: readonly string[]): string | undefined {
  if (name.length <= 2 || names.length === 0) return undefined
  const nearest = closest(name, [...names])
  const allowed = name.length > 4 ? 2 : 1
  return nearest.startsWith(name) || distance(name, nearest) <= allowed ? nearest : undefined
}

function unknownOptionMessage(option: string, optionNames: readonly string[]): string {
  const known = [...optionNames, 'help'].map((o) => `--${o}`)
  const name = option.split('=')[0] ?? option
  const nearest = nearestName(name, known)
  // `-1` or `-x` as a payload or topic: parseArgs takes anything after a dash for an option.
  const value = name.startsWith('--')
    ? ''
    : `; a value that starts with - goes after --, as in -- ${name}`
  return `unknown option ${name}${nearest ? `; did you mean ${nearest}?` : ''}; options are ${known.join(', ')}${value}`
}

/** True when `--help` or `-h` comes before any `--` (after it, they are positionals). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--')
  const options = end === -1 ? args : args.slice(0, end)
  return options.includes('--help') || options.includes('-h')
}

export function expectPositionals(
  positionals: readonly string[],
  names: readonly string[],
  max = names.length,
): void {
  if (positionals.length < names.length)
    throw new UsageError(`missing ${names.slice(positionals.length).join(' and ')}`)
  if (positionals.length > max)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`)
}

/** A whole number from `min` up; `option` names it in the error (`--count`). */
export function integerOption(option: string, value: string, min: number, max = MAX_MS): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${option} is "${value}"; it must be a whole number from ${min} to ${max}`)
  return n
}

/** A decimal number from `min` up (`--rate 0.5`, `--interval 0.25`). */
export function numberOption(option: string, value: string, min: number, max: number): number {
  const n = Number(value)
  if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max)
    throw new UsageError(`${option} is "${value}"; it must be a number from ${min} to ${max}`)
  return n
}

/** One endpoint; `@` forces bind and `>` forces connect, as in the container's variables. */
export function endpointArgument(raw: string, defaultAction: EndpointAction): Endpoint {
  const parsed = parseEndpoint(raw, defaultAction)
  if (!parsed.ok) throw new UsageError(`ENDPOINT ${parsed.problem}`)
  return parsed.value
}

/**
 * Subscriptions by the container's rules: a topic, or a prefix ending in `.`. An empty argument
 * (`''`) subscribes to everything, as does giving no topic at all.
 */
export function subscriptionArguments(raw: readonly string[]): string[] {
  for (const s of raw) {
    if (s === '') continue
    const problem = subscriptionProblem(s)
    if (problem) throw new UsageError(`TOPIC ${JSON.stringify(s)} ${problem}`)
  }
  return raw.length === 0 || raw.includes('') ? [''] : [...new Set(raw)]
}

/** A topic to publish: `<component>.<message_type>`, no prefix form. */
export function topicArgument(raw: string): string {
  const problem = topicProblem(raw)
  if (problem) throw new UsageError(`TOPIC ${JSON.stringify(raw)} ${problem}`)
  return raw
}
