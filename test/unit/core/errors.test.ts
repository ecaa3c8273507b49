import { describe, it, expect } from 'vitest'
import { ChatError, escapeControls, EXIT, explainHolepunchFailure, fromDhtError, relayPairingFailed } from '../../../src/core/errors.js'

/** An error shaped like the ones hyperdht throws (Error with a string code). */
function dhtError(code: string, message = `${code}: something happened`): Error & { code: string } {
  return Object.assign(new Error(message), { code })
}

function expectOneLine(message: string): void {
  expect(message.length).toBeGreaterThan(0)
  expect(message).not.toContain('\n')
  expect(message).not.toContain('\r')
}

describe('EXIT codes', () => {
  it('have the documented values', () => {
    expect(EXIT).toEqual({
      OK: 0,
      INTERNAL: 1,
      USAGE: 2,
      IDENTITY: 3,
      PEER_NOT_FOUND: 4,
      CONNECTION_FAILED: 5,
      HOLEPUNCH_FAILED: 6,
      TIMEOUT: 7,
      CONNECTION_LOST: 8,
      NETWORK: 9,
      NOT_DELIVERED: 10,
      INVITE_WRONG_CODE: 11,
      INVITE_UNAVAILABLE: 12,
      INTERRUPTED: 130
    })
  })
})

describe('ChatError', () => {
  it('is an Error with name, code, exitCode and cause', () => {
    const cause = new Error('root')
    const e = new ChatError('SOME_CODE', 'some message', EXIT.NETWORK, { cause })
    expect(e).toBeInstanceOf(Error)
    expect(e).toBeInstanceOf(ChatError)
    expect(e.name).toBe('ChatError')
    expect(e.code).toBe('SOME_CODE')
    expect(e.message).toBe('some message')
    expect(e.exitCode).toBe(9)
    expect(e.cause).toBe(cause)
  })

  it('static helpers use the right codes and exit codes', () => {
    const usage = ChatError.usage('bad flag')
    expect([usage.code, usage.exitCode, usage.message]).toEqual(['USAGE', 2, 'bad flag'])

    const id = ChatError.identity('IDENTITY_X', 'msg', 'why')
    expect([id.code, id.exitCode, id.cause]).toEqual(['IDENTITY_X', 3, 'why'])

    const nf = ChatError.peerNotFound()
    expect([nf.code, nf.exitCode]).toEqual(['PEER_NOT_FOUND', 4])
    expectOneLine(nf.message)

    const t = ChatError.timeout(15_000)
    expect([t.code, t.exitCode]).toEqual(['TIMEOUT', 7])
    expect(t.message).toContain('after 15 s')
    expectOneLine(t.message)
    // The duration as given, never rounded to nothing.
    expect(ChatError.timeout(1).message).toContain('after 0.001 s')
    expect(ChatError.timeout(2500).message).toContain('after 2.5 s')
    expect(ChatError.inviteTimeout(400, false).message).toBe('invite timed out after 0.4 s')

    const h = ChatError.halfOpen(3)
    expect([h.code, h.exitCode]).toEqual(['HALF_OPEN', 8])
    expect(h.message).toContain('3 s')
    expectOneLine(h.message)

    // No DHT node answered: what to do, on the public network (offline: a DHT of one's own) and on a private one.
    const pub = ChatError.dhtUnreachable('the public HyperDHT bootstrap nodes', null)
    expect([pub.code, pub.exitCode]).toEqual(['NETWORK_UNREACHABLE', 9])
    expect(pub.message).toMatch(/^could not reach any DHT node \(tried the public HyperDHT bootstrap nodes\): .*online.*UDP.*'p2pchat bootstrap'.*--bootstrap HOST:PORT/)
    const priv = ChatError.dhtUnreachable('127.0.0.1:9', '127.0.0.1:9')
    expect(priv.message).toMatch(/^could not reach any DHT node \(tried 127\.0\.0\.1:9\): check that 'p2pchat bootstrap' runs at that address and that UDP to it is not blocked$/)
    expectOneLine(pub.message)
    expectOneLine(priv.message)

    const nd = ChatError.notDelivered(3, 12)
    expect([nd.code, nd.exitCode, nd.message]).toEqual(['NOT_DELIVERED', 10, '3 lines were not confirmed delivered: the peer did not acknowledge them within 12 s'])
    expect(ChatError.notDelivered(1, 5).message).toBe('1 line was not confirmed delivered: the peer did not acknowledge it within 5 s')
    expect(ChatError.notDelivered(2, null).message).toBe('2 lines were not confirmed delivered: the connection ended before the peer acknowledged them')

    const slow = ChatError.stalled(300 * 1024, 5000)
    expect([slow.code, slow.exitCode, slow.message]).toEqual(['TOO_SLOW', 8, 'disconnected: did not read its messages (300 KiB waiting, none taken for 5 s)'])
  })
})

describe('fromDhtError', () => {
  const required: Array<[string, number]> = [
    ['PEER_NOT_FOUND', 4],
    ['PEER_CONNECTION_FAILED', 5],
    ['HOLEPUNCH_ABORTED', 6],
    ['HOLEPUNCH_DOUBLE_RANDOMIZED_NATS', 6],
    ['ETIMEDOUT', 7]
  ]

  it.each(required)('maps %s to exit code %i with a one-line message', (code, exitCode) => {
    const original = dhtError(code, `${code}: raw\nlibrary\nmessage`)
    const e = fromDhtError(original)
    expect(e).toBeInstanceOf(ChatError)
    expect(e.code).toBe(code)
    expect(e.exitCode).toBe(exitCode)
    expectOneLine(e.message)
    // The plain-language text replaces the library's message.
    expect(e.message).not.toContain('raw')
    expect(e.cause).toBe(original)
  })

  it('uses the same text for PEER_NOT_FOUND as ChatError.peerNotFound()', () => {
    expect(fromDhtError(dhtError('PEER_NOT_FOUND')).message).toBe(ChatError.peerNotFound().message)
  })

  it('describes hole-punch failures as hole punching and timeouts as timeouts', () => {
    expect(fromDhtError(dhtError('HOLEPUNCH_ABORTED')).message).toMatch(/hole punch/i)
    expect(fromDhtError(dhtError('HOLEPUNCH_DOUBLE_RANDOMIZED_NATS')).message).toMatch(/NAT/)
    expect(fromDhtError(dhtError('ETIMEDOUT')).message).toMatch(/timed out/i)
    expect(fromDhtError(dhtError('PEER_NOT_FOUND')).message).toMatch(/not found/i)
  })

  const others: Array<[string, number]> = [
    ['SERVER_ERROR', 5],
    ['SERVER_INCOMPATIBLE', 5],
    ['DUPLICATE_CONNECTION', 5],
    ['HANDSHAKE_INVALID', 5],
    ['HANDSHAKE_UNFINISHED', 5],
    ['BAD_HANDSHAKE_REPLY', 5],
    ['HOLEPUNCH_PROBE_TIMEOUT', 6],
    ['HOLEPUNCH_INVALID', 6],
    ['BAD_HOLEPUNCH_REPLY', 6],
    ['CANNOT_HOLEPUNCH', 6],
    ['REMOTE_NOT_HOLEPUNCHABLE', 6],
    ['REMOTE_NOT_HOLEPUNCHING', 6],
    ['REMOTE_ABORTED', 6],
    ['ECONNRESET', 8],
    ['NODE_DESTROYED', 8]
  ]

  it.each(others)('maps %s to exit code %i with a one-line message', (code, exitCode) => {
    const e = fromDhtError(dhtError(code, 'RAWLIB\nTEXT'))
    expect(e.code).toBe(code)
    expect(e.exitCode).toBe(exitCode)
    expectOneLine(e.message)
    expect(e.message).not.toContain('RAWLIB')
  })

  it('gives every known code its own message (no copy-paste duplicates)', () => {
    const codes = [...required, ...others].map(([c]) => c)
    const messages = codes.map((c) => fromDhtError(dhtError(c)).message)
    expect(new Set(messages).size).toBe(codes.length)
  })

  it('maps a plain object with a known code (not an Error instance)', () => {
    const e = fromDhtError({ code: 'ETIMEDOUT' })
    expect(e.code).toBe('ETIMEDOUT')
    expect(e.exitCode).toBe(7)
  })

  it('maps an unknown Error without a code to CONNECTION_ERROR, exit 5 (connection failed)', () => {
    const original = new Error('something odd')
    const e = fromDhtError(original)
    expect(e).toBeInstanceOf(ChatError)
    expect(e.code).toBe('CONNECTION_ERROR')
    expect(e.exitCode).toBe(EXIT.CONNECTION_FAILED)
    expect(e.exitCode).toBe(5)
    expect(e.message).toContain('something odd')
    expectOneLine(e.message)
    expect(e.cause).toBe(original)
  })

  it('maps an Error with an unknown code to exit 5 and keeps the code', () => {
    const e = fromDhtError(dhtError('ESOMETHINGNEW', 'new failure'))
    expect(e.code).toBe('ESOMETHINGNEW')
    expect(e.exitCode).toBe(5)
    expect(e.message).toContain('new failure')
  })

  it('maps non-Error throwables to exit 5', () => {
    for (const value of ['a string', 42, null, undefined]) {
      const e = fromDhtError(value)
      expect(e).toBeInstanceOf(ChatError)
      expect(e.code).toBe('CONNECTION_ERROR')
      expect(e.exitCode).toBe(5)
      expect(e.message).toContain(String(value))
    }
  })

  it('passes a ChatError through unchanged (same instance)', () => {
    const original = ChatError.timeout(9000)
    const e = fromDhtError(original)
    expect(e).toBe(original)
    expect(e.code).toBe('TIMEOUT')
    expect(e.exitCode).toBe(7)
    expect(e.message).toBe(original.message)

    const custom = new ChatError('PEER_NOT_FOUND', 'custom text', EXIT.USAGE)
    expect(fromDhtError(custom)).toBe(custom)
    expect(custom.exitCode).toBe(2)
    expect(custom.message).toBe('custom text')
  })
})

describe('fromDhtError regressions', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('a code named like an object property (%s) is treated as unknown', (code) => {
    const err = fromDhtError(Object.assign(new Error('x'), { code }))
    expect(err.exitCode).toBe(5)
    expect(err.message).toBe('connection error: x')
  })

  it('a missing code and a multi-line message still give one clean line', () => {
    const err = fromDhtError(Object.assign(new Error('a\nb'), { code: undefined }))
    expect(err.code).toBe('CONNECTION_ERROR')
    expect(err.message).toBe('connection error: a b')
  })
})

describe('escapeControls: an error is one line whatever the user typed', () => {
  it.each([
    ['newline', 'a\nb', 'a\\nb'],
    ['carriage return and tab', 'a\rb\tc', 'a\\rb\\tc'],
    ['ESC (a terminal escape)', '\x1b[2Jx', '\\x1b[2Jx'],
    ['DEL and a C1 CSI', 'a\x7fb\x9bc', 'a\\x7fb\\x9bc'],
    ['bidi override and isolate', 'a\u202eb\u2066c', 'a\\u202eb\\u2066c'],
    ['line separator', 'a\u2028b', 'a\\u2028b'],
    ['plain text and non-ASCII letters', 'grüße, 日本', 'grüße, 日本']
  ])('%s', (_, input, expected) => {
    expect(escapeControls(input)).toBe(expected)
    expect(escapeControls(escapeControls(input))).toBe(expected) // idempotent
  })

  it('applies to every ChatError message', () => {
    const err = new ChatError('X', 'file /tmp/a\nb\x1b[31m does not exist', EXIT.IDENTITY)
    expect(err.message).toBe('file /tmp/a\\nb\\x1b[31m does not exist')
  })
})

describe('relay pairing failures', () => {
  it.each(['CHANNEL_CLOSED', 'RELAY_ABORTED'])('%s is said in words, exit 5, and worth another try through the relay', (code) => {
    const err = Object.assign(new Error(`${code}: raw text`), { code })
    const mapped = fromDhtError(err)
    expect(mapped.exitCode).toBe(EXIT.CONNECTION_FAILED)
    expect(mapped.message).toMatch(/^connection failed: the relay /)
    expect(mapped.message).not.toContain(code)
    expect(relayPairingFailed(mapped)).toBe(true)
  })

  it('a link to the relay that did not open says which relay and why, exit 5, and is worth another try', () => {
    const cause = fromDhtError(Object.assign(new Error('x'), { code: 'HOLEPUNCH_ABORTED' }))
    const err = ChatError.relayUnreachable('1d1d5ab0'.padEnd(64, '0'), cause)
    expect(err.code).toBe('RELAY_UNREACHABLE')
    expect(err.exitCode).toBe(EXIT.CONNECTION_FAILED)
    expect(err.message).toMatch(/^connection failed: could not reach relay 1d1d5ab0 \(/)
    expect(err.message).not.toContain('hole punching failed: ')
    expect(relayPairingFailed(err)).toBe(true)
    // A link whose open timeout ran out has no hyperdht error: the reason is said in words.
    const timedOut = ChatError.relayUnreachable('1d1d5ab0'.padEnd(64, '0'), 'no connection within 40 s')
    expect(timedOut.message).toBe('connection failed: could not reach relay 1d1d5ab0 (no connection within 40 s)')
    expect(relayPairingFailed(timedOut)).toBe(true)
  })

  it('other failures are not relay pairing failures', () => {
    expect(relayPairingFailed(fromDhtError(Object.assign(new Error('x'), { code: 'HOLEPUNCH_ABORTED' })))).toBe(false)
  })
})

describe('explainHolepunchFailure', () => {
  it('prints the relay command with the private network it needs, so that it works as printed (issue 19 point 13)', () => {
    const failure = fromDhtError(dhtError('HOLEPUNCH_ABORTED'))
    const pub = explainHolepunchFailure(failure, { localNatRandom: false, relaysConfigured: false })
    expect(pub.message).toContain("a relay would help: run 'p2pchat relay' on a machine both peers can reach")
    const priv = explainHolepunchFailure(failure, { localNatRandom: false, relaysConfigured: false, bootstrap: '192.168.1.10:49737' })
    expect(priv.message).toContain("a relay would help: run 'p2pchat relay --bootstrap 192.168.1.10:49737' on a machine both peers can reach")
    expect([priv.code, priv.exitCode]).toEqual(['HOLEPUNCH_ABORTED', EXIT.HOLEPUNCH_FAILED])
  })
})
