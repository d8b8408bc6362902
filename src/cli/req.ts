import { readFile } from 'node:fs/promises'
import { RequestClient } from '../client/request'
import { errorCode, ZcError } from '../shared/errors'
import {
  endpointArgument,
  expectPositionals,
  integerOption,
  parseCommandArgs,
  UsageError,
} from './args'
import { CLI_EXIT, type Command, note } from './io'

const HELP = `Usage: zmq-container req ENDPOINT [PAYLOAD | --file F] [--timeout MS] [--retries N]

Sends one request to a REP socket (a container's ZMQ_REP_*_ENDPOINT) and prints the reply
payload. A request with no reply in time is sent again on a fresh socket (the "Lazy Pirate"
pattern), so a lost reply or a restarting server does not hang the command.

Options:
  --file F         send the contents of file F
  --timeout MS     wait this long for each reply (default 1000)
  --retries N      attempts after the first (default 3)
  -h, --help       show this help

Exit codes: 0 reply printed; 1 the server answered with an error (printed on stderr);
75 no reply after every retry; 66 --file unreadable; 64 bad arguments.

Examples:
  zmq-container req tcp://127.0.0.1:5556 '{"cmd":"get_fps"}'
  zmq-container req tcp://camera:5556 '{"cmd":"set_fps","fps":30}' --timeout 500 --retries 5`

export const req: Command = {
  name: 'req',
  summary: 'send a request to a REP socket and print the reply',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      file: { type: 'string' },
      timeout: { type: 'string' },
      retries: { type: 'string' },
    })
    expectPositionals(positionals, ['ENDPOINT'], 2)
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
    const client = new RequestClient(target.address, {
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
}
