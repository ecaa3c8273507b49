import { describe, expect, it } from 'vitest'
import { ChatError, fromDhtError } from '../../src/core/errors.js'
import { parseKey, shortKey, toHex, toZ32 } from '../../src/core/keys.js'
import { parseBootstrapList, resolveNetwork } from '../../src/core/network.js'

const HEX = '3b0f'.repeat(16)

function usageError(fn: () => unknown): ChatError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ChatError)
    expect((err as ChatError).exitCode).toBe(2)
    return err as ChatError
  }
  throw new Error('expected a usage error')
}

describe('parseKey', () => {
  it('accepts hex (any case, trimmed) and z-base-32, which round-trip', () => {
    const key = parseKey(HEX)
    expect(toHex(key)).toBe(HEX)
    expect(toHex(parseKey(`  ${HEX.toUpperCase()}\n`))).toBe(HEX)
    const z = toZ32(key)
    expect(z).toHaveLength(52)
    expect(toHex(parseKey(z))).toBe(HEX)
    expect(shortKey(key)).toBe(HEX.slice(0, 8))
  })

  it.each(['', 'abc', HEX.slice(1), HEX + 'a', 'g'.repeat(64), 'l'.repeat(52), 'pear://' + HEX, HEX.slice(0, 52).toUpperCase()])(
    'refuses %j with a message saying what a key looks like',
    (bad) => {
      const err = usageError(() => parseKey(bad))
      expect(err.code).toBe('INVALID_KEY')
      expect(err.message).toContain('64 hex characters or 52 z-base-32 characters')
    }
  )
})

describe('bootstrap lists', () => {
  it('parses one or several host:port entries', () => {
    expect(parseBootstrapList('127.0.0.1:49737')).toEqual([{ host: '127.0.0.1', port: 49737 }])
    expect(parseBootstrapList('10.0.0.1:1, node.example.org:65535 ,localhost:7')).toEqual([
      { host: '10.0.0.1', port: 1 },
      { host: 'node.example.org', port: 65535 },
      { host: '127.0.0.1', port: 7 }
    ])
  })

  it.each(['', ',', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'host:port', '[::1]:5', 'bad host:1', '1.2.3:80', ':80'])(
    'refuses %j naming the entry',
    (bad) => {
      const err = usageError(() => parseBootstrapList(bad))
      expect(err.message).toMatch(/--bootstrap/)
    }
  )

  it('flag beats environment; neither means the public network; loopback-only binds 127.0.0.1', () => {
    expect(resolveNetwork(undefined, {})).toEqual({})
    expect(resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: '127.0.0.1:5' })).toEqual({ bootstrap: [{ host: '127.0.0.1', port: 5 }], host: '127.0.0.1' })
    expect(resolveNetwork('10.1.1.1:6', { P2PCHAT_BOOTSTRAP: '127.0.0.1:5' })).toEqual({ bootstrap: [{ host: '10.1.1.1', port: 6 }] })
    expect(resolveNetwork('127.0.0.1:5,10.1.1.1:6', {}).host).toBeUndefined()
    expect(usageError(() => resolveNetwork(undefined, { P2PCHAT_BOOTSTRAP: 'nope' })).message).toContain('P2PCHAT_BOOTSTRAP')
  })
})

describe('fromDhtError', () => {
  it.each([
    ['PEER_NOT_FOUND', 4, /peer not found/],
    ['PEER_CONNECTION_FAILED', 5, /connection failed/],
    ['SERVER_ERROR', 5, /refused/],
    ['HOLEPUNCH_ABORTED', 6, /hole punching failed/],
    ['HOLEPUNCH_DOUBLE_RANDOMIZED_NATS', 6, /randomizing NATs/],
    ['ETIMEDOUT', 7, /timed out/]
  ])('%s → exit %i, one line', (code, exit, message) => {
    const err = fromDhtError(Object.assign(new Error(`${code}: x`), { code }))
    expect(err.code).toBe(code)
    expect(err.exitCode).toBe(exit)
    expect(err.message).toMatch(message)
    expect(err.message).not.toContain('\n')
  })

  it('keeps unknown errors one line and passes ChatErrors through', () => {
    const unknown = fromDhtError(new Error('weird'))
    expect(unknown.exitCode).toBe(5)
    expect(unknown.message).toBe('connection error: weird')
    const own = ChatError.usage('x')
    expect(fromDhtError(own)).toBe(own)
  })
})
