// `zmq-container graph`: the examples' topology as Mermaid, DOT and SVG.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { runCli } from './helpers/cli'

const TOPICS = ['camera.frame', 'camera.heartbeat', 'camera.cmd']
const INPUTS = [['examples/camera/.env', 'examples/dashboard/.env'], ['compose.yaml']]
const dir = mkdtempSync(path.join(tmpdir(), 'zc-graph-'))

/** Every string in an SVG's <text> elements: what a reader of the picture sees. */
function svgTexts(svg: string): string[] {
  const texts: string[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      if (key === 'text') {
        for (const t of Array.isArray(value) ? value : [value])
          texts.push(
            typeof t === 'object' ? String((t as { '#text': unknown })['#text']) : String(t),
          )
      } else walk(value)
    }
  }
  walk(new XMLParser({ ignoreAttributes: false }).parse(svg))
  return texts
}

describe('zmq-container graph', () => {
  for (const files of INPUTS) {
    it(`draws ${files.join(' ')} as Mermaid: both containers, every topic, publisher to topic to subscriber`, async () => {
      const { code, stdout, stderr } = await runCli(['graph', ...files])
      assert.equal(code, 0, stderr)
      assert.match(stdout, /^flowchart LR$/m)
      assert.match(stdout, /^ {2}subgraph \w+\["camera"\]$/m)
      assert.match(stdout, /^ {2}subgraph \w+\["dashboard"\]$/m)
      for (const topic of TOPICS) {
        const id = new RegExp(`^ {2}(\\w+)\\(\\["${topic.replace('.', '\\.')}"\\]\\)$`, 'm').exec(
          stdout,
        )?.[1]
        assert.ok(id, `${topic} has a node`)
        assert.match(stdout, new RegExp(`^ {2}\\w+_pub_pub --> ${id}$`, 'm'))
        assert.match(stdout, new RegExp(`^ {2}${id} --> \\w+_sub_sub$`, 'm'))
      }
      assert.match(stdout, /SUB sub · telemetry<br\/>>tcp:\/\/camera:5555/)
    })

    it(`draws ${files.join(' ')} as DOT: a cluster per container, every topic`, async () => {
      const { code, stdout } = await runCli(['graph', ...files, '--format', 'dot'])
      assert.equal(code, 0)
      assert.match(stdout, /^digraph zmq \{/)
      assert.match(stdout, /label="camera";/)
      assert.match(stdout, /label="dashboard";/)
      for (const topic of TOPICS) assert.match(stdout, new RegExp(`label="${topic}"\\]`))
    })

    it(`draws ${files.join(' ')} as SVG that parses as XML, with both containers and every topic`, async () => {
      const out = path.join(dir, `${files.length}.svg`)
      const { code, stderr } = await runCli(['graph', ...files, '--format', 'svg', '--out', out])
      assert.equal(code, 0, stderr)
      const svg = readFileSync(out, 'utf8')
      assert.equal(XMLValidator.validate(svg), true)
      const texts = svgTexts(svg)
      for (const name of ['camera', 'dashboard', ...TOPICS]) assert.ok(texts.includes(name), name)
    })
  }

  it('the README shows the demo topology as graph draws it today', async () => {
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8')
    const block = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1]
    const { stdout } = await runCli(['graph', 'examples/camera/.env', 'examples/dashboard/.env'])
    assert.equal(block, stdout)
  })

  it('draws a subscription nothing feeds as a dashed "no publisher" edge', async () => {
    const file = path.join(dir, 'lonely.env')
    writeFileSync(file, 'ZMQ_SUB_ENDPOINT=@tcp://*:7000\nZMQ_SUB_TOPICS=nobody.talks\n')
    const { code, stdout } = await runCli(['graph', file, 'examples/camera/.env'])
    assert.equal(code, 0)
    assert.match(stdout, /^ {2}t_nobody_talks -\.->\|"no publisher"\| \w+_sub_sub$/m)
  })

  it('refuses an invalid container as check does (78), and an unknown format (64)', async () => {
    const file = path.join(dir, 'bad.env')
    writeFileSync(file, 'ZMQ_SUB_ENDPOINT=tcp://a:1\nZMQ_SUB_TOPICS=a.b\nZMQ_SUB_CLASS=fast\n')
    const bad = await runCli(['graph', file])
    assert.equal(bad.code, 78)
    assert.match(bad.stderr, /bad\.env: ZMQ_SUB_CLASS: /)
    const format = await runCli(['graph', 'compose.yaml', '--format', 'png'])
    assert.equal(format.code, 64)
  })
})
