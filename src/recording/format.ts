/**
 * How zmq-container lays ZeroMQ messages out in MCAP, in one place for the writer and the
 * reader. One channel per topic; a message record holds the payload frame exactly as received,
 * and the channel's topic is the topic frame, decoded as latin1 so that every byte maps to one
 * character and back (an invalid topic frame still round-trips).
 */

/** The MCAP header's library field; readers show it in `mcap info`. */
export const LIBRARY = 'zmq-container'
/** No MCAP profile fits raw ZeroMQ frames; the empty profile is the spec's "none". */
export const PROFILE = ''

/** Channel message encodings: opaque bytes unless the user says the payloads are JSON. */
export const ENCODINGS = { bytes: 'application/octet-stream', json: 'json' } as const
export type PayloadEncoding = keyof typeof ENCODINGS

/** Channel metadata keys. */
export const CHANNEL_KEYS = {
  /** Where the messages came from: `connect tcp://camera:5555` (several joined by `, `). */
  endpoint: 'zmq.endpoint',
  /** The receiving socket: `SUB` for the CLI, or the container's socket name. */
  socket: 'zmq.socket',
  /** How the channel's topic maps to the topic frame's bytes. */
  topicEncoding: 'zmq.topic_encoding',
} as const

/** The name of the file-level metadata record that describes the recording. */
export const METADATA_NAME = 'zmq-container.recording'

/** Compressions the writer offers; the reader also decompresses lz4 (files of other writers). */
export const COMPRESSIONS = ['none', 'zstd'] as const
export type Compression = (typeof COMPRESSIONS)[number]

/** Topic frame bytes to the channel topic, and back: latin1 is one character per byte. */
export function topicFromFrame(frame: Uint8Array): string {
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('latin1')
}

export function frameFromTopic(topic: string): Buffer {
  return Buffer.from(topic, 'latin1')
}

/** This thread's performance.now() origin, read once: it is fixed for the thread's life. */
const TIME_ORIGIN_MS = performance.timeOrigin

/**
 * Milliseconds since the epoch with sub-millisecond precision (a float64 keeps ~0.2 µs), of now
 * or of an earlier `performance.now()` reading of this thread (the receive loop's).
 */
export function wallClockMs(at: number = performance.now()): number {
  return TIME_ORIGIN_MS + at
}

/** Milliseconds since the epoch (fractional) to MCAP's nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n
}

/** Nanoseconds since the epoch, as MCAP log times are. */
export function nowNs(): bigint {
  return msToNs(wallClockMs())
}

/**
 * A batch RecordingWriter refused part-way through: it would not take one of the messages (a
 * 65,537th topic in one file, MCAP's limit). The `added` messages before it are in the writer,
 * and in the file once it ends, so a caller counts them as recorded and only the rest as lost.
 * A failed write is not this: what the failed chunk held never reaches the file. Kept here, not
 * in the writer's module, so the recorder thread can tell it apart without loading the MCAP
 * libraries first.
 */
export class BatchRefusedError extends Error {
  constructor(
    readonly added: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.name = 'BatchRefusedError'
  }
}
