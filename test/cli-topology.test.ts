// `zmq-container check FILE...`: several containers (env files or a compose file) checked as one
// system. Each finding has a deliberately broken pair of env files.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { runCli } from './helpers/cli'
import { writeEnvFile } from './helpers/env-file'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-topology-'))

/** `<dir>/<name>/.env`, so the container is called `name`, as examples/camera/.env is camera. */
function container(name: string, lines: Record<string, string>): string {
  return writeEnvFile(path.join(dir, name, '.env'), lines)
}

interface Finding {
  severity: string
  kind: string
  file: string
  variable: string
  message: string
}
interface TopologyReport {
  status: string
  containers: Array<{ name: string; sockets: Array<{ kind: string; topics: string[] }> }>
  links: Array<{ from: { container: string }; to: { container: string }; address: string }>
  findings: Finding[]
}

async function checkJson(files: string[]) {
  const result = await runCli(['check', ...files, '--json'])
  return { ...result, report: JSON.parse(result.stdout) as TopologyReport }
}

const camera = (over: Record<string, string> = {}) => ({
  ZMQ_SUB_ENDPOINT: 'tcp://dashboard:6000',
  ZMQ_SUB_TOPICS: 'camera.cmd',
  ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
  ZMQ_PUB_TOPICS: 'camera.frame,camera.heartbeat',
  ...over,
})
const dashboard = (over: Record<string, string> = {}) => ({
  ZMQ_SUB_ENDPOINT: 'tcp://camera:5555',
  ZMQ_SUB_TOPICS: 'camera.frame,camera.heartbeat',
  ZMQ_SUB_CLASS: 'telemetry',
  ZMQ_PUB_ENDPOINT: 'tcp://*:6000',
  ZMQ_PUB_TOPICS: 'camera.cmd',
  ZMQ_PUB_CLASS: 'control',
  ...over,
})

describe('zmq-container check FILE... (topology)', () => {
  it('passes the examples as env files, with a link each way (exit 0)', async () => {
    const files = ['examples/camera/.env', 'examples/dashboard/.env']
    const { code, stdout, stderr } = await runCli(['check', ...files])
    assert.equal(code, 0, stdout + stderr)
    assert.match(stdout, /^topology: 2 containers/)
    assert.match(stdout, /^ {2}camera SUB sub -> dashboard PUB pub via tcp:\/\/dashboard:6000$/m)
    assert.match(stdout, /^ {2}dashboard SUB sub -> camera PUB pub via tcp:\/\/camera:5555$/m)
    // Two containers, not one merged: the camera's REP is not among the dashboard's sockets.
    const { report } = await checkJson(files)
    const dash = report.containers.find((c) => c.name === 'dashboard')
    assert.deepEqual(dash?.sockets.map((s) => s.kind).sort(), ['pub', 'sub'])
  })

  it('passes compose.yaml: env_file, then environment, service names as hosts (exit 0)', async () => {
    const { code, report, stderr } = await checkJson(['compose.yaml'])
    assert.equal(code, 0, stderr + JSON.stringify(report.findings))
    assert.deepEqual(report.containers.map((c) => c.name).sort(), ['camera', 'dashboard'])
    assert.equal(report.links.length, 2)
  })

  it('merges a compose file as Compose does: anchors, env_file order, environment list and map, $VAR interpolation; leaves out services without ZMQ_*', async () => {
    const base = container('composed-base', {
      ZMQ_PUB_ENDPOINT: 'tcp://*:7000',
      ZMQ_PUB_TOPICS: 'a.b',
    })
    const over = container('composed-over', { ZMQ_PUB_TOPICS: 'a.c' })
    const compose = path.join(dir, 'compose.yaml')
    writeFileSync(
      compose,
      [
        'x-common: &common',
        '  environment:',
        '    ZMQ_PUB_CLASS: logging',
        'services:',
        '  producer:',
        '    <<: *common',
        '    env_file:',
        `      - ${path.relative(dir, base)}`,
        `      - path: ${path.relative(dir, over)}`,
        '      - path: absent.env',
        '        required: false',
        '  db:',
        '    image: postgres',
        '    environment: [POSTGRES_PASSWORD=x]',
        '  consumer:',
        '    environment:',
        '      - ZMQ_SUB_ENDPOINT=tcp://producer:7000',
        '      - ZMQ_SUB_TOPICS=a.c',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's own syntax
        '      - ZMQ_SUB_CLASS=${CONSUMER_CLASS:-logging}',
        '',
      ].join('\n'),
    )
    const { code, report, stderr } = await checkJson([compose])
    assert.equal(code, 0, stderr + JSON.stringify(report.findings))
    assert.deepEqual(report.containers.map((c) => c.name).sort(), ['consumer', 'producer'])
    const producer = report.containers.find((c) => c.name === 'producer')
    assert.deepEqual(producer?.sockets[0]?.topics, ['a.c'])
    assert.equal(report.links[0]?.address, 'tcp://producer:7000')
  })

  const broken: Array<{
    name: string
    files: () => string[]
    kind: string
    severity: 'error' | 'warning'
    variable: string
    container: string
    message: RegExp
  }> = [
    {
      name: 'a connect that reaches no binder',
      files: () => [
        container('c1/camera', camera()),
        container('c1/dashboard', dashboard({ ZMQ_SUB_ENDPOINT: 'tcp://camera:5557' })),
      ],
      kind: 'unreached-connect',
      severity: 'error',
      variable: 'ZMQ_SUB_ENDPOINT',
      container: 'dashboard',
      message: /connects to tcp:\/\/camera:5557, which no container in the set binds/,
    },
    {
      name: 'a subscribed topic nobody publishes',
      files: () => [
        container('c2/camera', camera()),
        container('c2/dashboard', dashboard({ ZMQ_SUB_TOPICS: 'camera.frame,camera.status' })),
      ],
      kind: 'no-publisher',
      severity: 'error',
      variable: 'ZMQ_SUB_TOPICS',
      container: 'dashboard',
      message: /subscribes to camera\.status, which no publisher in the set declares/,
    },
    {
      name: 'a subscriber and publisher of different classes',
      files: () => [
        container('c3/camera', camera()),
        container('c3/dashboard', dashboard({ ZMQ_SUB_CLASS: 'control' })),
      ],
      kind: 'class-mismatch',
      severity: 'error',
      variable: 'ZMQ_SUB_CLASS',
      container: 'dashboard',
      message: /is control, but its publisher camera PUB pub .* is telemetry/,
    },
    {
      name: 'two containers binding one address',
      files: () => [
        container('c4/camera', camera({ ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:5555' })),
        container(
          'c4/dashboard',
          dashboard({
            ZMQ_PUB_ENDPOINT: 'tcp://127.0.0.1:5555',
          }),
        ),
      ],
      kind: 'duplicate-bind',
      severity: 'error',
      variable: 'ZMQ_PUB_ENDPOINT',
      container: 'dashboard',
      message: /binds tcp:\/\/127\.0\.0\.1:5555, which camera PUB pub .* binds too/,
    },
    {
      name: 'a SUB connecting to a REP',
      files: () => [
        container('c5/camera', camera({ ZMQ_REP_ENDPOINT: 'tcp://*:5556' })),
        container(
          'c5/dashboard',
          dashboard({ ZMQ_SUB_ENDPOINT: 'tcp://camera:5555,tcp://camera:5556' }),
        ),
      ],
      kind: 'kind-mismatch',
      severity: 'error',
      variable: 'ZMQ_SUB_ENDPOINT',
      container: 'dashboard',
      message: /a SUB cannot talk to a REP/,
    },
    {
      name: 'a declared topic nobody subscribes to',
      files: () => [
        container(
          'c6/camera',
          camera({ ZMQ_PUB_TOPICS: 'camera.frame,camera.heartbeat,camera.debug' }),
        ),
        container('c6/dashboard', dashboard()),
      ],
      kind: 'unsubscribed-topic',
      severity: 'warning',
      variable: 'ZMQ_PUB_TOPICS',
      container: 'camera',
      message: /declares camera\.debug, but no subscriber in the set takes it/,
    },
    {
      name: 'a prefix subscription that matches nothing',
      files: () => [
        container('c7/camera', camera()),
        container(
          'c7/dashboard',
          dashboard({ ZMQ_SUB_TOPICS: 'camera.frame,camera.heartbeat,lidar.' }),
        ),
      ],
      kind: 'prefix-matches-nothing',
      severity: 'warning',
      variable: 'ZMQ_SUB_TOPICS',
      container: 'dashboard',
      message: /the prefix lidar\., but no topic its publishers declare starts with it/,
    },
  ]
  for (const b of broken) {
    it(`finds ${b.name}: ${b.severity} ${b.kind}, naming the file and ${b.variable}`, async () => {
      const files = b.files()
      const { code, report } = await checkJson(files)
      const hits = report.findings.filter((f) => f.kind === b.kind)
      assert.equal(hits.length, 1, JSON.stringify(report.findings, null, 2))
      const hit = hits[0] as Finding
      assert.equal(hit.severity, b.severity)
      assert.equal(hit.variable, b.variable)
      assert.equal(
        hit.file,
        files.find((f) => f.includes(`/${b.container}/`)),
      )
      assert.match(hit.message, b.message)
      assert.equal(code, b.severity === 'error' ? 78 : 2)
      // The text form: one line naming the file and the variable.
      const text = await runCli(['check', ...files])
      assert.equal(text.code, code)
      const out = b.severity === 'error' ? text.stderr : text.stdout
      const prefix = b.severity === 'error' ? 'zmq-container: ' : 'warning: '
      assert.ok(
        out.split('\n').some((l) => l.startsWith(`${prefix}${hit.file}: ${b.variable}: `)),
        out,
      )
    })
  }

  it('reports each container’s own errors under its file, and exits 78', async () => {
    const bad = container('c9/dashboard', dashboard({ ZMQ_SUB_CLASS: 'fast' }))
    const { code, report } = await checkJson([container('c9/camera', camera()), bad])
    assert.equal(code, 78)
    assert.ok(report.findings.some((f) => f.file === bad && f.variable === 'ZMQ_SUB_CLASS'))
  })

  it('exits 66 on a file that cannot be read, and 64 on FILE with --env-file', async () => {
    const missing = await runCli(['check', 'examples/camera/.env', path.join(dir, 'nope.env')])
    assert.equal(missing.code, 66)
    assert.match(missing.stderr, /cannot read .*nope\.env/)
    const both = await runCli([
      'check',
      'examples/camera/.env',
      '--env-file',
      'examples/dashboard/.env',
    ])
    assert.equal(both.code, 64)
  })

  it('keeps the single-container check for one env file', async () => {
    const { code, stdout } = await runCli(['check', 'examples/camera/.env'])
    assert.equal(code, 0)
    assert.match(stdout, /^configuration: examples\/camera\/\.env over the environment/)
  })
})
