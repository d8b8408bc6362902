/**
 * The code `zmq-container init` writes: the service (TypeScript or JavaScript) and its test on
 * zmq-container/testing. The package and deployment files are in init-templates.ts.
 */
import { type InitPlan, sampleTopic, servicePath } from './init-plan'

/** The topic a SUB handler answers on: the first PUB topic, when there is one. */
function replyTopic(plan: InitPlan): string | undefined {
  return plan.pub[0]
}

function serviceBody(plan: InitPlan): string {
  const lines: string[] = []
  const reply = replyTopic(plan)
  if (plan.sub.length > 0) {
    lines.push(
      '  // One handler per inbound socket, by name: `sub` is the socket of ZMQ_SUB_*. It runs in that',
      "  // socket's own worker thread; a throw is logged and counted (dropped: handler_error).",
      '  handlers: {',
      '    sub: (message, ctx) => {',
      "      ctx.log.info({ topic: message.topic, bytes: message.payload.length }, 'handled')",
    )
    if (reply)
      lines.push(
        '      // Publishing goes through the main thread, which owns the PUB socket (ZMQ_PUB_*).',
        `      ctx.publish('${reply}', message.payload)`,
      )
    lines.push('    },', '  },')
  }
  if (plan.rep)
    lines.push(
      '  // Requests on the REP socket (ZMQ_REP_*): the value is sent back as [OK, value]; a throw',
      '  // becomes [ERR, message].',
      '  replies: {',
      "    rep: (request) => 'ok: ' + request.payload.toString(),",
      '  },',
    )
  if (plan.sub.length === 0 && plan.pub.length > 0)
    lines.push(
      '  // Work the main thread drives: here, one message a second on the first PUB topic.',
      '  start(ctx) {',
      '    let count = 0',
      `    const timer = setInterval(() => ctx.publish('${plan.pub[0]}', String(++count)), 1000)`,
      '    return () => clearInterval(timer)',
      '  },',
    )
  return lines.join('\n')
}

export function serviceTs(plan: InitPlan): string {
  return `// The ${plan.name} service: what the container runs with ZC_SERVICE=${servicePath(plan)}.
// The container owns the sockets, threads, shutdown and metrics; this file only handles messages.
import { defineService } from 'zmq-container/service'

export default defineService({
${serviceBody(plan)}
})
`
}

export function serviceJs(plan: InitPlan): string {
  return `// The ${plan.name} service: what the container runs with ZC_SERVICE=${servicePath(plan)}.
// The container owns the sockets, threads, shutdown and metrics; this file only handles messages.
const { defineService } = require('zmq-container/service')

module.exports = defineService({
${serviceBody(plan)}
})
`
}

/** The test's env: the .env's sockets without endpoints, which the harness wires itself. */
function testEnv(plan: InitPlan): string {
  const entries: string[] = []
  if (plan.sub.length > 0) entries.push(`ZMQ_SUB_TOPICS: '${plan.sub.join(',')}'`)
  if (plan.pub.length > 0) entries.push(`ZMQ_PUB_TOPICS: '${plan.pub.join(',')}'`)
  if (plan.rep) entries.push(`ZMQ_REP_ENDPOINT: 'auto'`)
  return `{ ${entries.join(', ')} }`
}

export function serviceTest(plan: InitPlan): string {
  const ts = plan.language === 'ts'
  const imports = ts
    ? `import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { startContainer } from 'zmq-container/testing'`
    : `const assert = require('node:assert/strict')
const path = require('node:path')
const { test } = require('node:test')
const { startContainer } = require('zmq-container/testing')`
  const tests: string[] = []
  const sub = plan.sub[0]
  if (sub !== undefined) {
    const topic = sampleTopic(sub)
    const reply = replyTopic(plan)
    tests.push(`test('the sub handler handles a message${reply ? ` and answers on ${reply}` : ''}', async () => {
  const container = await start()
  try {
    await container.publish('${topic}', 'hello')
${
  reply
    ? `    const message = await container.receive()
    assert.equal(message.topic, '${reply}')
    assert.equal(message.payload.toString(), 'hello')
`
    : `    // Nothing comes back to wait for: wait until the socket is done with the message.
    await container.waitForMessages(1, { socket: 'sub' })
`
}  } finally {
    await container.close()
  }
  // Counters are final once the container has stopped: what /metrics would show.
  assert.equal(container.counters().sub${ts ? '?' : ''}.handled, 1)
})`)
  }
  if (plan.rep)
    tests.push(`test('the rep handler answers a request', async () => {
  const container = await start()
  try {
    assert.equal((await container.request('ping')).toString(), 'ok: ping')
  } finally {
    await container.close()
  }
})`)
  if (sub === undefined && plan.pub.length > 0)
    tests.push(`test('the service publishes on ${plan.pub[0]}', async () => {
  const container = await start()
  try {
    const message = await container.receive({ timeoutMs: 5000 })
    assert.equal(message.topic, '${plan.pub[0]}')
  } finally {
    await container.close()
  }
})`)
  return `// The service in a container run in this process by zmq-container/testing: real worker
// threads and sockets, wired by the harness (no ports), so no process to spawn.
${imports}

const SERVICE = path.join(__dirname, '..', 'src', 'service.${ts ? 'ts' : 'js'}')

/** The container as .env sets it up, minus the endpoints: the harness picks its own. */
const start = () => startContainer({ service: SERVICE, env: ${testEnv(plan)} })

${tests.join('\n\n')}
`
}
