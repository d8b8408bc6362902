/** A short, log-safe view of a payload: UTF-8 text when printable, else hex. */
export function previewPayload(payload: Uint8Array, max = 64): string {
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.length, max))
  const text = head.toString('utf8')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
  const printable = !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)
  const shown = printable ? text : `0x${head.toString('hex')}`
  return payload.length > max ? `${shown}... (${payload.length} bytes)` : shown
}
