// `zmq-container check` of a topology (issue 16): an enveloped PUB linked to a SUB that does not
// read the envelope is a warning, on the SUB's _ENVELOPE variable; with the SUB reading it, none.
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { runCli } from './helpers/cli'
import { writeEnvFile } from './helpers/env-file'

const dir = mkdtempSync(path.join(tmpdir(), 'zc-envelope-check-'))

function container(name: string, lines: Record<string, string>): string {
  return writeEnvFile(path.join(dir, name, '.env'), lines)
}

interface Finding {
  kind: string
  severity: string
  file: string
  variable: string
  message: string
}

async function findings(files: string[]): Promise<{ code: number | null; found: Finding[] }> {
  const { code, stdout } = await runCli(['check', ...files, '--json'])
  return { code, found: (JSON.parse(stdout) as { findings: Finding[] }).findings }
}

const camera = {
  ZMQ_PUB_ENDPOINT: 'tcp://*:5555',
  ZMQ_PUB_TOPICS: 'camera.heartbeat',
  ZMQ_PUB_ENVELOPE: 'true',
}
const dashboard = (over: Record<string, string> = {}) => ({
  ZMQ_SUB_ENDPOINT: 'tcp://camera:5555',
  ZMQ_SUB_TOPICS: 'camera.heartbeat',
  ZMQ_SUB_CLASS: 'telemetry',
  ...over,
})

describe('check: an enveloped publisher and its subscribers', () => {
  it('warns (exit 2) on a SUB without _ENVELOPE that takes an enveloped topic', async () => {
    const files = [container('a/camera', camera), container('a/dashboard', dashboard())]
    const { code, found } = await findings(files)
    const hits = found.filter((f) => f.kind === 'envelope-unread')
    assert.equal(hits.length, 1, JSON.stringify(found, null, 2))
    const hit = hits[0] as Finding
    assert.equal(hit.severity, 'warning')
    assert.equal(hit.variable, 'ZMQ_SUB_ENVELOPE')
    assert.equal(hit.file, files[1])
    assert.match(hit.message, /reads camera\.heartbeat from .*third frame/)
    assert.equal(code, 2)
  })

  it('is quiet when the SUB reads the envelope', async () => {
    const files = [
      container('b/camera', camera),
      container('b/dashboard', dashboard({ ZMQ_SUB_ENVELOPE: 'true' })),
    ]
    const { code, found } = await findings(files)
    assert.deepEqual(found, [])
    assert.equal(code, 0)
  })
})
