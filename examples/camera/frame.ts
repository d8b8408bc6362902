/**
 * The camera example's frame format: a 16-byte header, then pixels.
 *   0..3   sequence number (u32 BE)
 *   4..7   frame rate the camera runs at, in millihertz (u32 BE)
 *   8..15  capture time, Unix epoch milliseconds (f64 BE)
 */
export const FRAME_HEADER_BYTES = 16

export interface FrameHeader {
  readonly seq: number
  readonly fps: number
  readonly capturedAt: number
}

export function encodeFrame(header: FrameHeader, size: number): Buffer {
  const frame = Buffer.alloc(Math.max(size, FRAME_HEADER_BYTES))
  frame.writeUInt32BE(header.seq >>> 0, 0)
  frame.writeUInt32BE(Math.round(header.fps * 1000), 4)
  frame.writeDoubleBE(header.capturedAt, 8)
  return frame
}

export function decodeFrameHeader(frame: Buffer): FrameHeader | undefined {
  if (frame.length < FRAME_HEADER_BYTES) return undefined
  return {
    seq: frame.readUInt32BE(0),
    fps: frame.readUInt32BE(4) / 1000,
    capturedAt: frame.readDoubleBE(8),
  }
}

/** Control messages: `set_fps` on `camera.cmd` (pub/sub) or the REP socket; `get_fps` on REP. */
export type CameraCommand = { cmd: 'set_fps'; fps: number } | { cmd: 'get_fps' }

export const MAX_FPS = 1000

/** Parses a command payload; throws with a clear message on anything else. */
export function parseCommand(payload: Buffer): CameraCommand {
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    throw new Error(`command is not JSON: ${payload.subarray(0, 40).toString('utf8')}`)
  }
  const command = value as { cmd?: unknown; fps?: unknown } | null
  if (command?.cmd === 'get_fps') return { cmd: 'get_fps' }
  if (command?.cmd !== 'set_fps') throw new Error(`unknown command ${JSON.stringify(command?.cmd)}`)
  if (typeof command.fps !== 'number' || !(command.fps > 0 && command.fps <= MAX_FPS))
    throw new Error(`set_fps needs fps in (0, ${MAX_FPS}], got ${JSON.stringify(command.fps)}`)
  return { cmd: 'set_fps', fps: command.fps }
}
