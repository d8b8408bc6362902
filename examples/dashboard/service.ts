/**
 * The seed's dashboard: subscribes to the camera's frames and heartbeats (telemetry), logs the
 * frame rate it receives, and commands the camera's frame rate over `camera.cmd` (control).
 *
 * The command is best-effort pub/sub, so the dashboard repeats it on every heartbeat until the
 * frames themselves say the camera runs at the target rate: that closes the round trip.
 */

import { defineService, type HandlerContext, type Message } from '../../src/service'
import { decodeFrameHeader } from '../camera/frame'

// Read in the worker thread, which gets a copy of the process environment.
const target = Number(process.env.DASHBOARD_TARGET_FPS ?? '') || undefined

const REPORT_EVERY_MS = 1000
let windowStart = 0
let framesInWindow = 0
let bytesInWindow = 0
let commandSentAt: number | undefined
let confirmed = false

function onFrame(message: Message, ctx: HandlerContext): void {
  const header = decodeFrameHeader(message.payload)
  if (!header)
    throw new Error(`frame of ${message.payload.length} bytes is shorter than its header`)
  const now = Date.now()
  if (windowStart === 0) windowStart = now
  framesInWindow++
  bytesInWindow += message.payload.length
  if (now - windowStart >= REPORT_EVERY_MS) {
    const seconds = (now - windowStart) / 1000
    ctx.log.info(
      {
        fps: Number((framesInWindow / seconds).toFixed(1)),
        cameraFps: header.fps,
        kib: Math.round(bytesInWindow / 1024),
        seq: header.seq,
      },
      'frame rate',
    )
    windowStart = now
    framesInWindow = 0
    bytesInWindow = 0
  }
  if (target !== undefined && !confirmed && commandSentAt !== undefined && header.fps === target) {
    confirmed = true
    ctx.log.info(
      { fps: header.fps, roundTripMs: now - commandSentAt },
      'command round trip confirmed',
    )
  }
}

function onHeartbeat(message: Message, ctx: HandlerContext): void {
  const beat = JSON.parse(message.payload.toString('utf8')) as { fps: number; frames: number }
  ctx.log.info({ cameraFps: beat.fps, frames: beat.frames }, 'camera heartbeat')
  if (target !== undefined && beat.fps !== target) {
    commandSentAt ??= Date.now()
    confirmed = false
    ctx.publish('camera.cmd', JSON.stringify({ cmd: 'set_fps', fps: target }))
    ctx.log.info({ fps: target }, 'command sent')
  }
}

export default defineService({
  handlers: {
    '*': (message, ctx) => {
      if (message.topic === 'camera.frame') return onFrame(message, ctx)
      if (message.topic === 'camera.heartbeat') return onHeartbeat(message, ctx)
      throw new Error(`dashboard has no handler for ${message.topic}`)
    },
  },
})
