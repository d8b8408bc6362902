/**
 * The seed's dashboard: subscribes to the camera's frames and heartbeats (telemetry), logs the
 * frame rate it receives, and commands the camera's frame rate over `camera.cmd` (control).
 *
 * The command is best-effort pub/sub, so the dashboard repeats it on every heartbeat until the
 * frames themselves say the camera runs at the target rate: that closes the round trip.
 */

import { makeValidator } from 'envalid'
import {
  ConfigError,
  type ConfigIssue,
  defineService,
  type HandlerContext,
  type Message,
  RequestClient,
  readEnv,
} from '../../src'
import { parseEndpoint } from '../../src/shared/endpoints'
import { decodeFrameHeader, MAX_FPS } from '../camera/frame'

const targetFps = makeValidator((input) => {
  const fps = Number(input)
  if (!(fps > 0 && fps <= MAX_FPS))
    throw new Error(`is "${input}"; it must be a number in (0, ${MAX_FPS}]`)
  return fps
})

/** DASHBOARD_TARGET_FPS, if set: the rate to command. Unset: watch only, never command. */
function readTarget(env: NodeJS.ProcessEnv): number | undefined {
  const issues: ConfigIssue[] = []
  const values = readEnv(
    env,
    { DASHBOARD_TARGET_FPS: targetFps({ default: undefined, example: '25' }) },
    issues,
  )
  if (issues.length > 0) throw new ConfigError(issues)
  return values.DASHBOARD_TARGET_FPS as number | undefined
}

const CONTROL_POLL_MS = 2000

/** DASHBOARD_CAMERA_CONTROL, if set: the camera's REP endpoint, asked for its frame rate. */
function readControlEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  const issues: ConfigIssue[] = []
  const endpoint = makeValidator((input) => {
    const parsed = parseEndpoint(input, 'connect')
    if (!parsed.ok || parsed.value.action !== 'connect')
      throw new Error(parsed.ok ? 'must connect' : parsed.problem)
    return parsed.value.address
  })
  const values = readEnv(
    env,
    { DASHBOARD_CAMERA_CONTROL: endpoint({ default: undefined, example: 'tcp://camera:5556' }) },
    issues,
  )
  if (issues.length > 0) throw new ConfigError(issues)
  return values.DASHBOARD_CAMERA_CONTROL as string | undefined
}

// Handlers run in the worker thread, which gets a copy of the process environment. start() reads
// it too, in the main thread, so a bad value stops start-up as a configuration error (exit 78).
let target: number | undefined
let targetRead = false
function commandTarget(): number | undefined {
  if (!targetRead) {
    target = readTarget(process.env)
    targetRead = true
  }
  return target
}

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
  const target = commandTarget()
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
  const target = commandTarget()
  if (target !== undefined && beat.fps !== target) {
    commandSentAt ??= Date.now()
    confirmed = false
    ctx.publish('camera.cmd', JSON.stringify({ cmd: 'set_fps', fps: target }))
    ctx.log.info({ fps: target }, 'command sent')
  }
}

export default defineService({
  start(ctx) {
    commandTarget()
    const control = readControlEndpoint(process.env)
    if (!control) return
    // Reliable control over REQ/REP (Lazy Pirate retries): ask the camera for its frame rate.
    const client = new RequestClient(control, {
      timeoutMs: 500,
      retries: 2,
      onRetry: (attempt) =>
        ctx.log.warn({ endpoint: control, attempt }, 'camera control: retrying'),
    })
    const ask = async () => {
      const sentAt = performance.now()
      try {
        const reply = JSON.parse(
          String(await client.request(JSON.stringify({ cmd: 'get_fps' }))),
        ) as { fps: number }
        ctx.log.info(
          { fps: reply.fps, roundTripMs: Number((performance.now() - sentAt).toFixed(2)) },
          'camera control reply',
        )
      } catch (error) {
        ctx.log.warn({ err: error }, 'camera control: no answer')
      }
    }
    const timer = setInterval(() => void ask(), CONTROL_POLL_MS)
    void ask()
    return () => {
      clearInterval(timer)
      client.close()
    }
  },
  handlers: {
    '*': (message, ctx) => {
      if (message.topic === 'camera.frame') return onFrame(message, ctx)
      if (message.topic === 'camera.heartbeat') return onHeartbeat(message, ctx)
      throw new Error(`dashboard has no handler for ${message.topic}`)
    },
  },
})
