/**
 * Reconnect-gap peer: a bare zeromq.js SUB with the library's defaults (no reconnect option
 * set), connecting to argv[2] and printing one JSON line per message with its payload. The
 * bench times the lines as it reads them.
 */
import { Subscriber } from 'zeromq'

async function main(): Promise<void> {
  const [endpoint = '', topic = ''] = process.argv.slice(2)
  const sub = new Subscriber({ linger: 0 })
  sub.connect(endpoint)
  sub.subscribe(topic)
  process.once('SIGTERM', () => sub.close())
  process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`)
  try {
    for await (const [, payload] of sub)
      process.stdout.write(`${JSON.stringify({ event: 'message', payload: String(payload) })}\n`)
  } catch {
    // Closed by SIGTERM.
  }
}

void main()
