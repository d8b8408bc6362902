import { capability, curveKeyPair } from 'zeromq'
import { UsageError } from './args'
import { defineCommand } from './command'
import { CLI_EXIT, note } from './io'

const HELP = `Usage: zmq-container keygen [--prefix PREFIX] [--json]

Prints a new CURVE key pair from libzmq (zmq_curve_keypair): two 40-character Z85 keys, as
env lines:

  # CURVE key pair ... Keep ZMQ_CURVE_SECRET_KEY secret ...
  ZMQ_CURVE_PUBLIC_KEY='...'
  ZMQ_CURVE_SECRET_KEY='...'

The container reads keys per socket: with --prefix ZMQ_PUB the lines are
ZMQ_PUB_CURVE_PUBLIC_KEY and ZMQ_PUB_CURVE_SECRET_KEY, ready for the socket whose variables
start with ZMQ_PUB. Peers that connect to a CURVE server set their *_CURVE_SERVER_KEY to its
public key.

The values are single-quoted because Z85 uses # and $, which env-file readers (Docker Compose,
Node's --env-file, dotenv) would take as a comment or a variable. docker run --env-file keeps
quotes literally: strip them there, or use --json. The public key may be shared; the secret key
must stay secret (a Docker or Kubernetes secret, or a *_FILE variable; never a commit or an
image layer).

Options:
  --prefix PREFIX   name the variables PREFIX_CURVE_PUBLIC_KEY and PREFIX_CURVE_SECRET_KEY
                    (a socket's variable prefix: ZMQ_PUB, ZMQ_SUB_CONTROL, ...)
  --json            print {"publicKey": "...", "secretKey": "..."} instead
  -h, --help        show this help

Exit codes: 0 printed; 69 this libzmq build has no CURVE; 64 bad arguments.

Examples:
  zmq-container keygen --prefix ZMQ_PUB > camera-curve.env && chmod 600 camera-curve.env
  zmq-container keygen --json | jq -r .secretKey > camera.key   # for ZMQ_PUB_CURVE_SECRET_KEY_FILE`

export const keygen = defineCommand({
  name: 'keygen',
  summary: 'print a new CURVE key pair (Z85) in env format',
  help: HELP,
  options: {
    prefix: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { required: [] },
  async run({ values }, io) {
    const prefix = values.prefix ?? 'ZMQ'
    if (!/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(prefix))
      throw new UsageError(
        `--prefix is "${prefix}"; it must be upper-case letters and digits joined by single underscores, such as ZMQ_PUB`,
      )
    if (!capability.curve) {
      note(io, 'keygen', 'this libzmq build has no CURVE support')
      return CLI_EXIT.UNAVAILABLE
    }
    const { publicKey, secretKey } = curveKeyPair()
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ publicKey, secretKey })}\n`)
      return CLI_EXIT.OK
    }
    const secretName = `${prefix}_CURVE_SECRET_KEY`
    const lines = [
      `# CURVE key pair (Z85) from zmq-container keygen. Keep ${secretName} secret:`,
      '# anyone holding it can pose as this peer. The public key may be shared.',
    ]
    if (values.prefix === undefined)
      lines.push(
        '# The container reads keys per socket: rename these for one, such as',
        '# ZMQ_PUB_CURVE_PUBLIC_KEY and ZMQ_PUB_CURVE_SECRET_KEY (or use keygen --prefix ZMQ_PUB).',
      )
    lines.push(`${prefix}_CURVE_PUBLIC_KEY='${publicKey}'`, `${secretName}='${secretKey}'`, '')
    io.stdout.write(lines.join('\n'))
    return CLI_EXIT.OK
  },
})
