import { describe, it, expect } from 'vitest'
import { ChatError } from '../../../../src/core/errors.js'
import { formatBootstrap, isLoopback, parseBootstrapList, resolveNetwork } from '../../../../src/core/dht/network.js'

function catchError(fn: () => unknown): ChatError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(ChatError)
  return caught as ChatError
}

function expectUsage(fn: () => unknown): ChatError {
  const e = catchError(fn)
  expect(e.code).toBe('USAGE')
  expect(e.exitCode).toBe(2)
  return e
}

describe('parseBootstrapList: valid input', () => {
  it('parses a single IPv4 entry', () => {
    expect(parseBootstrapList('1.2.3.4:49737')).toEqual([{ host: '1.2.3.4', port: 49737 }])
  })

  it('parses multiple entries in order', () => {
    expect(parseBootstrapList('10.0.0.1:1,10.0.0.2:65535,192.168.1.20:8080')).toEqual([
      { host: '10.0.0.1', port: 1 },
      { host: '10.0.0.2', port: 65535 },
      { host: '192.168.1.20', port: 8080 }
    ])
  })

  it('ignores spaces around commas and the whole value', () => {
    expect(parseBootstrapList('  1.2.3.4:5 ,  6.7.8.9:10  ')).toEqual([
      { host: '1.2.3.4', port: 5 },
      { host: '6.7.8.9', port: 10 }
    ])
  })

  it('returns ports as numbers', () => {
    const [entry] = parseBootstrapList('1.2.3.4:80')
    expect(typeof entry!.port).toBe('number')
  })

  it('maps localhost to 127.0.0.1', () => {
    expect(parseBootstrapList('localhost:1234')).toEqual([{ host: '127.0.0.1', port: 1234 }])
  })

  it('allows host names', () => {
    expect(parseBootstrapList('node1.hyperdht.org:49737,my-host:1,a.b-c.example.com:2')).toEqual([
      { host: 'node1.hyperdht.org', port: 49737 },
      { host: 'my-host', port: 1 },
      { host: 'a.b-c.example.com', port: 2 }
    ])
  })

  it('accepts the port range boundaries 1 and 65535', () => {
    expect(parseBootstrapList('1.1.1.1:1')[0]!.port).toBe(1)
    expect(parseBootstrapList('1.1.1.1:65535')[0]!.port).toBe(65535)
  })
})

describe('parseBootstrapList: invalid input', () => {
  const badEntries: Array<[string, string, string]> = [
    // [description, full value, offending entry that must be named]
    ['missing port', '1.2.3.4', '1.2.3.4'],
    ['empty port', '1.2.3.4:', '1.2.3.4:'],
    ['missing host', ':80', ':80'],
    ['port 0', '1.2.3.4:0', '1.2.3.4:0'],
    ['port 65536', '1.2.3.4:65536', '1.2.3.4:65536'],
    ['port 70000', '1.2.3.4:70000', '1.2.3.4:70000'],
    ['non-numeric port', '1.2.3.4:http', '1.2.3.4:http'],
    ['negative port', '1.2.3.4:-1', '1.2.3.4:-1'],
    ['fractional port', '1.2.3.4:80.5', '1.2.3.4:80.5'],
    ['port with a space', '1.2.3.4: 80', '1.2.3.4: 80'],
    ['bracketed IPv6', '[::1]:5', '[::1]:5'],
    ['bare IPv6', '::1:5', '::1:5'],
    ['three-part dotted number', '1.2.3:80', '1.2.3:80'],
    ['out-of-range IPv4', '256.1.1.1:80', '256.1.1.1:80'],
    ['underscore in host name', 'bad_host:80', 'bad_host:80'],
    ['host name starting with a hyphen', '-bad.example:80', '-bad.example:80'],
    ['two colons in a host name', 'a:b:80', 'a:b:80'],
    ['URL instead of host:port', 'udp://1.2.3.4:80', 'udp://1.2.3.4:80']
  ]

  it.each(badEntries)('%s → USAGE naming the entry', (_name, value, entry) => {
    const e = expectUsage(() => parseBootstrapList(value))
    expect(e.message).toContain(JSON.stringify(entry))
    expect(e.message).toContain('--bootstrap')
  })

  it('names the bad entry when the others are fine', () => {
    const e = expectUsage(() => parseBootstrapList('1.2.3.4:5, oops ,6.7.8.9:10'))
    expect(e.message).toContain('"oops"')
    expect(e.message).not.toContain('6.7.8.9')
  })

  it('rejects an empty string', () => {
    const e = expectUsage(() => parseBootstrapList(''))
    expect(e.message).toContain('empty')
  })

  it('rejects whitespace only', () => {
    expectUsage(() => parseBootstrapList('   '))
  })

  it('rejects ",,"', () => {
    const e = expectUsage(() => parseBootstrapList(',,'))
    expect(e.message).toContain('empty')
  })

  it('rejects an empty entry between valid ones', () => {
    const e = expectUsage(() => parseBootstrapList('1.2.3.4:5,,6.7.8.9:10'))
    expect(e.message).toContain('""')
  })

  it('uses the given source name in messages', () => {
    const e = expectUsage(() => parseBootstrapList('nope', 'SOMEWHERE'))
    expect(e.message).toContain('SOMEWHERE')
    expect(e.message).not.toContain('--bootstrap')
  })

  it('messages stay on one line', () => {
    for (const v of ['', '1.2.3.4', '[::1]:5', 'x:0']) {
      const e = expectUsage(() => parseBootstrapList(v))
      expect(e.message).not.toContain('\n')
    }
  })
})

describe('isLoopback', () => {
  it('is true for 127.0.0.0/8 and localhost', () => {
    expect(isLoopback('127.0.0.1')).toBe(true)
    expect(isLoopback('127.1.2.3')).toBe(true)
    expect(isLoopback('localhost')).toBe(true)
  })

  it('is false for other addresses and names', () => {
    for (const h of ['0.0.0.0', '10.0.0.1', '128.0.0.1', '1.127.0.0', 'example.com', '127.example.com', '::1']) {
      expect(isLoopback(h)).toBe(false)
    }
  })
})

describe('formatBootstrap', () => {
  it('is the inverse of parseBootstrapList', () => {
    const text = '127.0.0.1:49737,example.com:1,10.0.0.2:65535'
    expect(formatBootstrap(parseBootstrapList(text))).toBe(text)
    expect(formatBootstrap([])).toBe('')
  })
})

describe('resolveNetwork', () => {
  it('uses the public network ({}) with neither flag nor env', () => {
    expect(resolveNetwork(undefined, {})).toEqual({})
  })

  it('treats an empty P2PCHAT_BOOTSTRAP as unset', () => {
    expect(resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: '' })).toEqual({})
  })

  it('ignores unrelated environment variables', () => {
    expect(resolveNetwork(undefined, { BOOTSTRAP: '1.2.3.4:5', HOME: '/root' })).toEqual({})
  })

  it('uses the flag when given', () => {
    expect(resolveNetwork('1.2.3.4:5', {})).toEqual({ bootstrap: [{ host: '1.2.3.4', port: 5 }] })
  })

  it('uses P2PCHAT_BOOTSTRAP when there is no flag', () => {
    expect(resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: '5.6.7.8:9,example.org:10' })).toEqual({
      bootstrap: [
        { host: '5.6.7.8', port: 9 },
        { host: 'example.org', port: 10 }
      ]
    })
  })

  it('lets the flag win over P2PCHAT_BOOTSTRAP', () => {
    expect(resolveNetwork('1.2.3.4:5', { P2PCHAT_BOOTSTRAP: '5.6.7.8:9' })).toEqual({
      bootstrap: [{ host: '1.2.3.4', port: 5 }]
    })
  })

  it('does not even parse P2PCHAT_BOOTSTRAP when the flag is given', () => {
    expect(resolveNetwork('1.2.3.4:5', { P2PCHAT_BOOTSTRAP: 'garbage' })).toEqual({
      bootstrap: [{ host: '1.2.3.4', port: 5 }]
    })
  })

  it('rejects an explicitly empty flag instead of falling back', () => {
    const e = expectUsage(() => resolveNetwork('', { P2PCHAT_BOOTSTRAP: '5.6.7.8:9' }))
    expect(e.message).toContain('--bootstrap')
  })

  it('sets host 127.0.0.1 when every entry is loopback', () => {
    expect(resolveNetwork('127.0.0.1:1,localhost:2,127.9.9.9:3', {})).toEqual({
      bootstrap: [
        { host: '127.0.0.1', port: 1 },
        { host: '127.0.0.1', port: 2 },
        { host: '127.9.9.9', port: 3 }
      ],
      host: '127.0.0.1'
    })
    expect(resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: 'localhost:49737' }).host).toBe('127.0.0.1')
  })

  it('leaves host unset when any entry is not loopback', () => {
    const net = resolveNetwork('127.0.0.1:1,10.0.0.1:2', {})
    expect(net.host).toBeUndefined()
    expect('host' in net).toBe(false)
    expect(net.bootstrap).toHaveLength(2)
    expect(resolveNetwork('example.com:1', {}).host).toBeUndefined()
  })

  it('names P2PCHAT_BOOTSTRAP in the error for a malformed env value', () => {
    const e = expectUsage(() => resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: '1.2.3.4:99999' }))
    expect(e.message).toContain('P2PCHAT_BOOTSTRAP')
    expect(e.message).toContain('"1.2.3.4:99999"')
    expect(e.message).not.toContain('--bootstrap')
  })

  it('names P2PCHAT_BOOTSTRAP when the env value is only commas', () => {
    const e = expectUsage(() => resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: ',' }))
    expect(e.message).toContain('P2PCHAT_BOOTSTRAP')
  })

  it('names --bootstrap in the error for a malformed flag', () => {
    const e = expectUsage(() => resolveNetwork('host-without-port', {}))
    expect(e.message).toContain('--bootstrap')
    expect(e.message).toContain('"host-without-port"')
    expect(e.message).not.toContain('P2PCHAT_BOOTSTRAP')
  })
})

describe('localhost in any case', () => {
  it('maps LOCALHOST to 127.0.0.1 and binds loopback', () => {
    expect(resolveNetwork('LocalHost:49737', {})).toEqual({ bootstrap: [{ host: '127.0.0.1', port: 49737 }], host: '127.0.0.1' })
  })
})
