/**
 * The files `zmq-container init` writes, as plain text from a plan. Kept apart from the command
 * so a template can be read (and changed) as the file it makes; the service and its test are in
 * init-service-templates.ts.
 */
import { type InitPlan, PORT, sampleTopic, servicePath } from './init-plan'
import { serviceJs, serviceTest, serviceTs } from './init-service-templates'

export type { InitPlan } from './init-plan'

/** Relative path → contents. */
export type ProjectFiles = Record<string, string>

export function projectFiles(plan: InitPlan): ProjectFiles {
  const ts = plan.language === 'ts'
  const serviceFile = ts ? 'src/service.ts' : 'src/service.js'
  return {
    'package.json': packageJson(plan),
    ...(ts ? { 'tsconfig.json': tsconfig() } : {}),
    [serviceFile]: ts ? serviceTs(plan) : serviceJs(plan),
    [ts ? 'test/service.test.ts' : 'test/service.test.js']: serviceTest(plan),
    '.env': dotEnv(plan),
    Dockerfile: dockerfile(plan),
    '.dockerignore': 'node_modules\ndist\n.env\n*.log\n',
    '.gitignore': 'node_modules\ndist\n*.tgz\n',
    'compose.yaml': compose(plan),
    'README.md': readme(plan),
  }
}

function packageJson(plan: InitPlan): string {
  const ts = plan.language === 'ts'
  const test = ts
    ? 'node --require tsx/cjs --test --test-timeout=60000 test/*.test.ts'
    : 'node --test --test-timeout=60000 test/*.test.js'
  const json = {
    name: plan.name,
    version: '0.1.0',
    private: true,
    type: 'commonjs',
    scripts: {
      // A JavaScript service has nothing to compile; the check still fails on a syntax error.
      build: ts ? 'tsc -p tsconfig.json' : 'node --check src/service.js',
      start: 'node --env-file=.env node_modules/zmq-container/dist/main.js',
      test,
      check: 'node --env-file=.env node_modules/zmq-container/dist/main.js check',
    },
    engines: { node: '>=20.6' },
    dependencies: { 'zmq-container': `^${plan.versions.zmqContainer}` },
    ...(ts
      ? {
          devDependencies: {
            '@types/node': plan.versions.typesNode,
            tsx: plan.versions.tsx,
            typescript: plan.versions.typescript,
          },
        }
      : {}),
  }
  return `${JSON.stringify(json, null, 2)}\n`
}

function tsconfig(): string {
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        types: ['node'],
        strict: true,
        skipLibCheck: true,
        rootDir: 'src',
        outDir: 'dist',
      },
      include: ['src'],
    },
    null,
    2,
  )}\n`
}

function dotEnv(plan: InitPlan): string {
  const lines = [
    '# The container is configured by environment only; `npm start` loads this file',
    '# (node --env-file) and `npm run check` checks it. Every variable: the zmq-container README,',
    '# section "Configuration".',
    '',
    '# The service module the container runs (built by `npm run build`).',
    `ZC_SERVICE=${servicePath(plan)}`,
    '# Log level: fatal, error, warn, info, debug, trace or silent.',
    'LOG_LEVEL=info',
    '# /metrics, /livez and /readyz on this port (unset: no HTTP listener).',
    'HTTP_PORT=9464',
  ]
  if (plan.sub.length > 0)
    lines.push(
      '',
      '# SUB socket "sub": connects to a peer\'s PUB (a leading @ would bind instead) and',
      '# subscribes to these topics (a topic ending in "." subscribes to everything under it).',
      `ZMQ_SUB_ENDPOINT=tcp://127.0.0.1:${PORT.peer}`,
      `ZMQ_SUB_TOPICS=${plan.sub.join(',')}`,
    )
  if (plan.pub.length > 0)
    lines.push(
      '',
      '# PUB socket "pub": binds here; peers connect to it. The topics it publishes, declared so',
      '# a typo is warned about.',
      `ZMQ_PUB_ENDPOINT=tcp://*:${PORT.pub}`,
      `ZMQ_PUB_TOPICS=${plan.pub.join(',')}`,
    )
  if (plan.rep)
    lines.push(
      '',
      '# REP socket "rep": binds here and answers every request (control latency class).',
      `ZMQ_REP_ENDPOINT=tcp://*:${PORT.rep}`,
    )
  return `${lines.join('\n')}\n`
}

function dockerfile(plan: InitPlan): string {
  const ts = plan.language === 'ts'
  return `# syntax=docker/dockerfile:1
# The ${plan.name} service on zmq-container. Wiring comes from the environment (.env is not
# copied in: pass it with --env-file, or compose.yaml's env_file).
#
#   docker build -t ${plan.name} .
#
# zmq-container is installed from package.json like any dependency: from the npm registry, or,
# for a tarball (npm install ./zmq-container-X.Y.Z.tgz, a "file:" dependency), from the tarball
# in this directory, which the COPY below takes along (see .dockerignore).
ARG NODE_VERSION=24

# Debian slim, not Alpine: zeromq's prebuilt addon is built against glibc.
FROM node:\${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund \\
${ts ? '    && npm run build \\\n' : ''}    && npm prune --omit=dev --no-audit --no-fund \\
    && node -e "require('zeromq')"

FROM node:\${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \\
    HTTP_PORT=9464 \\
    ZC_SERVICE=/app/${servicePath(plan)}
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/${ts ? 'dist ./dist' : 'src ./src'}
# The node image's \`node\` user, by number so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node handles SIGTERM itself (an orderly stop with deadlines); run with --init (compose:
# init: true) so a PID 1 reaps zombies and forwards signals.
CMD ["node", "node_modules/zmq-container/dist/main.js"]
`
}

function compose(plan: InitPlan): string {
  const sub = plan.sub[0]
  const peer =
    sub === undefined
      ? ''
      : `
  # A stand-in peer: zmq-container's own \`pub\` tool from the same image, one message a second
  # on ${sampleTopic(sub)}. Replace it with the real publisher.
  peer:
    image: ${plan.name}:latest
    init: true
    command:
      - node
      - node_modules/zmq-container/dist/main.js
      - pub
      - tcp://*:${PORT.peer}
      - ${sampleTopic(sub)}
      - hello
      - --rate
      - "1"
      - --wait-timeout
      - "0"
`
  return `# The ${plan.name} service wired to a peer: \`docker compose up --build\`.
services:
  ${plan.name}:
    build: .
    image: ${plan.name}:latest
    init: true
    env_file: .env
    environment:
      # In compose the peer is reached by its service name, not 127.0.0.1.
${sub === undefined ? '      LOG_LEVEL: info' : `      ZMQ_SUB_ENDPOINT: tcp://peer:${PORT.peer}`}
      ZC_SERVICE: /app/${servicePath(plan)}
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    stop_grace_period: 10s
${peer}`
}

function readme(plan: InitPlan): string {
  const ts = plan.language === 'ts'
  return `# ${plan.name}

A ZeroMQ service on [zmq-container](https://www.npmjs.com/package/zmq-container): the container
owns the sockets, threads, shutdown and metrics; \`${ts ? 'src/service.ts' : 'src/service.js'}\` handles the messages.

## Quick start

\`\`\`sh
npm install${ts ? ' && npm run build' : ''}
npm test && npm start
\`\`\`

\`npm start\` runs the container with \`.env\` (every variable is commented there); \`npm run check\`
checks that configuration without starting. \`docker compose up --build\` runs it in a container,
wired to a stand-in peer.

## Files

- \`${ts ? 'src/service.ts' : 'src/service.js'}\`: one handler per socket, by socket name.
- \`${ts ? 'test/service.test.ts' : 'test/service.test.js'}\`: the service in a container run in the test's own process
  (\`zmq-container/testing\`), with a publisher, subscriber and counters to assert on.
- \`.env\`: the sockets and topics. \`Dockerfile\`, \`compose.yaml\`: the image, and the service with a peer.
`
}
