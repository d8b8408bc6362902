// The container-side service of the benchmarks (ZC_SERVICE=bench/services/bench.js): every
// socket's handler does the shared per-message work of core.js, and with BENCH_RELAY=1 it also
// republishes each message as relay.data / relay.end through ctx.publish, that is through the
// main thread's PUB socket. Results go out as a `bench result` log line.
const { createReceiver, optionsFromEnv } = require('./core.js')

const receivers = new Map()

function receiverFor(socket, ctx) {
  let receiver = receivers.get(socket)
  if (!receiver) {
    receiver = createReceiver({
      ...optionsFromEnv(socket),
      onResult: (result) => ctx.log.info({ bench: result }, 'bench result'),
    })
    receivers.set(socket, receiver)
  }
  return receiver
}

const relay = process.env.BENCH_RELAY === '1'

module.exports = {
  handlers: {
    '*': (message, ctx) => {
      const receiver = receiverFor(message.socket, ctx)
      if (message.topic.endsWith('.end')) {
        receiver.end()
        if (relay) ctx.publish('relay.end', message.payload)
        return
      }
      receiver.data(message.payload)
      if (relay) ctx.publish('relay.data', message.payload)
    },
  },
}
