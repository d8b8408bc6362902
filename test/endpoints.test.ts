import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type Endpoint,
  type EndpointAction,
  isIpv6Address,
  parseEndpoint,
  parseEndpointList,
} from '../src/shared/endpoints'

function ok(raw: string, action: EndpointAction): Endpoint {
  const parsed = parseEndpoint(raw, action)
  assert.ok(parsed.ok, `${raw} (${action}) should parse: ${parsed.ok ? '' : parsed.problem}`)
  return parsed.value
}

function problem(raw: string, action: EndpointAction): string {
  const parsed = parseEndpoint(raw, action)
  assert.equal(parsed.ok, false, `${raw} (${action}) should be rejected`)
  return parsed.ok ? '' : parsed.problem
}

describe('parseEndpoint: tcp', () => {
  const accepted: [string, EndpointAction][] = [
    ['tcp://dashboard:6000', 'connect'],
    ['tcp://dashboard:6000', 'bind'],
    ['tcp://camera-1.vision.local:5555', 'connect'],
    ['tcp://localhost:1', 'connect'],
    ['tcp://127.0.0.1:65535', 'connect'],
    ['tcp://0.0.0.0:5555', 'bind'],
    ['tcp://[::1]:5555', 'connect'],
    ['tcp://[::1]:5555', 'bind'],
    ['tcp://[fe80::1%eth0]:5555', 'connect'],
    ['tcp://*:5555', 'bind'],
    ['tcp://127.0.0.1:*', 'bind'],
    ['tcp://*:*', 'bind'],
  ]
  for (const [raw, action] of accepted) {
    it(`accepts ${raw} to ${action}`, () => {
      assert.deepEqual(ok(raw, action), { address: raw, action, explicit: false })
    })
  }

  const rejected: [string, EndpointAction, RegExp][] = [
    ['tcp://*:5555', 'connect', /host \*/],
    ['tcp://dashboard:*', 'connect', /port \*/],
    ['tcp://*:*', 'connect', /\*/],
    ['tcp://dashboard:0', 'connect', /port 0/],
    ['tcp://*:0', 'bind', /port 0/],
    ['tcp://dashboard:65536', 'connect', /65536/],
    ['tcp://dashboard:99999', 'bind', /99999/],
    ['tcp://dashboard:123456', 'connect', /123456/],
    ['tcp://dashboard:abc', 'connect', /"abc"/],
    ['tcp://dashboard:-1', 'connect', /port/],
    ['tcp://dashboard:', 'connect', /port/],
    ['tcp://dashboard', 'connect', /host:port/],
    ['tcp://:5555', 'bind', /host:port/],
    ['tcp://', 'connect', /host:port/],
    ['tcp://-dashboard:6000', 'connect', /invalid host "-dashboard"/],
    ['tcp://dash board:6000', 'connect', /invalid host/],
    ['tcp://[zz::1]:6000', 'connect', /invalid host/],
    ['tcp://::1:6000', 'connect', /invalid host/],
  ]
  for (const [raw, action, re] of rejected) {
    it(`rejects ${raw} to ${action}`, () => {
      const p = problem(raw, action)
      assert.ok(p.includes(JSON.stringify(raw)), `problem names the raw value: ${p}`)
      assert.match(p, re)
    })
  }

  it('accepts ports 1 and 65535 and rejects 0 and 65536', () => {
    for (const port of [1, 65535]) ok(`tcp://h:${port}`, 'connect')
    for (const port of [0, 65536]) problem(`tcp://h:${port}`, 'connect')
  })
})

describe('parseEndpoint: ipc, inproc and schemes', () => {
  const accepted = ['ipc:///tmp/camera.sock', 'ipc://camera', 'inproc://camera', 'inproc://a.b-c']
  for (const raw of accepted) {
    for (const action of ['bind', 'connect'] as const) {
      it(`accepts ${raw} to ${action}`, () => {
        assert.deepEqual(ok(raw, action), { address: raw, action, explicit: false })
      })
    }
  }

  const rejected: [string, RegExp][] = [
    ['ipc://', /path/],
    ['inproc://', /name/],
    ['udp://dashboard:6000', /scheme "udp"/],
    ['pgm://eth0;239.192.1.1:5555', /scheme "pgm"/],
    ['epgm://eth0;239.192.1.1:5555', /scheme "epgm"/],
    ['http://dashboard:6000', /scheme "http"/],
    ['dashboard:6000', /scheme:\/\/address/],
    ['TCP://dashboard:6000', /scheme:\/\/address/],
    ['tcp:/dashboard:6000', /scheme:\/\/address/],
    ['', /scheme:\/\/address/],
  ]
  for (const [raw, re] of rejected) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      for (const action of ['bind', 'connect'] as const) {
        const p = problem(raw, action)
        assert.ok(p.includes(JSON.stringify(raw)), `problem names the raw value: ${p}`)
        assert.match(p, re)
      }
    })
  }
})

describe('parseEndpoint: @ and > role markers', () => {
  const rows: [string, EndpointAction, Endpoint][] = [
    ['@tcp://*:7000', 'connect', { address: 'tcp://*:7000', action: 'bind', explicit: true }],
    ['@tcp://*:7000', 'bind', { address: 'tcp://*:7000', action: 'bind', explicit: true }],
    [
      '>tcp://camera:5555',
      'bind',
      { address: 'tcp://camera:5555', action: 'connect', explicit: true },
    ],
    [
      '>tcp://camera:5555',
      'connect',
      { address: 'tcp://camera:5555', action: 'connect', explicit: true },
    ],
    ['@ipc:///tmp/x', 'connect', { address: 'ipc:///tmp/x', action: 'bind', explicit: true }],
    ['>inproc://x', 'bind', { address: 'inproc://x', action: 'connect', explicit: true }],
    [
      'tcp://camera:5555',
      'connect',
      { address: 'tcp://camera:5555', action: 'connect', explicit: false },
    ],
    ['tcp://*:5555', 'bind', { address: 'tcp://*:5555', action: 'bind', explicit: false }],
  ]
  for (const [raw, defaultAction, expected] of rows) {
    it(`${raw} with default ${defaultAction}`, () => {
      assert.deepEqual(parseEndpoint(raw, defaultAction), { ok: true, value: expected })
    })
  }

  it('checks the host against the forced role, not the default one', () => {
    // '>' forces connect, and connecting to '*' is meaningless.
    const p = problem('>tcp://*:5555', 'bind')
    assert.ok(p.includes('">tcp://*:5555"'), p)
    assert.match(p, /cannot connect to host \*/)
    ok('@tcp://*:5555', 'connect')
  })

  it('rejects a doubled or misplaced marker', () => {
    problem('@@tcp://*:5555', 'bind')
    problem('@>tcp://camera:5555', 'bind')
    problem('tcp://@camera:5555', 'connect')
    problem('@', 'bind')
  })
})

describe('isIpv6Address: which sockets get the IPv6 option', () => {
  it('is true for IPv6 literals only, bound or connected', () => {
    for (const raw of ['tcp://[::1]:5555', '@tcp://[::]:*', '>tcp://[fe80::1%eth0]:6000'])
      assert.equal(isIpv6Address(ok(raw, 'connect').address), true, raw)
    for (const raw of ['tcp://127.0.0.1:5555', 'tcp://*:5555', 'tcp://camera:5555', 'ipc:///tmp/x'])
      assert.equal(isIpv6Address(ok(raw, 'bind').address), false, raw)
  })
})

describe('parseEndpointList', () => {
  it('parses a comma list with spaces around entries', () => {
    const value = ' tcp://a:1 , @tcp://*:2,>ipc:///tmp/x ,inproc://y '
    const parsed = parseEndpointList(value, 'connect')
    assert.deepEqual(parsed, {
      ok: true,
      value: [
        { address: 'tcp://a:1', action: 'connect', explicit: false },
        { address: 'tcp://*:2', action: 'bind', explicit: true },
        { address: 'ipc:///tmp/x', action: 'connect', explicit: true },
        { address: 'inproc://y', action: 'connect', explicit: false },
      ],
    })
  })

  it('parses a single entry', () => {
    assert.deepEqual(parseEndpointList('tcp://*:5555', 'bind'), {
      ok: true,
      value: [{ address: 'tcp://*:5555', action: 'bind', explicit: false }],
    })
  })

  const withEmpty = [
    'tcp://a:1,,tcp://b:2',
    'tcp://a:1,',
    ',tcp://a:1',
    'tcp://a:1, ,tcp://b:2',
    '',
  ]
  for (const value of withEmpty) {
    it(`rejects an empty entry in ${JSON.stringify(value)}`, () => {
      const parsed = parseEndpointList(value, 'connect')
      assert.equal(parsed.ok, false)
      assert.match(parsed.ok ? '' : parsed.problem, /empty/)
    })
  }

  const duplicates: [string, string][] = [
    ['tcp://a:1,tcp://a:1', 'tcp://a:1'],
    ['tcp://a:1, tcp://b:2 ,tcp://a:1', 'tcp://a:1'],
    ['@ipc:///tmp/x,>ipc:///tmp/x', 'ipc:///tmp/x'],
  ]
  for (const [value, address] of duplicates) {
    it(`rejects ${address} listed twice in ${JSON.stringify(value)}`, () => {
      const parsed = parseEndpointList(value, 'connect')
      assert.equal(parsed.ok, false)
      const p = parsed.ok ? '' : parsed.problem
      assert.ok(p.includes(address), p)
      assert.match(p, /twice/)
    })
  }

  it('reports the first bad entry by its raw text', () => {
    const parsed = parseEndpointList('tcp://a:1, udp://b:2, tcp://c:abc', 'connect')
    assert.equal(parsed.ok, false)
    const p = parsed.ok ? '' : parsed.problem
    assert.ok(p.includes('"udp://b:2"'), p)
    assert.ok(!p.includes('tcp://a:1'), p)
  })

  it('applies the default action to each unmarked entry', () => {
    const parsed = parseEndpointList('tcp://*:1,>tcp://b:2', 'bind')
    assert.ok(parsed.ok)
    assert.deepEqual(
      parsed.value.map((e) => [e.action, e.explicit]),
      [
        ['bind', false],
        ['connect', true],
      ],
    )
  })
})
