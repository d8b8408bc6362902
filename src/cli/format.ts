/** Local wall-clock time with milliseconds, `14:02:03.123`, as in the demo's log prefix. */
export function clock(ms: number): string {
  const d = new Date(ms)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

export type PreviewKind = 'empty' | 'text' | 'json' | 'hex'

export interface Preview {
  readonly kind: PreviewKind
  /** One line for text and hex; several for pretty JSON. */
  readonly lines: readonly string[]
}

/** Longest text preview, in characters; the size column tells the rest. */
export const MAX_TEXT_CHARS = 200
/** Bytes shown as hex. */
export const MAX_HEX_BYTES = 32
/** Payloads up to this size are pretty-printed when they are a JSON object or array. */
export const MAX_PRETTY_JSON_BYTES = 4096

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * How a payload reads to a person: pretty JSON when it is an object or array, UTF-8 text when it
 * decodes and has no control characters but tab and newlines, hex otherwise.
 */
export function previewPayload(payload: Uint8Array): Preview {
  if (payload.length === 0) return { kind: 'empty', lines: [''] }
  let text: string | undefined
  try {
    text = strictUtf8.decode(payload)
  } catch {
    text = undefined
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mean binary
  if (text === undefined || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text))
    return { kind: 'hex', lines: [hex(payload)] }
  const trimmed = text.trim()
  if (
    payload.length <= MAX_PRETTY_JSON_BYTES &&
    (trimmed.startsWith('{') || trimmed.startsWith('['))
  ) {
    try {
      return { kind: 'json', lines: JSON.stringify(JSON.parse(trimmed), null, 2).split('\n') }
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { kind: 'text', lines: [oneLine(text)] }
}

/** Escapes newlines and tabs so that each message stays on one line, then shortens. */
function oneLine(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
  return escaped.length > MAX_TEXT_CHARS ? `${escaped.slice(0, MAX_TEXT_CHARS)}…` : escaped
}

export function hex(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, MAX_HEX_BYTES))
  return `0x${head.toString('hex')}${bytes.length > MAX_HEX_BYTES ? '…' : ''}`
}

/** A fixed-point number without a trailing `-0.0`. */
export function fixed(n: number, digits: number): string {
  const s = n.toFixed(digits)
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s
}

/** Cuts a line to the terminal width so that a redraw never wraps (wrapped lines break it). */
export function fitWidth(line: string, columns: number | undefined): string {
  if (!columns || line.length < columns) return line
  return `${line.slice(0, Math.max(0, columns - 2))}…`
}
