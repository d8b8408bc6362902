import { readFile } from 'node:fs/promises'
import { RequestClient } from '../client/request'
import { errorCode, ZcError } from '../shared/errors'
import { endpointArgument, integerOption, UsageError } from './args'
import { defineCommand } from './command'
import { toolCurve } from './curve-env'
import { CLI_EXIT, note } from './io'

const HELP = `Usage: zmq-container req ENDPOINT [PAYLOAD | --file F] [--timeout MS] [--retries N]

Sends one request to a REP socket (a container's ZMQ_REP_*_ENDPOINT) and prints the reply
payload. A request with no reply in time is sent again on a fresh socket (the "Lazy Pirate"
pattern), so a lost reply or a restarting server does not hang the command.

Security: with ZMQ_REQ_CURVE_PUBLIC_KEY, ZMQ_REQ_CURVE_SECRET_KEY and ZMQ_REQ_CURVE_SERVER_KEY
(the REP's public key; each also as _FILE) set, req connects as a CURVE client. The container
has no REQ socket of its own: the names follow its ZMQ_<SUB|PUB|REP>_CURVE_* pattern.

Options:
  --file F         send the contents of file F
  --timeout MS     wait this long for each reply (default 1000)
  --retries N      attempts after the first (default 3)
  -h, --help       show this help

Exit codes: 0 reply printed; 1 the server answered with an error (printed on stderr);
75 no reply after every retry; 66 --file unreadable; 64 bad arguments; 78 bad CURVE variables.

Examples:
  zmq-container req tcp://127.0.0.1:5556 '{"cmd":"get_fps"}'
  zmq-container req tcp://camera:5556 '{"cmd":"set_fps","fps":30}' --timeout 500 --retries 5`

export const req = defineCommand({
  name: 'req',
  summary: 'send a request to a REP socket and print the reply',
  help: HELP,
  options: {
    file: { type: 'string' },
    timeout: { type: 'string' },
    retries: { type: 'string' },
  },
  positionals: { required: ['ENDPOINT'], max: 2 },
  async run({ values, positionals }, io) {
    const [endpoint = '', inline] = positionals
    const target = endpointArgument(endpoint, 'connect')
    // A client that bound would wait for a REP to connect to it, which no container does.
    if (target.action === 'bind')
      throw new UsageError(
        `ENDPOINT ${JSON.stringify(endpoint)} binds (@), but req is a client: it connects to a REP socket. Drop the @.`,
      )
    if (inline !== undefined && values.file)
      throw new UsageError('give PAYLOAD or --file, not both')
    const timeoutMs =
      values.timeout === undefined ? 1000 : integerOption('--timeout', values.timeout, 1)
    const retries =
      values.retries === undefined ? 3 : integerOption('--retries', values.retries, 0, 1000)
    let payload: Buffer
    try {
      payload = values.file ? await readFile(values.file) : Buffer.from(inline ?? '')
    } catch (error) {
      note(io, 'req', `cannot read --file ${values.file}: ${errorCode(error)}`)
      return CLI_EXIT.NO_INPUT
    }
    const curve = toolCurve(io, 'req', 'ZMQ_REQ', [target])
    if (!curve) return CLI_EXIT.CONFIG_INVALID
    const client = new RequestClient(target.address, {
      ...(curve.curvePublicKey
        ? {
            curve: {
              publicKey: curve.curvePublicKey,
              secretKey: curve.curveSecretKey as string,
              serverKey: curve.curveServerKey as string,
            },
          }
        : {}),
      timeoutMs,
      retries,
      onRetry: (attempt) =>
        note(io, 'req', `no reply in ${timeoutMs} ms; retry ${attempt} of ${retries}`),
    })
    try {
      const reply = await client.request(payload)
      io.stdout.write(reply)
      io.stdout.write('\n')
      return CLI_EXIT.OK
    } catch (error) {
      if (!(error instanceof ZcError)) throw error
      note(io, 'req', error.message)
      return error.code === 'ZC_ERR_REQUEST_TIMEOUT' ? 75 : 1
    } finally {
      client.close()
    }
  },
})
