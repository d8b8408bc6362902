/**
 * The publisher protocol of bench/peers/zpub.c in zeromq.js, used only when the C peers cannot
 * be built: STREAM = endpoint|topics|size|rate|count|nodrop. Slower than the C publisher, and
 * its pacing spins on setImmediate, so it takes CPU from the receiver on this 2-core machine.
 */
import { createInterface } from 'node:readline'
import { setImmediate as turn } from 'node:timers/promises'
import { XPublisher } from 'zeromq'
import { emit } from './spec'

interface Stream {
  sock: XPublisher
  topics: string[]
  size: number
  rate: number
  count: number
  sent: number
}

async function main(): Promise<void> {
  const streams: Stream[] = []
  for (const [i, spec] of process.argv.slice(2).entries()) {
    const [endpoint, topics, size, rate, count, nodrop] = spec.split('|') as string[] as [
      string,
      string,
      string,
      string,
      string,
      string,
    ]
    // Loss-free without ZMQ_XPUB_NODROP: with noDrop, a zeromq.js send that meets the
    // high-water mark never resolved here. An unlimited queue loses nothing either; it only
    // holds what the receiver has not taken yet in this process's memory.
    const sock = new XPublisher({ linger: 0, ...(nodrop === '1' ? { sendHighWaterMark: 0 } : {}) })
    await sock.bind(endpoint)
    emit({ event: 'endpoint', stream: i, endpoint: sock.lastEndpoint })
    streams.push({
      sock,
      topics: topics.split(','),
      size: Math.max(16, Number(size)),
      rate: Number(rate),
      count: Number(count),
      sent: 0,
    })
  }
  let stopped = false
  process.once('SIGTERM', () => {
    stopped = true
    for (const s of streams) s.sock.close()
  })
  for (const s of streams) {
    const wanted = new Set(s.topics.map((t) => `${t}.data`))
    while (wanted.size > 0) {
      const [frame] = await s.sock.receive()
      if (frame?.[0] === 1) wanted.delete(frame.subarray(1).toString())
    }
  }
  emit({ event: 'subscribed' })
  await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve))
  const start = process.hrtime.bigint()
  await Promise.all(
    streams.map(async (s) => {
      const interval = s.rate > 0 ? BigInt(Math.round(1e9 / s.rate)) : 0n
      while (!stopped && (s.count === 0 || s.sent < s.count)) {
        if (interval)
          while (process.hrtime.bigint() < start + BigInt(s.sent) * interval) await turn()
        const payload = Buffer.alloc(s.size)
        payload.writeBigUInt64LE(process.hrtime.bigint(), 0)
        payload.writeBigUInt64LE(BigInt(s.sent), 8)
        await s.sock.send([`${s.topics[s.sent % s.topics.length]}.data`, payload])
        s.sent++
      }
      for (const t of s.topics) if (!stopped) await s.sock.send([`${t}.end`, Buffer.alloc(s.size)])
    }),
  )
  emit({
    event: 'done',
    elapsedNs: Number(process.hrtime.bigint() - start),
    sent: streams.map((s) => s.sent),
  })
}

void main().catch((error) => {
  if (!String(error).includes('closed')) process.stderr.write(`${String(error)}\n`)
})
