import type * as Crypto from 'node:crypto'
import { hostname } from 'node:os'

/**
 * The optional third frame of a message (`ZMQ_PUB[_<NAME>]_ENVELOPE=true`): who sent it, its
 * sequence number on its topic, and when. Fixed layout, little-endian, 40 bytes, versioned by its
 * first byte so a reader can refuse a layout it does not know (Python: `struct '<B3xIIxxxxQQQ'`):
 *
 * | offset | type | field                                                                 |
 * | ------ | ---- | --------------------------------------------------------------------- |
 * | 0      | u8   | version, 1                                                            |
 * | 1      | 3 B  | reserved, 0                                                           |
 * | 4      | u32  | source: a hash of host name and socket identity, stable over restarts |
 * | 8      | u32  | epoch: random per socket opening; a new one is a restarted publisher  |
 * | 12     | 4 B  | reserved, 0                                                           |
 * | 16     | u64  | sequence on this topic from this publisher, the first is 1            |
 * | 24     | u64  | send time, wall clock, ns since the Unix epoch                        |
 * | 32     | u64  | send time, monotonic clock of the sender, ns                          |
 */
export const ENVELOPE_VERSION = 1
export const ENVELOPE_BYTES = 40

export interface Envelope {
  readonly source: number
  readonly epoch: number
  readonly seq: bigint
  readonly sentAtNs: bigint
  readonly monotonicNs: bigint
}

/** What a handler sees of an envelope: Message.seq, sentAt (epoch ms), publisher. */
export interface EnvelopeFields {
  readonly seq: number
  readonly sentAt: number
  readonly publisher: string
}

/** The publisher as handlers see it (`message.publisher`): `<source>-<epoch>` in hex. */
export function publisherId(envelope: Pick<Envelope, 'source' | 'epoch'>): string {
  const hex = (n: number) => n.toString(16).padStart(8, '0')
  return `${hex(envelope.source)}-${hex(envelope.epoch)}`
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  const frame = Buffer.alloc(ENVELOPE_BYTES)
  frame.writeUInt8(ENVELOPE_VERSION, 0)
  frame.writeUInt32LE(envelope.source, 4)
  frame.writeUInt32LE(envelope.epoch, 8)
  frame.writeBigUInt64LE(envelope.seq, 16)
  frame.writeBigUInt64LE(envelope.sentAtNs, 24)
  frame.writeBigUInt64LE(envelope.monotonicNs, 32)
  return frame
}

/** The envelope in `frame`, or a reason it is not one this version reads. Never throws. */
export function decodeEnvelope(frame: Buffer): Envelope | { readonly invalid: string } {
  if (frame.length !== ENVELOPE_BYTES)
    return { invalid: `envelope frame is ${frame.length} bytes, not ${ENVELOPE_BYTES}` }
  const version = frame.readUInt8(0)
  if (version !== ENVELOPE_VERSION)
    return { invalid: `envelope version ${version}, this reader knows ${ENVELOPE_VERSION}` }
  return {
    source: frame.readUInt32LE(4),
    epoch: frame.readUInt32LE(8),
    seq: frame.readBigUInt64LE(16),
    sentAtNs: frame.readBigUInt64LE(24),
    monotonicNs: frame.readBigUInt64LE(32),
  }
}

/** Wall clock in ns, with the sub-millisecond part performance.now() gives. */
export function wallClockNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
}

/**
 * Stamps the messages of one PUB socket: a sequence per topic, the send times. `source` is the
 * same for the same host and socket identity across restarts; `epoch` is new at every opening, so a
 * subscriber tells a restart (sequence back at 1) from loss.
 */
export class EnvelopeStamper {
  readonly source: number
  readonly epoch: number
  readonly #seq = new Map<string, bigint>()
  /** For tests and benchmarks: shifts the wall send time (a publisher whose messages are old). */
  readonly #clockOffsetNs: bigint

  /** `identity`: what tells this socket from others of the host (name and endpoints). */
  constructor(identity: string, options: { epoch?: number; clockOffsetNs?: bigint } = {}) {
    // Loaded here, by the one class that needs it: every receive thread loads this module for
    // the envelope's parsing, and node:crypto would add about 3 ms to each thread's start.
    const { createHash, randomBytes } = require('node:crypto') as typeof Crypto
    this.source = createHash('sha256').update(`${hostname()}\0${identity}`).digest().readUInt32LE(0)
    this.epoch = options.epoch ?? randomBytes(4).readUInt32LE(0)
    this.#clockOffsetNs = options.clockOffsetNs ?? 0n
  }

  /** The envelope frame of the next message on `topic`. */
  next(topic: string): Buffer {
    const seq = (this.#seq.get(topic) ?? 0n) + 1n
    this.#seq.set(topic, seq)
    return encodeEnvelope({
      source: this.source,
      epoch: this.epoch,
      seq,
      sentAtNs: wallClockNs() + this.#clockOffsetNs,
      monotonicNs: process.hrtime.bigint(),
    })
  }
}
