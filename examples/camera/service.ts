/**
 * The seed's camera (3.5), as a service: obeys `camera.cmd` on its control socket, publishes
 * `camera.frame` at CAMERA_FPS and `camera.heartbeat` at 1 Hz. Wired only by env (see .env).
 */
import { makeValidator } from 'envalid'
import { readEnv } from '../../src/shared/config'
import { ConfigError, type ConfigIssue } from '../../src/shared/errors'
import { defineService } from '../../src/shared/service'
import { type CameraCommand, encodeFrame, FRAME_HEADER_BYTES, MAX_FPS, parseCommand } from './frame'

const FPS = makeValidator((input) => {
  const fps = Number(input)
  if (!(fps > 0 && fps <= MAX_FPS))
    throw new Error(`is "${input}"; it must be a number in (0, ${MAX_FPS}]`)
  return fps
})
const FRAME_BYTES = makeValidator((input) => {
  const bytes = Number(input)
  if (!Number.isInteger(bytes) || bytes < FRAME_HEADER_BYTES)
    throw new Error(`is "${input}"; it must be a whole number of at least ${FRAME_HEADER_BYTES}`)
  return bytes
})

/** The camera's own variables; bad values end start-up like a container config error. */
function readSettings(env: NodeJS.ProcessEnv): { fps: number; frameBytes: number } {
  const issues: ConfigIssue[] = []
  const values = readEnv(
    env,
    {
      CAMERA_FPS: FPS({ default: 10, example: '10' }),
      CAMERA_FRAME_BYTES: FRAME_BYTES({ default: 1024, example: '65536' }),
    },
    issues,
  )
  if (issues.length > 0) throw new ConfigError(issues)
  return { fps: values.CAMERA_FPS as number, frameBytes: values.CAMERA_FRAME_BYTES as number }
}

export default defineService({
  handlers: {
    // Runs in the control socket's worker; the frame loop lives in the main thread, so the
    // command travels there. A bad command throws: logged and counted as a handler error.
    '*': (message, ctx) => {
      const command = parseCommand(message.payload)
      ctx.log.info({ topic: message.topic, command }, 'command received')
      ctx.toMain(command)
    },
  },

  // Reliable control (seed 4.2): a REP socket, if ZMQ_REP_ENDPOINT is set. The answer comes from
  // the main thread, which owns the frame rate: {"fps": N} after applying the command. A bad
  // request throws, and the client gets an error reply.
  replies: {
    '*': async (request, ctx) => JSON.stringify(await ctx.callMain(parseCommand(request.payload))),
  },

  start(ctx) {
    const settings = readSettings(process.env)
    const startedAt = Date.now()
    let seq = 0
    let timer: NodeJS.Timeout | undefined
    let fps = settings.fps

    const schedule = () => {
      clearInterval(timer)
      timer = setInterval(() => {
        ctx.publish(
          'camera.frame',
          encodeFrame({ seq: seq++, fps, capturedAt: Date.now() }, settings.frameBytes),
        )
      }, 1000 / fps)
    }
    const heartbeat = setInterval(() => {
      const beat = { uptimeS: Math.round((Date.now() - startedAt) / 1000), fps, frames: seq }
      ctx.publish('camera.heartbeat', JSON.stringify(beat))
      ctx.log.info(beat, 'heartbeat')
    }, 1000)

    const apply = (command: CameraCommand): { fps: number } => {
      if (command.cmd === 'set_fps' && command.fps !== fps) {
        ctx.log.info({ from: fps, to: command.fps }, 'frame rate changed')
        fps = command.fps
        schedule()
      }
      return { fps }
    }
    ctx.onWorkerMessage((data) => apply(data as CameraCommand))
    ctx.onWorkerCall((data) => apply(data as CameraCommand))
    schedule()
    ctx.log.info({ fps, frameBytes: settings.frameBytes }, 'camera started')

    return () => {
      clearInterval(timer)
      clearInterval(heartbeat)
    }
  },
})
