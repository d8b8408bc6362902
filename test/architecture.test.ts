import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'

/**
 * The tree is grouped by the thread that runs the code (README "How it works"). What each folder
 * may import is the rule "no socket is touched by two threads" made checkable: receive-thread code
 * (worker/) never reaches the supervisor's sockets (main/), and shared/ depends on no thread.
 */
const ROOT = path.join(__dirname, '..')
const ALLOWED: Record<string, readonly string[]> = {
  shared: ['shared'],
  recording: ['shared', 'recording'],
  client: ['shared', 'client'],
  pool: ['shared', 'pool'],
  worker: ['shared', 'worker', 'recording', 'pool'],
  main: ['shared', 'main', 'recording'],
  // The recorder thread (ZMQ_RECORD_FILE): the MCAP writer, fed by the receive threads.
  recorder: ['shared', 'recorder', 'recording'],
  cli: ['shared', 'cli', 'client', 'recording'],
  // zmq-container/testing runs a whole container in the test's process, as main.ts does.
  testing: ['shared', 'testing', 'main', 'client', 'recording'],
}
/** Thread entries: each may reach only the folder of its thread (and shared/). */
const ENTRIES: Record<string, readonly string[]> = {
  'workers/receive.ts': ['shared', 'worker'],
  'workers/pool-task.ts': ['shared', 'pool'],
  'workers/recorder.ts': ['shared', 'recorder'],
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)'(\.{1,2}\/[^']*)'/gm

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
}

/** `src/<folder>/...` -> folder; a module at the top of src/ (main.ts, index.ts) -> undefined. */
function folderOf(file: string): string | undefined {
  const parts = file.split(path.sep)
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined
}

/** Every import of `file` that leaves the folders it may use, as "file -> target". */
export function violations(file: string, source: string, allowed: readonly string[]): string[] {
  const found: string[] = []
  for (const match of source.matchAll(IMPORT_RE)) {
    const target = path.normalize(path.join(path.dirname(file), match[1] as string))
    const folder = folderOf(target) ?? (target.startsWith('src') ? 'top' : 'outside')
    if (!allowed.includes(folder)) found.push(`${file} -> ${target}`)
  }
  return found
}

describe('architecture: folders by thread', () => {
  it('the rule catches a forbidden import (so the checks below can fail)', () => {
    const src = "import { Supervisor } from '../main/supervisor'\nimport { x } from './y'\n"
    assert.deepEqual(violations(path.join('src', 'shared', 'a.ts'), src, ALLOWED.shared ?? []), [
      `${path.join('src', 'shared', 'a.ts')} -> ${path.join('src', 'main', 'supervisor')}`,
    ])
    const lazy = "const m = await import('../../main.js')\n"
    assert.equal(violations(path.join('src', 'worker', 'z', 'b.ts'), lazy, ['worker']).length, 1)
  })

  it('every folder of src/ has a rule, and src/ holds no other folder', () => {
    const folders = readdirSync(path.join(ROOT, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
    assert.deepEqual(folders, Object.keys(ALLOWED).sort())
  })

  it('shared/ imports no thread; worker/ never main/; each folder only what its thread may use', () => {
    const broken: string[] = []
    for (const file of filesUnder('src')) {
      const folder = folderOf(file)
      if (folder === undefined) continue // main.ts, index.ts, early-signals.ts: the process
      broken.push(
        ...violations(file, readFileSync(path.join(ROOT, file), 'utf8'), ALLOWED[folder] ?? []),
      )
    }
    assert.deepEqual(broken, [])
  })

  it('workers/ holds thread entries only, each reaching its own thread', () => {
    const files = filesUnder('workers').sort()
    assert.deepEqual(files, Object.keys(ENTRIES).sort())
    for (const file of files) {
      const source = readFileSync(path.join(ROOT, file), 'utf8')
      assert.deepEqual(violations(file, source, ENTRIES[file] ?? []), [])
      assert.ok(source.split('\n').length <= 12, `${file} is an entry: its work belongs in src/`)
    }
  })
})
