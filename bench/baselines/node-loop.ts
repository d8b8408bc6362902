/**
 * Baseline: raw zeromq.js, every SUB socket on the one main event loop (`for (;;) await
 * receive()` per socket), the design a user writes first. With `yield`, each message is
 * followed by `await setImmediate`, so other sockets get a turn.
 */
import { setImmediate as yieldTurn } from 'node:timers/promises'
import { Publisher, Subscriber } from 'zeromq'
import { core, emit, hangForever, isEndTopic, readSpec } from './spec'

const spec = readSpec()

async function main(): Promise<void> {
  let pub: Publisher | undefined
  if (spec.relay) {
    pub = new Publisher({ linger: 0 })
    await pub.bind('tcp://127.0.0.1:*')
    emit({ event: 'relay', endpoint: pub.lastEndpoint })
  }
  const subs = spec.sockets.map((s) => {
    const sub = new Subscriber({ linger: 0 })
    sub.connect(s.endpoint)
    sub.subscribe(`${s.component}.data`)
    sub.subscribe(`${s.component}.end`)
    return { s, sub }
  })
  const stop = () => {
    for (const { sub } of subs) sub.close()
    pub?.close()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  emit({ event: 'ready' })
  await Promise.all(
    subs.map(async ({ s, sub }, i) => {
      const receiver = core.createReceiver({
        ...core.optionsFromEnv(s.name),
        onResult: (result) => emit({ event: 'result', ...result }),
      })
      const relay = i === 0 ? pub : undefined
      for (;;) {
        let frames: Buffer[]
        try {
          frames = await sub.receive()
        } catch (error) {
          if (sub.closed) return
          throw error
        }
        const [topic, payload] = frames as [Buffer, Buffer]
        if (isEndTopic(topic)) {
          receiver.end()
          if (relay) await relay.send(['relay.end', payload])
          continue
        }
        if (spec.hang) hangForever(emit)
        receiver.data(payload)
        if (relay) await relay.send(['relay.data', payload])
        if (spec.yield) await yieldTurn()
      }
    }),
  )
  // Every socket is closed: nothing native is in flight, so exiting is safe.
  process.exit(0)
}

void main()
