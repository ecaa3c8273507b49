import { randomBytes } from 'node:crypto'
import { describe, it, expect } from 'vitest'
import { ChatError, EXIT } from '../../../../src/core/errors.js'
import { isKey, parseKey, shortKey, toHex, toZ32 } from '../../../../src/core/store/keys.js'

const Z32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769'

// A fixed key with its encodings (computed independently of the module under test for hex).
const KEY = Buffer.from('0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff', 'hex')
const KEY_HEX = '0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff'

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected the call to throw')
}

function expectInvalidKey(input: string): ChatError {
  const err = catchError(() => parseKey(input))
  expect(err).toBeInstanceOf(ChatError)
  const e = err as ChatError
  expect(e.code).toBe('INVALID_KEY')
  expect(e.exitCode).toBe(2)
  expect(e.exitCode).toBe(EXIT.USAGE)
  expect(e.message).toContain('64 hex')
  expect(e.message).toContain('52 z-base-32')
  return e
}

describe('toHex / toZ32 / shortKey', () => {
  it('toHex gives 64 lower-case hex characters', () => {
    expect(toHex(KEY)).toBe(KEY_HEX)
    expect(toHex(Buffer.alloc(32, 0xff))).toBe('f'.repeat(64))
  })

  it('toHex encodes only the bytes of a view, not its backing buffer', () => {
    const backing = Buffer.alloc(40, 0xee)
    KEY.copy(backing, 5)
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 5, 32)
    expect(toHex(view)).toBe(KEY_HEX)
  })

  it('toZ32 gives 52 characters from the z-base-32 alphabet', () => {
    for (const key of [KEY, Buffer.alloc(32), Buffer.alloc(32, 0xff), randomBytes(32)]) {
      const z = toZ32(key)
      expect(z).toHaveLength(52)
      for (const c of z) expect(Z32_ALPHABET).toContain(c)
    }
    // z-base-32 of all-zero bytes is all 'y' (the digit 0).
    expect(toZ32(Buffer.alloc(32))).toBe('y'.repeat(52))
  })

  it('shortKey is the first 8 hex characters', () => {
    expect(shortKey(KEY)).toBe('01234567')
    const k = randomBytes(32)
    expect(shortKey(k)).toBe(k.toString('hex').slice(0, 8))
    expect(shortKey(k)).toHaveLength(8)
  })
})

describe('parseKey accepts', () => {
  it('64 lower-case hex characters', () => {
    const k = parseKey(KEY_HEX)
    expect(Buffer.isBuffer(k)).toBe(true)
    expect(k).toHaveLength(32)
    expect(k.equals(KEY)).toBe(true)
  })

  it('64 upper-case and mixed-case hex characters', () => {
    expect(parseKey(KEY_HEX.toUpperCase()).equals(KEY)).toBe(true)
    const mixed = [...KEY_HEX].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')
    expect(parseKey(mixed).equals(KEY)).toBe(true)
  })

  it('hex with surrounding whitespace', () => {
    expect(parseKey(`  ${KEY_HEX}  `).equals(KEY)).toBe(true)
    expect(parseKey(`\t${KEY_HEX}\n`).equals(KEY)).toBe(true)
    expect(parseKey(`\r\n ${KEY_HEX.toUpperCase()} \r\n`).equals(KEY)).toBe(true)
  })

  it('52 z-base-32 characters', () => {
    const z = toZ32(KEY)
    const k = parseKey(z)
    expect(k).toHaveLength(32)
    expect(k.equals(KEY)).toBe(true)
  })

  it('upper-case and mixed-case z-base-32, as hex is (a key retyped from a printout in capitals)', () => {
    const z = toZ32(KEY)
    expect(parseKey(z.toUpperCase()).equals(KEY)).toBe(true)
    expect(parseKey([...z].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')).equals(KEY)).toBe(true)
    expect(isKey(z.toUpperCase())).toBe(true)
    // Still only the z-base-32 alphabet, whatever the case: L, V, 0 and 2 are not in it.
    expectInvalidKey('L' + z.slice(1).toUpperCase())
    expectInvalidKey(z.slice(0, 51).toUpperCase() + 'V')
  })

  it('z-base-32 with surrounding whitespace', () => {
    expect(parseKey(`\n  ${toZ32(KEY)}\t `).equals(KEY)).toBe(true)
  })

  it('round-trips random keys through hex and z-base-32', () => {
    for (let i = 0; i < 50; i++) {
      const key = randomBytes(32)
      expect(parseKey(toHex(key)).equals(key)).toBe(true)
      expect(parseKey(toZ32(key)).equals(key)).toBe(true)
      expect(toHex(parseKey(toZ32(key)))).toBe(toHex(key))
      expect(toZ32(parseKey(toHex(key)))).toBe(toZ32(key))
    }
  })

  it('round-trips edge keys (all zero, all 0xff)', () => {
    for (const key of [Buffer.alloc(32), Buffer.alloc(32, 0xff)]) {
      expect(parseKey(toHex(key)).equals(key)).toBe(true)
      expect(parseKey(toZ32(key)).equals(key)).toBe(true)
    }
  })
})

describe('parseKey rejects', () => {
  const cases: Array<[string, string]> = [
    ['empty string', ''],
    ['whitespace only', '   \t\n'],
    ['63 hex characters', KEY_HEX.slice(0, 63)],
    ['65 hex characters', KEY_HEX + 'a'],
    ['64 characters with a non-hex letter', KEY_HEX.slice(0, 63) + 'g'],
    ['64 characters with an inner space', KEY_HEX.slice(0, 30) + ' ' + KEY_HEX.slice(31)],
    ['0x-prefixed hex', '0x' + KEY_HEX],
    ['32 hex characters (16-byte key)', KEY_HEX.slice(0, 32)],
    ['128 hex characters (a secret key)', KEY_HEX + KEY_HEX],
    ['51 z-base-32 characters', toZ32(KEY).slice(0, 51)],
    ['53 z-base-32 characters', toZ32(KEY) + 'y'],
    ['52 characters with "l" (outside z32)', 'l' + toZ32(KEY).slice(1)],
    ['52 characters with "v" (outside z32)', toZ32(KEY).slice(0, 51) + 'v'],
    ['52 characters with "0" (outside z32)', '0' + toZ32(KEY).slice(1)],
    ['52 characters with "2" (outside z32)', toZ32(KEY).slice(0, 20) + '2' + toZ32(KEY).slice(21)],
    ['52 hex-like characters (0 and 2 are not z32)', '0123456789abcdef0123456789abcdef0123456789abcdef0123'],
    ['52 zeros', '0'.repeat(52)],
    ['52 characters with punctuation', '-' + toZ32(KEY).slice(1)],
    ['pear:// + z-base-32', 'pear://' + toZ32(KEY)],
    ['pear:// + hex', 'pear://' + KEY_HEX],
    ['pear:// + z-base-32 + path', 'pear://' + toZ32(KEY) + '/app'],
    ['base64 of the key', KEY.toString('base64')],
    ['hex with a newline inside', KEY_HEX.slice(0, 32) + '\n' + KEY_HEX.slice(32)]
  ]

  it.each(cases)('%s', (_name, input) => {
    expectInvalidKey(input)
  })

  it('names the bad input in the message', () => {
    const e = expectInvalidKey('not-a-key')
    expect(e.message).toContain('"not-a-key"')
    expect(e.name).toBe('ChatError')
    expect(e).toBeInstanceOf(Error)
  })

  it('shortens a very long bad input in the message', () => {
    const input = 'q'.repeat(500)
    const e = expectInvalidKey(input)
    expect(e.message).not.toContain(input)
    expect(e.message).toContain('q'.repeat(77) + '...')
    expect(e.message).not.toContain('q'.repeat(78))
  })
})

describe('isKey', () => {
  it('is true for what parseKey accepts', () => {
    expect(isKey(KEY_HEX)).toBe(true)
    expect(isKey(KEY_HEX.toUpperCase())).toBe(true)
    expect(isKey(` ${toZ32(KEY)} `)).toBe(true)
  })

  it('is false for what parseKey rejects', () => {
    for (const s of ['', KEY_HEX.slice(1), 'pear://' + toZ32(KEY), '0'.repeat(52), toZ32(KEY) + 'y']) {
      expect(isKey(s)).toBe(false)
    }
  })
})

describe('z-base-32 canonical form', () => {
  it('refuses a z32 spelling whose spare bits are set', () => {
    const z = toZ32(Buffer.alloc(32, 0xab))
    expect(toHex(parseKey(z))).toBe('ab'.repeat(32))
    const alias = z.slice(0, 51) + (z.endsWith('o') ? 't' : 'o')
    expect(() => parseKey(alias)).toThrow(/invalid key/)
  })
})
