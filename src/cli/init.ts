import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { containerSubscriptionProblem } from '../shared/config/validators'
import { topicProblem } from '../shared/topics'
import { UsageError } from './args'
import { defineCommand } from './command'
import { type InitPlan, projectFiles } from './init-templates'
import { CLI_EXIT, note } from './io'

const HELP = `Usage: zmq-container init DIR [--name NAME] [--sub TOPIC...] [--pub TOPIC...] [--rep] [--js]

Creates a service project in DIR (new or empty): package.json depending on zmq-container, a
typed service (TypeScript; JavaScript with --js) with a handler per socket asked for, a test on
zmq-container/testing, a .env with the sockets and topics (each variable commented), a
Dockerfile, a compose.yaml wiring the service to a peer, and a README. Then prints the next
commands. It never overwrites: a DIR that holds anything is refused.

With none of --sub, --pub and --rep, the service subscribes to NAME.cmd and publishes
NAME.status (NAME without its dashes, as topics allow only ASCII letters, digits and dots).

Options:
  --name NAME   npm package name (default: DIR's last part, lower-cased)
  --sub TOPIC   a topic the SUB socket subscribes to (repeat, or a comma list; a topic ending
                in "." subscribes to everything under it)
  --pub TOPIC   a topic the PUB socket publishes (repeat, or a comma list)
  --rep         a REP socket that answers requests
  --js          plain JavaScript (CommonJS), no build step
  -h, --help    show this help

Exit codes: 0 created; 64 bad arguments; 73 DIR is not empty or cannot be written.

Examples:
  zmq-container init my-camera --sub camera.cmd --pub camera.frame,camera.status --rep
  zmq-container init logger --sub camera. --js`

const NAME_RE = /^[a-z][a-z0-9-]{0,49}$/

export const init = defineCommand({
  name: 'init',
  summary: 'create a service project (package, service, test, .env, Dockerfile)',
  help: HELP,
  options: {
    name: { type: 'string' },
    sub: { type: 'string', multiple: true },
    pub: { type: 'string', multiple: true },
    rep: { type: 'boolean' },
    js: { type: 'boolean' },
  },
  positionals: { required: ['DIR'] },
  async run({ values, positionals }, io) {
    const dir = path.resolve(positionals[0] as string)
    const name = values.name ?? path.basename(dir).toLowerCase()
    if (!NAME_RE.test(name))
      throw new UsageError(
        `${values.name === undefined ? `the name taken from DIR, "${name}",` : `--name is "${name}";`} must start with a letter and hold only lower-case letters, digits and dashes (pass --name)`,
      )
    const component = name.replaceAll('-', '')
    let sub = topicList('--sub', values.sub ?? [], containerSubscriptionProblem)
    let pub = topicList('--pub', values.pub ?? [], topicProblem)
    const rep = values.rep ?? false
    if (sub.length === 0 && pub.length === 0 && !rep) {
      sub = [`${component}.cmd`]
      pub = [`${component}.status`]
    }
    const plan: InitPlan = {
      name,
      component,
      sub,
      pub,
      rep,
      language: values.js ? 'js' : 'ts',
      versions: toolVersions(),
    }

    if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
      note(io, 'init', `${dir} is not an empty directory; nothing was written`)
      return CLI_EXIT.CANNOT_CREATE
    }
    const files = projectFiles(plan)
    try {
      for (const [file, text] of Object.entries(files)) {
        const target = path.join(dir, file)
        mkdirSync(path.dirname(target), { recursive: true })
        // 'wx': never overwrite, even a file that appeared since the check above.
        writeFileSync(target, text, { flag: 'wx' })
      }
    } catch (error) {
      note(io, 'init', `cannot write ${dir}: ${(error as Error).message}`)
      return CLI_EXIT.CANNOT_CREATE
    }
    const relative = path.relative(process.cwd(), dir)
    const shown = relative === '' ? '.' : relative.startsWith('..') ? dir : relative
    io.stdout.write(
      [
        `Created ${name} in ${dir}:`,
        ...Object.keys(files)
          .sort()
          .map((f) => `  ${f}`),
        '',
        'Next:',
        `  cd ${shown}`,
        ...installSteps(dir, plan.language === 'ts' ? ' && npm run build' : ''),
        '  npm test && npm start',
        '',
      ].join('\n'),
    )
    return CLI_EXIT.OK
  },
})

/** Topics from repeated options and comma lists, each checked by the container's rules. */
function topicList(
  option: string,
  raw: readonly string[],
  problem: (topic: string) => string | undefined,
): string[] {
  const topics = raw.flatMap((r) => r.split(',')).map((t) => t.trim())
  for (const topic of topics) {
    const why = problem(topic)
    if (why !== undefined) throw new UsageError(`${option} "${topic}" ${why}`)
  }
  return [...new Set(topics)]
}

/**
 * The versions the project gets: this package's own, and the dev tools it is tested with (its
 * package.json, published with it, lists them).
 */
function toolVersions(): InitPlan['versions'] {
  const own = readOwnPackageJson()
  const dev = own.devDependencies ?? {}
  return {
    zmqContainer: own.version,
    typescript: dev.typescript ?? '^5.9.3',
    tsx: dev.tsx ?? '^4.23.15',
    typesNode: dev['@types/node'] ?? '^20.19.43',
  }
}

/**
 * How the new project gets zmq-container: packed from the copy running this command (a checkout,
 * or the one a project installed) into the project, then installed from there, where package.json
 * names it as a `file:` dependency and the generated Dockerfile's `COPY . .` takes it along. The
 * package is not on the npm registry, so a plain `npm install` would fail with a 404.
 * `--ignore-scripts`: an installed copy has no build tools for the prepack build, and a
 * checkout's dist/ is the one running.
 */
function installSteps(project: string, build: string): string[] {
  const root = ownPackageRoot()
  const tarball = `zmq-container-${readOwnPackageJson().version}.tgz`
  return [
    `  (cd ${shellWord(root)} && npm pack --ignore-scripts --pack-destination ${shellWord(project)})`,
    `  npm install ./${tarball}${build}`,
  ]
}

/** `word` as one shell word: as it is when it is plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/** The folder of this package's package.json: the first one up from src/cli or dist/src/cli. */
function ownPackageRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir))
    if (existsSync(path.join(dir, 'package.json'))) return dir
  throw new Error('zmq-container: no package.json above the init command')
}

function readOwnPackageJson(): { version: string; devDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(path.join(ownPackageRoot(), 'package.json'), 'utf8'))
}
