// Typed topics: a service declares its topics' codecs once; handlers get decoded, typed data, and
// a payload its codec cannot decode is a counted drop (decode_error), never a handler call.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { codecs, defineTypedService } from '../src/index'
import type { HandlerContext, Message, Payload } from '../src/shared/service'
import { startContainer } from '../src/testing'
import { fixtureService } from './helpers/container'
import { metricSum, parsePrometheus } from './helpers/http'

describe('defineTypedService', () => {
  it('decodes JSON, raw and custom payloads; publish encodes; bad payloads are decode_error drops', async () => {
    const container = await startContainer({
      service: fixtureService('typed'),
      env: { ZMQ_SUB_TOPICS: 'robot.', ZMQ_PUB_TOPICS: 'robot.ack', LOG_LEVEL: 'fatal' },
    })
    const count = Buffer.alloc(4)
    count.writeUInt32BE(42)
    try {
      await container.publish('robot.cmd', '{"speed":3}')
      assert.deepEqual(JSON.parse(String((await container.receive()).payload)), {
        ok: true,
        speed: 3,
      })
      await container.publish('robot.cmd', 'not json') // the JSON codec fails
      await container.publish('robot.count', 'abc') // the custom codec fails: 3 bytes
      await container.publish('robot.other', '{}') // subscribed (robot.), but no codec
      await container.publish('robot.frame', Buffer.from([0, 1, 2]))
      await container.publish('robot.count', count)
      await container.nextMessage((d) => (d as { topic: string }).topic === 'robot.count')
    } finally {
      await container.close()
    }
    assert.deepEqual(
      container.messages.map((m) => m.data),
      [
        { topic: 'robot.cmd', data: { speed: 3 } },
        { topic: 'robot.frame', data: '3 bytes' },
        { topic: 'robot.count', data: 42 },
      ],
    )
    const counts = container.counters().sub
    assert.equal(counts?.received, 6)
    assert.equal(counts?.handled, 3)
    assert.equal(counts?.dropped.decode_error, 3)
    assert.equal(counts?.dropped.handler_error, 0, 'a bad payload is not a handler error')
    const families = parsePrometheus(await container.metrics())
    assert.equal(
      metricSum(families, 'zc_messages_dropped_total', { socket: 'sub', reason: 'decode_error' }),
      3,
    )
    assert.equal(metricSum(families, 'zc_handler_errors_total', { socket: 'sub' }), 0)
  })

  for (const mode of ['inline', 'pool'] as const) {
    it(`${mode}: goes on after a decode drop, and the next good message is handled`, async () => {
      const container = await startContainer({
        service: fixtureService('typed'),
        env: {
          ZMQ_SUB_TOPICS: 'robot.cmd',
          LOG_LEVEL: 'fatal',
          // Pool mode runs the handler in a piscina thread: the drop reason must survive the trip.
          ...(mode === 'pool' ? { ZMQ_SUB_POOL_THREADS: '1' } : {}),
        },
      })
      try {
        await container.publish('robot.cmd', '{oops')
        await container.publish('robot.cmd', '{"speed":1}')
        await container.nextMessage()
      } finally {
        await container.close()
      }
      const counts = container.counters().sub
      assert.equal(counts?.dropped.decode_error, 1)
      assert.equal(counts?.dropped.handler_error, 0)
      assert.equal(counts?.handled, 1)
    })
  }
})

describe('typed handler context', () => {
  it("reads ctx.log only when the handler does (its first read loads pino), and is made once per thread's context", () => {
    let logReads = 0
    const logger = { info: () => {} }
    const published: Array<[string, Payload]> = []
    const ctx = {
      publish: (topic: string, payload: Payload) => {
        published.push([topic, payload])
      },
      toMain: () => {},
      callMain: async () => undefined,
      get log() {
        logReads++
        return logger
      },
      socket: { name: 'sub' },
    } as unknown as HandlerContext
    const seen: HandlerContext[] = []
    const service = defineTypedService(
      { 'robot.cmd': codecs.json<{ speed: number }>() },
      {
        handlers: {
          sub: (message, typedCtx) => {
            seen.push(typedCtx as unknown as HandlerContext)
            typedCtx.publish('robot.cmd', { speed: message.data.speed + 1 })
          },
        },
      },
    )
    const handler = service.handlers?.sub
    assert.ok(handler)
    const message = (speed: number): Message => ({
      topic: 'robot.cmd',
      payload: Buffer.from(JSON.stringify({ speed })),
      socket: 'sub',
      latencyClass: 'control',
      receivedAt: 0,
    })
    void handler(message(1), ctx)
    void handler(message(2), ctx)
    assert.equal(logReads, 0, 'building the typed context read ctx.log')
    assert.equal(seen[0], seen[1], 'one typed context, not one per message')
    assert.equal(seen[0]?.log, logger)
    assert.equal(logReads, 1)
    assert.equal(seen[0]?.socket, ctx.socket)
    assert.deepEqual(
      published.map(([topic, payload]) => [topic, String(payload)]),
      [
        ['robot.cmd', '{"speed":2}'],
        ['robot.cmd', '{"speed":3}'],
      ],
    )
  })
})

// Type checks only (tsc runs over the tests in `npm run lint`); never called.
export function typedServiceTypes(): void {
  const topics = { 'robot.cmd': codecs.json<{ speed: number }>(), 'robot.frame': codecs.raw() }
  defineTypedService(topics, {
    handlers: {
      sub: (message, ctx) => {
        if (message.topic === 'robot.cmd') {
          const speed: number = message.data.speed
          ctx.publish('robot.cmd', { speed })
        } else {
          const frame: Buffer = message.data
          ctx.publish('robot.frame', frame)
        }
        // @ts-expect-error speed is a number
        ctx.publish('robot.cmd', { speed: 'fast' })
        // @ts-expect-error a topic with no codec
        ctx.publish('robot.nope', {})
        ctx.publishRaw('robot.nope', 'bytes as they are')
      },
    },
    start(ctx) {
      // @ts-expect-error a raw topic takes bytes, not an object
      ctx.publish('robot.frame', { not: 'bytes' })
      return () => {}
    },
  })
}
