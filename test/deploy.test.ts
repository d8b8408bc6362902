// The deployment files, checked without a Docker engine: compose.yaml against the Compose
// Specification schema, the Dockerfile by a linter and by what the image must do, the Kubernetes
// manifests by their API schemas and by how they wire the containers together, and the image's
// start command run outside Docker the way compose wires it.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import ignore from '@balena/dockerignore'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import {
  type Copy,
  DockerfileParser,
  type Instruction,
  JSONInstruction,
  type ModifiableInstruction,
} from 'dockerfile-ast'
import { validate as lintDockerfile } from 'dockerfile-utils'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { parseAllDocuments, parse as parseYaml } from 'yaml'
import { curveKeyPair } from 'zeromq'
import { type Config, loadConfig } from '../src/shared/config'
import { ROOT } from './helpers/container'
import { LogProcess } from './helpers/log-process'

const COMPOSE_SCHEMA = path.join(ROOT, '..', 'shared', 'schemas', 'compose-spec.json')
const K8S = path.join(ROOT, 'deploy', 'k8s')
const CURVE = path.join(K8S, 'components', 'curve')
const HEALTH_PORT = '9464'
/**
 * What an orchestrator must allow beyond the join deadline and the socket linger: the service's
 * stop function, closing sockets, and the process exit.
 */
const SHUTDOWN_MARGIN_MS = 1000

type Env = Record<string, string>

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')
const readEnvFile = (file: string) => parseEnv(readFileSync(file, 'utf8')) as Env

/** How long an orderly stop may take, at most, for a container with this config. */
const shutdownDeadlineMs = (config: Config) =>
  config.shutdownTimeoutMs + config.lingerMs + SHUTDOWN_MARGIN_MS

/** Compose durations are Go durations: `5s`, `1m30s`, `500ms`. */
function durationMs(text: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)]
  assert.equal(parts.map((p) => p[0]).join(''), text, `${text} is a duration`)
  return parts.reduce(
    (sum, [, n, unit]) => sum + Number(n) * (units[unit as string] ?? Number.NaN),
    0,
  )
}

/**
 * Checks that containers find each other: every tcp endpoint a socket connects to names a peer
 * (a compose service or a Kubernetes Service) that binds that port, and every topic a SUB asks
 * for is one that the peer's PUB declares.
 */
function wiringProblems(
  containers: ReadonlyArray<{ name: string; config: Config }>,
  resolve: (host: string, port: string) => string | undefined,
): string[] {
  const problems: string[] = []
  for (const { name, config } of containers) {
    for (const socket of config.sockets) {
      for (const e of socket.endpoints) {
        const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(e.address)
        if (e.action !== 'connect' || !m) continue
        const [, host = '', port = ''] = m
        const peerName = resolve(host, port)
        const peer = containers.find((c) => c.name === peerName)
        if (!peer) {
          problems.push(`${name}: ${socket.envPrefix}_ENDPOINT ${e.address} reaches no container`)
          continue
        }
        const publisher = peer.config.sockets.find(
          (s) =>
            s.kind !== socket.kind &&
            s.endpoints.some((b) => b.action === 'bind' && b.address === `tcp://*:${port}`),
        )
        if (!publisher) {
          problems.push(`${name}: ${e.address}: ${peer.name} binds no tcp://*:${port}`)
          continue
        }
        for (const topic of socket.topics) {
          const declared = topic.endsWith('.')
            ? publisher.topics.some((t) => t.startsWith(topic))
            : publisher.topics.includes(topic)
          if (!declared)
            problems.push(`${name} subscribes ${topic}, which ${peer.name}'s PUB does not declare`)
        }
      }
    }
  }
  return problems
}

// --- Compose -----------------------------------------------------------------------------------

interface ComposeService {
  env_file?: string | Array<string | { path: string }>
  environment?: Env | string[]
  stop_grace_period?: string
  healthcheck?: { test?: string[] }
  init?: boolean
  networks?: string[]
  build?: { context: string; args?: Env }
  image?: string
}

const compose = parseYaml(read('compose.yaml'), { merge: true }) as {
  services: Record<string, ComposeService>
  networks?: Record<string, { driver?: string }>
}

/** A compose service's environment as Compose computes it: env files, then `environment`. */
function composeEnv(service: ComposeService): Env {
  const files = [service.env_file ?? []].flat().map((f) => (typeof f === 'string' ? f : f.path))
  const env: Env = {}
  for (const file of files) Object.assign(env, readEnvFile(path.join(ROOT, file)))
  const environment = service.environment ?? {}
  if (Array.isArray(environment)) {
    for (const entry of environment) {
      const [key = '', ...value] = entry.split('=')
      env[key] = value.join('=')
    }
  } else Object.assign(env, environment)
  return env
}

describe('compose.yaml', () => {
  it('validates against the Compose Specification schema', (t) => {
    if (!existsSync(COMPOSE_SCHEMA)) {
      t.skip(`${COMPOSE_SCHEMA} is absent (the shared folder is not checked out here)`)
      return
    }
    const ajv = new Ajv({ strict: false, allErrors: true })
    addFormats(ajv)
    // Formats the schema may name that ajv-formats lacks (see shared/schemas/README.md).
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/)
    ajv.addFormat('expose', true)
    ajv.addFormat('ports', true)
    // The schema is draft-07 (ajv's default) but names it by an https URL ajv does not know.
    const { $schema: _draft, ...schema } = JSON.parse(
      readFileSync(COMPOSE_SCHEMA, 'utf8'),
    ) as Record<string, unknown>
    const validate = ajv.compile(schema)
    const valid = validate(compose)
    assert.ok(valid, ajv.errorsText(validate.errors, { separator: '\n' }))
  })

  it('passes `docker compose config` where the compose plugin exists', (t) => {
    const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' })
    if (version.error || version.status !== 0) {
      t.skip('no docker compose plugin here (the docker client alone has no `compose`)')
      return
    }
    const result = spawnSync('docker', ['compose', '-f', 'compose.yaml', 'config', '--quiet'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    assert.equal(result.status, 0, result.stderr)
  })

  it('runs the seed topology: camera and dashboard on one bridge network, one image', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['camera', 'dashboard'])
    assert.equal(compose.networks?.vision?.driver, 'bridge')
    const images = new Set(Object.values(compose.services).map((s) => s.image))
    assert.equal(images.size, 1, 'one image serves every service')
    for (const [name, service] of Object.entries(compose.services)) {
      assert.deepEqual(service.networks, ['vision'], name)
      assert.equal(service.init, true, `${name}: init`)
      assert.equal(service.build?.context, '.', `${name}: built from the repository`)
      const test = service.healthcheck?.test ?? []
      assert.equal(test[0], 'CMD', `${name}: exec-form healthcheck`)
      assert.ok(test.includes('/app/scripts/healthcheck.js'), `${name}: the image's check`)
      assert.ok(!test.join(' ').match(/curl|wget/), `${name}: no curl`)
    }
  })

  for (const [name, service] of Object.entries(compose.services)) {
    it(`${name}: env files exist and load as a valid configuration`, () => {
      for (const f of [service.env_file ?? []].flat()) {
        const file = typeof f === 'string' ? f : f.path
        assert.ok(existsSync(path.join(ROOT, file)), `${file} exists`)
      }
      const env = composeEnv(service)
      const config = loadConfig(env)
      assert.equal(config.service, name, 'ZC_SERVICE names the service')
      assert.equal(env.HTTP_PORT, HEALTH_PORT)
    })

    it(`${name}: stop_grace_period is above the container's shutdown deadline`, () => {
      const config = loadConfig(composeEnv(service))
      const graceMs = durationMs(service.stop_grace_period ?? '10s')
      assert.ok(
        graceMs > shutdownDeadlineMs(config),
        `stop_grace_period ${graceMs} ms must exceed ZC_SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} + ZMQ_LINGER_MS ${config.lingerMs} + ${SHUTDOWN_MARGIN_MS}`,
      )
    })
  }

  it('becomes ready on its own: no readyz health check waits for peers', () => {
    // `depends_on: condition: service_healthy` or `up --wait` would otherwise wait on a pair
    // of containers that each wait for the other (see deploy/k8s).
    for (const [name, service] of Object.entries(compose.services)) {
      const config = loadConfig(composeEnv(service))
      assert.equal(config.readyRequiresPeers, false, `${name}: ZC_READY_REQUIRES_PEERS`)
    }
  })

  it('wires every connect to a service that binds it, with declared topics', () => {
    const containers = Object.entries(compose.services).map(([name, s]) => ({
      name,
      config: loadConfig(composeEnv(s)),
    }))
    // On the compose network a service's name is its host name.
    assert.deepEqual(
      wiringProblems(containers, (host) => host),
      [],
    )
  })
})

// --- Dockerfile --------------------------------------------------------------------------------

interface Stage {
  name: string | null
  image: string
  instructions: Instruction[]
}

const dockerfileText = read('Dockerfile')
const dockerfile = DockerfileParser.parse(dockerfileText)
const stages: Stage[] = []
for (const instruction of dockerfile.getInstructions()) {
  if (instruction.getKeyword() === 'FROM') {
    const from = dockerfile.getFROMs()[stages.length]
    stages.push({
      name: from?.getBuildStage() ?? null,
      image: from?.getImage() ?? '',
      instructions: [],
    })
  }
  stages.at(-1)?.instructions.push(instruction)
}
const runtime = stages.at(-1) as Stage
const inRuntime = (keyword: string) =>
  runtime.instructions.filter((i) => i.getKeyword() === keyword)
/** The exec-form arguments of CMD, ENTRYPOINT, or HEALTHCHECK's CMD; undefined for shell form. */
function execForm(instruction: Instruction): string[] | undefined {
  if (!(instruction instanceof JSONInstruction) || !instruction.getOpeningBracket())
    return undefined
  return instruction.getJSONStrings().map((s) => s.getJSONValue())
}
const flag = (instruction: Instruction, name: string) =>
  (instruction as ModifiableInstruction)
    .getFlags()
    .find((f) => f.getName() === name)
    ?.getValue()

describe('Dockerfile', () => {
  it('has no lint findings (dockerfile-utils)', () => {
    const findings = lintDockerfile(dockerfileText)
    assert.deepEqual(
      findings.map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
      [],
    )
  })

  it('is multi-stage on Debian slim, with the Node version as a build argument', () => {
    const [arg] = dockerfile.getInitialARGs()
    const property = arg?.getProperties()[0]
    assert.equal(property?.getName(), 'NODE_VERSION')
    assert.match(property?.getValue() ?? '', /^\d+$/, 'a default major version')
    assert.ok(stages.length >= 2, 'build and runtime stages')
    for (const stage of stages) {
      assert.match(stage.image, /^node:\$\{NODE_VERSION\}-[a-z]+-slim$/, stage.image)
      assert.doesNotMatch(stage.image, /alpine/)
    }
    const build = stages.find((s) => s.name === 'build')
    assert.ok(build, 'a stage named build')
    const runs = build.instructions.filter((i) => i.getKeyword() === 'RUN')
    const script = runs.map((r) => r.getArgumentsContent()).join('\n')
    assert.match(script, /npm ci/, 'dev dependencies for the build')
    assert.match(script, /npm run build/)
    assert.match(script, /npm prune --omit=dev/, 'production dependencies only')
    assert.match(script, /zeromq\/build/, 'other platforms’ zeromq binaries pruned')
    assert.match(script, /require\('zeromq'\)/, 'and zeromq still loads')
  })

  it('runs as a non-root user under tini, with the exec-form start command', () => {
    const [user] = inRuntime('USER')
    const name = user?.getArgumentsContent() ?? 'root'
    assert.doesNotMatch(name, /^(root|0)(:|$)/, `USER ${name}`)
    assert.match(name, /^\d+(:\d+)?$/, 'numeric, so Kubernetes runAsNonRoot can verify it')
    const [entrypoint, ...moreEntrypoints] = inRuntime('ENTRYPOINT')
    assert.equal(moreEntrypoints.length, 0)
    const entry = entrypoint && execForm(entrypoint)
    assert.ok(entry, 'exec-form ENTRYPOINT')
    assert.match(entry[0] ?? '', /(^|\/)tini$/)
    assert.equal(entry.at(-1), '--')
    const [cmd] = inRuntime('CMD')
    assert.ok(cmd)
    assert.deepEqual(execForm(cmd), ['node', 'dist/main.js'])
    const runtimeRuns = inRuntime('RUN').map((r) => r.getArgumentsContent() ?? '')
    assert.ok(
      runtimeRuns.some((r) => /apt-get install[^&]*\btini\b/.test(r)),
      'tini installed',
    )
    assert.ok(!runtimeRuns.some((r) => /\bnpm\b/.test(r)), 'no npm step in the runtime stage')
    const env = inRuntime('ENV')
      .map((e) => e.getArgumentsContent())
      .join(' ')
    assert.match(env, new RegExp(`HTTP_PORT=${HEALTH_PORT}\\b`))
  })

  it('has a HEALTHCHECK that needs no curl and runs the copied check script', () => {
    const [healthcheck] = inRuntime('HEALTHCHECK')
    assert.ok(healthcheck, 'HEALTHCHECK')
    const args = healthcheck.getArgumentsContent() ?? ''
    assert.doesNotMatch(args, /curl|wget/)
    const command = JSON.parse(args.replace(/^CMD\s+/, '')) as string[]
    assert.equal(command[0], 'node')
    assert.ok(['livez', 'readyz'].includes(command[2] ?? ''), 'livez or readyz')
    for (const name of ['interval', 'timeout', 'start-period'])
      assert.ok(flag(healthcheck, name), name)
    // Where the runtime stage's COPY instructions put files, resolved against its WORKDIR.
    const workdir = inRuntime('WORKDIR').at(-1)?.getArgumentsContent() ?? '/'
    const copiedTo = inRuntime('COPY').flatMap((copy) => {
      const parts = (copy as Copy).getArguments().map((a) => a.getValue())
      const destination = parts.at(-1) ?? ''
      const resolved = path.posix.resolve(workdir, destination)
      return parts
        .slice(0, -1)
        .map((source) =>
          destination.endsWith('/')
            ? path.posix.join(resolved, path.posix.basename(source))
            : resolved,
        )
    })
    assert.ok(copiedTo.includes(command[1] ?? ''), `${command[1]} is copied into the image`)
  })

  it('copies only what exists and what .dockerignore lets into the build context', () => {
    const ig = ignore().add(read('.dockerignore').split('\n'))
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.getKeyword() === 'COPY')) {
        if (flag(copy, 'from')) continue
        const sources = (copy as Copy)
          .getArguments()
          .map((a) => a.getValue())
          .slice(0, -1)
        for (const source of sources) {
          assert.ok(existsSync(path.join(ROOT, source)), `COPY ${source}: exists`)
          const files = statSync(path.join(ROOT, source)).isDirectory()
            ? readdirSync(path.join(ROOT, source), { recursive: true, withFileTypes: true })
                .filter((f) => f.isFile())
                .map((f) => path.relative(ROOT, path.join(f.parentPath ?? f.path, f.name)))
            : [source]
          const dropped = files.filter((f) => ig.ignores(f))
          assert.deepEqual(dropped, [], `COPY ${source}: files .dockerignore keeps out`)
        }
      }
    }
    for (const unwanted of [
      'node_modules/zeromq/package.json',
      'dist/main.js',
      '.git/HEAD',
      'test/deploy.test.ts',
      '.node24/x',
    ])
      assert.ok(ig.ignores(unwanted), `${unwanted} stays out of the context`)
  })
})

// --- scripts/healthcheck.js --------------------------------------------------------------------

describe('scripts/healthcheck.js', () => {
  let server: Server
  let port = 0
  const status: Record<string, number> = { '/livez': 200, '/readyz': 503 }

  before(async () => {
    // A stand-in for the container's health listener: answers, refuses, or never answers.
    server = createServer((request, response) => {
      if (request.url === '/livez' && status['/livez'] === 0) return // hang
      response.statusCode = status[request.url ?? ''] ?? 404
      response.end()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })

  /** Runs the check as a child process (asynchronously: the stub server lives in this one). */
  async function runCheck(args: string[], env: Env) {
    const started = performance.now()
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'healthcheck.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const [code] = (await once(child, 'exit')) as [number | null]
    return { code, out, ms: performance.now() - started }
  }

  it('exits 0 on a 200 and 1 on a 503, naming the endpoint', async () => {
    const live = await runCheck(['livez'], { HTTP_PORT: String(port) })
    assert.equal(live.code, 0, live.out)
    assert.match(live.out, /livez: 200/)
    const ready = await runCheck(['readyz'], { HTTP_PORT: String(port) })
    assert.equal(ready.code, 1, ready.out)
    assert.match(ready.out, /readyz: 503/)
  })

  it('checks livez by default and exits 1 on bad arguments or no HTTP_PORT', async () => {
    assert.equal((await runCheck([], { HTTP_PORT: String(port) })).code, 0)
    assert.equal((await runCheck(['metrics'], { HTTP_PORT: String(port) })).code, 1)
    const unset = await runCheck(['livez'], {})
    assert.equal(unset.code, 1)
    assert.match(unset.out, /HTTP_PORT/)
  })

  it('exits 1 when nothing listens, and within about 2 s when nothing answers', async () => {
    const closed = createServer().listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const freePort = String((closed.address() as AddressInfo).port)
    closed.close()
    await once(closed, 'close')
    const refused = await runCheck(['livez'], { HTTP_PORT: freePort })
    assert.equal(refused.code, 1, refused.out)
    status['/livez'] = 0
    try {
      const hung = await runCheck(['livez'], { HTTP_PORT: String(port) })
      assert.equal(hung.code, 1, hung.out)
      assert.match(hung.out, /no answer within 2000 ms/)
      assert.ok(hung.ms >= 1900 && hung.ms < 3000 + 2000, `${Math.round(hung.ms)} ms`)
    } finally {
      status['/livez'] = 200
    }
  })
})

// --- Kubernetes --------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Env }
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below
  [key: string]: any
}

const loadYamlFile = (file: string) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`)
    return d.toJS() as K8sObject
  })
const kustomization = loadYamlFile(path.join(K8S, 'kustomization.yaml'))[0] as unknown as {
  resources: string[]
  images?: Array<{ name: string; newName?: string; newTag?: string }>
  components?: string[]
}
const manifests = kustomization.resources.flatMap((r) => loadYamlFile(path.join(K8S, r)))
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind)
const configMapEnv = (name: string) => {
  const map = ofKind('ConfigMap').find((m) => m.metadata.name === name)
  assert.ok(map, `ConfigMap ${name}`)
  return map.data as Env
}
const podEnv = (deployment: K8sObject): Env => {
  const [container] = deployment.spec.template.spec.containers
  return Object.assign(
    {},
    ...(container.envFrom ?? []).map((e: { configMapRef: { name: string } }) =>
      configMapEnv(e.configMapRef.name),
    ),
  )
}

/** kubernetes-models checks each object against its Kubernetes OpenAPI schema. */
function schemaCheck(object: K8sObject): void {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    'apps/v1/Deployment': Deployment,
    'v1/Service': Service,
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
  }
  const Model = models[`${object.apiVersion}/${object.kind}`]
  assert.ok(Model, `a model for ${object.apiVersion} ${object.kind}`)
  new Model(object as never).validate()
}

function kubectl(): string | false {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
  return probe.error || probe.status !== 0 ? false : 'kubectl'
}

describe('deploy/k8s', () => {
  it('lists every manifest in the kustomization, and each passes its API schema', () => {
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    assert.deepEqual([...kustomization.resources].sort(), files.sort())
    for (const m of manifests) schemaCheck(m)
    const images = kustomization.images?.map((i) => i.name) ?? []
    for (const d of ofKind('Deployment'))
      for (const c of d.spec.template.spec.containers)
        assert.ok(
          images.includes(c.image),
          `${d.metadata.name}: image ${c.image} is set by the kustomization`,
        )
  })

  for (const example of ['camera', 'dashboard']) {
    it(`${example}: Deployment, Service and ConfigMap, with probes on the health port`, () => {
      const deployment = ofKind('Deployment').find((d) => d.metadata.name === example)
      assert.ok(deployment, `Deployment ${example}`)
      const env = podEnv(deployment)
      const config = loadConfig(env)
      assert.equal(config.service, example)
      // The ConfigMap is the example's Docker .env, plus deployment settings only.
      const dotenv = readEnvFile(path.join(ROOT, 'examples', example, '.env'))
      assert.deepEqual(
        Object.fromEntries(Object.entries(env).filter(([k]) => k in dotenv)),
        dotenv,
        `ConfigMap matches examples/${example}/.env`,
      )
      assert.equal(env.HTTP_PORT, HEALTH_PORT)

      const pod = deployment.spec.template.spec
      const [container, ...sidecars] = pod.containers
      assert.equal(sidecars.length, 0)
      const ports = new Map<string, number>(
        container.ports.map((p: { name: string; containerPort: number }) => [
          p.name,
          p.containerPort,
        ]),
      )
      assert.equal(String(ports.get('health')), env.HTTP_PORT, 'a named health port on HTTP_PORT')
      const probes = { startupProbe: '/livez', livenessProbe: '/livez', readinessProbe: '/readyz' }
      for (const [probe, probePath] of Object.entries(probes)) {
        assert.deepEqual(container[probe]?.httpGet, { path: probePath, port: 'health' }, probe)
      }
      assert.equal(pod.securityContext?.runAsNonRoot, true)
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false)

      // The kubelet sends SIGKILL after the grace period, which includes any preStop hook.
      const preStop = container.lifecycle?.preStop
      const preStopMs =
        (preStop?.sleep?.seconds ??
          Number(preStop?.exec?.command?.[0] === 'sleep' ? preStop.exec.command[1] : 0)) * 1000
      const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000
      assert.ok(
        graceMs >= preStopMs + shutdownDeadlineMs(config),
        `terminationGracePeriodSeconds ${graceMs / 1000} must cover preStop ${preStopMs} ms + ZC_SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} + ZMQ_LINGER_MS ${config.lingerMs} + ${SHUTDOWN_MARGIN_MS}`,
      )

      const service = ofKind('Service').find((s) => s.metadata.name === example)
      assert.ok(service, `Service ${example}`)
      const labels = deployment.spec.template.metadata.labels as Env
      for (const [k, v] of Object.entries(service.spec.selector as Env)) assert.equal(labels[k], v)
      for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels as Env))
        assert.equal(labels[k], v)
      for (const p of service.spec.ports)
        assert.ok(ports.has(p.targetPort), `targetPort ${p.targetPort}`)
    })
  }

  it('wires every connect to a Service whose pods bind that port, with declared topics', () => {
    const deployments = ofKind('Deployment')
    const containers = deployments.map((d) => ({
      name: d.metadata.name,
      config: loadConfig(podEnv(d)),
    }))
    // In the namespace a Service's name is a host name; its selector picks the Deployment's pods.
    const resolve = (host: string, port: string) => {
      const service = ofKind('Service').find((s) => s.metadata.name === host)
      if (!service?.spec.ports.some((p: { port: number }) => String(p.port) === port))
        return undefined
      return deployments.find((d) =>
        Object.entries(service.spec.selector as Env).every(
          ([k, v]) => d.spec.template.metadata.labels[k] === v,
        ),
      )?.metadata.name
    }
    assert.deepEqual(wiringProblems(containers, resolve), [])
  })

  it('becomes ready on its own: no readiness probe waits for peers behind a Service', () => {
    // A Service routes a new connection only to ready pods. A pod whose /readyz waits for its SUB
    // peers therefore waits for a pod that may be waiting for it: camera and dashboard deadlock.
    for (const d of ofKind('Deployment')) {
      const config = loadConfig(podEnv(d))
      assert.equal(config.readyRequiresPeers, false, `${d.metadata.name}: ZC_READY_REQUIRES_PEERS`)
    }
  })

  it('agrees with compose.yaml on the health port and the shutdown deadline', () => {
    for (const d of ofKind('Deployment')) {
      const service = compose.services[d.metadata.name]
      assert.ok(service, `compose service ${d.metadata.name}`)
      const composeEnvironment = composeEnv(service)
      const podEnvironment = podEnv(d)
      for (const key of ['HTTP_PORT', 'ZC_SHUTDOWN_TIMEOUT_MS'])
        assert.equal(podEnvironment[key], composeEnvironment[key], `${d.metadata.name} ${key}`)
    }
  })

  it('has an opt-in CURVE-key component whose _FILE keys the container loads', () => {
    const component = loadYamlFile(path.join(CURVE, 'kustomization.yaml'))[0] as unknown as {
      kind: string
      patches: Array<{ path: string }>
    }
    assert.equal(component.kind, 'Component')
    assert.equal(kustomization.components, undefined, 'opt-in: the Secret must exist first')
    const secret = loadYamlFile(path.join(CURVE, 'secret.example.yaml'))[0] as K8sObject
    schemaCheck(secret)
    assert.ok(
      !component.patches.some((p) => p.path.includes('secret')),
      'the placeholder Secret is never deployed by the component',
    )
    // The Secret's files as the pod sees them, with real key pairs: `<name>.key` and `<name>.pub`.
    const mounted = mkdtempSync(path.join(tmpdir(), 'zc-curve-secret-'))
    const pairs = new Map<string, { publicKey: string; secretKey: string }>()
    for (const file of Object.keys(secret.stringData as Env)) {
      const name = path.parse(file).name
      if (!pairs.has(name)) pairs.set(name, curveKeyPair())
      const pair = pairs.get(name) as { publicKey: string; secretKey: string }
      writeFileSync(
        path.join(mounted, file),
        `${file.endsWith('.key') ? pair.secretKey : pair.publicKey}\n`,
      )
    }
    try {
      for (const patch of component.patches) {
        const [d] = loadYamlFile(path.join(CURVE, patch.path))
        assert.ok(d)
        const base = ofKind('Deployment').find((b) => b.metadata.name === d.metadata.name)
        assert.ok(base, `${patch.path} patches an existing Deployment`)
        const [volume] = d.spec.template.spec.volumes
        assert.equal(volume.secret.secretName, secret.metadata.name)
        const [container] = d.spec.template.spec.containers
        assert.equal(container.name, base.spec.template.spec.containers[0].name)
        const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume.name)
        assert.equal(mount.readOnly, true)
        const keys = Object.keys(secret.stringData as Env)
        const env = container.env as Array<{ name: string; value: string }>
        assert.ok(env.length > 0)
        for (const { name, value } of env) {
          assert.match(name, /^ZMQ_(SUB|PUB)_CURVE_[A-Z_]+_FILE$/, name)
          assert.equal(path.posix.dirname(value), mount.mountPath, `${name} reads from the Secret`)
          assert.ok(keys.includes(path.posix.basename(value)), `${value} is a key of the Secret`)
        }
        // The container reads each _FILE variable: the PUB (it binds) is a CURVE server with its
        // own pair, the SUB (it connects) a client that also knows the peer's public key.
        const fileEnv = Object.fromEntries(
          env.map((e) => [e.name, path.join(mounted, path.posix.basename(e.value))]),
        )
        const config = loadConfig({ ...podEnv(base), ...fileEnv })
        const own = pairs.get(d.metadata.name)
        const peer = [...pairs.entries()].find(([n]) => n !== d.metadata.name)?.[1]
        assert.ok(own && peer)
        const socket = (kind: string) => config.sockets.find((s) => s.kind === kind)?.curve
        assert.deepEqual(socket('pub'), { role: 'server', ...own })
        assert.deepEqual(socket('sub'), { role: 'client', ...own, serverKey: peer.publicKey })
      }
    } finally {
      rmSync(mounted, { recursive: true, force: true })
    }
  })

  it('builds with `kubectl kustomize`, alone and with the CURVE component', (t) => {
    if (!kubectl()) {
      t.skip('kubectl is not installed here (the node image ships it; see .library/env packages)')
      return
    }
    const built = spawnSync('kubectl', ['kustomize', K8S], { encoding: 'utf8' })
    assert.equal(built.status, 0, built.stderr)
    const objects = parseAllDocuments(built.stdout).map((d) => d.toJS() as K8sObject)
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/camera-env',
      'ConfigMap/dashboard-env',
      'Deployment/camera',
      'Deployment/dashboard',
      'Service/camera',
      'Service/dashboard',
    ])
    for (const o of objects) {
      schemaCheck(o)
      assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'zmq-container')
    }

    // An overlay that turns the component on, as a user would (kustomize wants relative paths).
    const overlay = mkdtempSync(path.join(tmpdir(), 'zc-kustomize-'))
    try {
      const base = path.relative(overlay, K8S)
      writeFileSync(
        path.join(overlay, 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${base}\ncomponents:\n  - ${path.join(base, 'components', 'curve')}\n`,
      )
      const withCurve = spawnSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' })
      assert.equal(withCurve.status, 0, withCurve.stderr)
      const deployments = parseAllDocuments(withCurve.stdout)
        .map((d) => d.toJS() as K8sObject)
        .filter((o) => o.kind === 'Deployment')
      for (const d of deployments) {
        schemaCheck(d)
        const [container] = d.spec.template.spec.containers
        assert.ok(container.envFrom, `${d.metadata.name} keeps its ConfigMap`)
        assert.ok(container.env.some((e: { name: string }) => e.name.endsWith('_FILE')))
        assert.equal(d.spec.template.spec.volumes[0].secret.defaultMode, 0o440)
      }
    } finally {
      rmSync(overlay, { recursive: true, force: true })
    }
  })
})

// --- The image's start command, outside Docker -------------------------------------------------

/**
 * The runtime stage's files, staged in a folder the way its COPY instructions lay out WORKDIR:
 * `--from=build /app/x` is the repository's built `x` (node_modules linked, not copied).
 */
function stageRuntime(): string {
  const app = mkdtempSync(path.join(tmpdir(), 'zc-app-'))
  const workdir = inRuntime('WORKDIR').at(-1)?.getArgumentsContent() ?? '/'
  for (const copy of inRuntime('COPY')) {
    const parts = (copy as Copy).getArguments().map((a) => a.getValue())
    const destination = parts.at(-1) ?? ''
    for (const source of parts.slice(0, -1)) {
      const from = path.join(
        ROOT,
        flag(copy, 'from') ? path.posix.relative(workdir, source) : source,
      )
      const resolved = path.posix.resolve(workdir, destination)
      const to = destination.endsWith('/')
        ? path.posix.join(resolved, path.posix.basename(source))
        : resolved
      const target = path.join(app, path.posix.relative(workdir, to))
      mkdirSync(path.dirname(target), { recursive: true })
      if (path.basename(from) === 'node_modules') symlinkSync(from, target, 'dir')
      else cpSync(from, target, { recursive: true })
    }
  }
  return app
}

describe('the image start command outside Docker, wired as compose wires it', () => {
  const running: LogProcess[] = []
  let app = ''
  before(() => {
    app = stageRuntime()
  })
  after(async () => {
    await Promise.all(running.map((p) => p.stop()))
    rmSync(app, { recursive: true, force: true })
  })

  it('camera and dashboard reach ready, talk both ways, and exit 0 on SIGTERM within the grace period', async () => {
    const [cmd] = inRuntime('CMD')
    const [command = '', ...args] = (cmd && execForm(cmd)) ?? []
    assert.equal(command, 'node')
    // Each service gets its own loopback address, as each gets its own IP on the compose
    // network: service names resolve to it, and `tcp://*:` binds it. Random, so runs never clash.
    const net = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`
    const names = Object.keys(compose.services)
    const address = Object.fromEntries(names.map((n, i) => [n, `${net}.${i + 1}`]))
    const start = (name: string) => {
      const env = composeEnv(compose.services[name] as ComposeService)
      for (const [key, value] of Object.entries(env)) {
        env[key] = value
          .replace(/tcp:\/\/([a-z0-9-]+):/g, (whole, host: string) =>
            host in address ? `tcp://${address[host]}:` : whole,
          )
          .replace(/tcp:\/\/\*:/g, `tcp://${address[name]}:`)
      }
      // The health listener (once it exists) binds the service's own address too.
      env.HTTP_HOST = address[name] as string
      const p = new LogProcess(
        name,
        process.execPath,
        args,
        {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          LOG_LEVEL: 'debug',
          ...env,
        },
        { cwd: app },
      )
      running.push(p)
      return p
    }
    const camera = start('camera')
    const dashboard = start('dashboard')
    await Promise.all([camera.waitForLog('ready'), dashboard.waitForLog('ready')])
    // The image's package.json came along: the version is known.
    const { version } = JSON.parse(read('package.json')) as { version: string }
    assert.equal((await camera.waitForLog('starting')).version, version)
    // Frames camera -> dashboard, and the dashboard's command back, over the compose wiring.
    await dashboard.waitForLog('frame rate')
    await dashboard.waitForLog('command round trip confirmed')
    await camera.waitForLog('frame rate changed')

    for (const [name, p] of [
      ['camera', camera],
      ['dashboard', dashboard],
    ] as const) {
      const signalledAt = performance.now()
      p.signal('SIGTERM')
      const exit = await p.exited
      const stopMs = performance.now() - signalledAt
      assert.equal(exit.code, 0, p.dump())
      assert.equal(p.lines.at(-1)?.msg, 'stopped')
      const graceMs = durationMs(compose.services[name]?.stop_grace_period ?? '10s')
      assert.ok(
        stopMs < graceMs,
        `${name} stopped in ${Math.round(stopMs)} ms, within stop_grace_period`,
      )
    }
  })
})
