// One bare receive worker of node-workers.ts.
import { parentPort, workerData } from 'node:worker_threads'
import { Publisher, Subscriber } from 'zeromq'
import { core, hangForever, isEndTopic } from './spec'

const { socket, relay, hang } = workerData as {
  socket: { name: string; endpoint: string; component: string }
  relay: boolean
  hang: boolean
}
const port = parentPort as NonNullable<typeof parentPort>
const post = (event: object) => port.postMessage(event)

async function main(): Promise<void> {
  const sub = new Subscriber({ linger: 0 })
  sub.connect(socket.endpoint)
  sub.subscribe(`${socket.component}.data`)
  sub.subscribe(`${socket.component}.end`)
  let pub: Publisher | undefined
  if (relay) {
    pub = new Publisher({ linger: 0 })
    await pub.bind('tcp://127.0.0.1:*')
    post({ event: 'relay', endpoint: pub.lastEndpoint })
  }
  port.on('message', () => {
    sub.close()
    pub?.close()
  })
  const receiver = core.createReceiver({
    ...core.optionsFromEnv(socket.name),
    onResult: (result) => post({ event: 'result', ...result }),
  })
  post({ event: 'ready' })
  for (;;) {
    let frames: Buffer[]
    try {
      frames = await sub.receive()
    } catch (error) {
      if (sub.closed) break
      throw error
    }
    const [topic, payload] = frames as [Buffer, Buffer]
    if (isEndTopic(topic)) {
      receiver.end()
      if (pub) await pub.send(['relay.end', payload])
      continue
    }
    if (hang) hangForever(post)
    receiver.data(payload)
    if (pub) await pub.send(['relay.data', payload])
  }
  // Socket closed: let the thread end by itself (never process.exit in a worker).
  port.close()
}

void main()
