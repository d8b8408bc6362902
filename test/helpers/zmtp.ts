import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'

/**
 * A hand-written ZMTP 3.0 publisher (RFC 23, NULL mechanism) on a loopback TCP port, for peers
 * that libzmq would never be: one that sends garbage instead of a greeting, a frame header that
 * claims a terabyte, or half a multipart message before it hangs up. Each connection the
 * container's SUB makes is handed to the next function of `script`, in order.
 */
export class RawZmtpPublisher {
  readonly #server: Server
  readonly #script: Array<(peer: ZmtpConnection) => Promise<void>>
  readonly #sockets = new Set<Socket>()
  /** Errors thrown by a script step; a test checks this is empty at the end. */
  readonly errors: unknown[] = []
  /** Resolves when every script step has run to its end. */
  readonly done: Promise<void>
  #resolveDone: () => void = () => {}
  #next = 0
  #pending = 0
  port = 0

  constructor(script: Array<(peer: ZmtpConnection) => Promise<void>>) {
    this.#script = script
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve
    })
    this.#server = createServer((socket) => this.#onConnection(socket))
  }

  async listen(): Promise<this> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    const address = this.#server.address()
    if (address && typeof address === 'object') this.port = address.port
    return this
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${this.port}`
  }

  #onConnection(socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => {})
    const step = this.#script[this.#next++]
    // Past the script: hold the connection open and idle.
    if (!step) return
    this.#pending++
    step(new ZmtpConnection(socket))
      .catch((error: unknown) => this.errors.push(error))
      .finally(() => {
        if (--this.#pending === 0 && this.#next >= this.#script.length) this.#resolveDone()
      })
  }

  close(): void {
    for (const s of this.#sockets) s.destroy()
    this.#server.close()
  }
}

const FLAG_MORE = 0x01
const FLAG_LONG = 0x02
const FLAG_COMMAND = 0x04

/** One TCP connection, with buffered reads of exact sizes and ZMTP framing on top. */
export class ZmtpConnection {
  readonly socket: Socket
  #buffer = Buffer.alloc(0)
  #closed = false
  #wake: (() => void) | undefined

  constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#wake?.()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#wake?.()
    })
  }

  /** Exactly `n` bytes; rejects if the peer closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.#buffer.length < n) {
      if (this.#closed) throw new Error(`connection closed while waiting for ${n} bytes`)
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = undefined
    }
    const out = this.#buffer.subarray(0, n)
    this.#buffer = this.#buffer.subarray(n)
    return out
  }

  /** Resolves when the peer has closed the connection (or it was destroyed here). */
  async closed(): Promise<void> {
    if (this.#closed || this.socket.destroyed) return
    await once(this.socket, 'close')
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** The ZMTP 3.0 greeting, NULL mechanism. */
  static greeting(): Buffer {
    const g = Buffer.alloc(64)
    g[0] = 0xff
    g[9] = 0x7f
    g[10] = 3 // major
    g[11] = 0 // minor: 3.0, so subscriptions arrive as messages `\x01topic`
    g.write('NULL', 12, 'ascii')
    return g
  }

  static frame(body: Buffer, flags = 0): Buffer {
    if (body.length < 256) return Buffer.concat([Buffer.from([flags, body.length]), body])
    const size = Buffer.alloc(8)
    size.writeBigUInt64BE(BigInt(body.length))
    return Buffer.concat([Buffer.from([flags | FLAG_LONG]), size, body])
  }

  /** A frame header that announces `size` bytes, with no body: what a hostile peer might send. */
  static longHeader(size: bigint, flags = 0): Buffer {
    const header = Buffer.alloc(9)
    header[0] = flags | FLAG_LONG
    header.writeBigUInt64BE(size, 1)
    return header
  }

  async readFrame(): Promise<{ flags: number; body: Buffer }> {
    const [flags = 0] = await this.read(1)
    const size =
      flags & FLAG_LONG ? Number((await this.read(8)).readBigUInt64BE()) : (await this.read(1))[0]
    return { flags, body: await this.read(size ?? 0) }
  }

  /**
   * Greeting, READY as a PUB, the peer's READY, then its subscriptions until every one of
   * `topics` has arrived: from here on the SUB takes messages.
   */
  async handshakeAsPub(...topics: string[]): Promise<void> {
    this.write(ZmtpConnection.greeting())
    const theirs = await this.read(64)
    if (theirs[0] !== 0xff || theirs[9] !== 0x7f) throw new Error('peer sent no ZMTP greeting')
    const name = Buffer.from('Socket-Type')
    const value = Buffer.from('PUB')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(value.length)
    const ready = Buffer.concat([
      Buffer.from([5]),
      Buffer.from('READY'),
      Buffer.from([name.length]),
      name,
      length,
      value,
    ])
    this.write(ZmtpConnection.frame(ready, FLAG_COMMAND))
    const missing = new Set(topics)
    while (missing.size > 0) {
      const { flags, body } = await this.readFrame()
      if (flags & FLAG_COMMAND) {
        // ZMTP 3.1 peers send SUBSCRIBE commands: `\x09SUBSCRIBE` then the topic.
        if (body.subarray(1, 10).toString() === 'SUBSCRIBE')
          missing.delete(body.subarray(10).toString())
        continue
      }
      if (body[0] === 1) missing.delete(body.subarray(1).toString())
    }
  }

  /** One message: every frame but the last with MORE set. */
  sendMessage(frames: Array<string | Buffer>): void {
    frames.forEach((f, i) => {
      const body = typeof f === 'string' ? Buffer.from(f) : f
      this.write(ZmtpConnection.frame(body, i < frames.length - 1 ? FLAG_MORE : 0))
    })
  }

  destroy(): void {
    this.socket.destroy()
  }
}

export { FLAG_MORE }
