import { createHash, randomBytes } from 'node:crypto'
import sodium from 'sodium-native'
import { describe, expect, it } from 'vitest'
import { safetyWords } from '../../../../src/core/peer/safety.js'
import { BIP39_ENGLISH } from '../../../../src/core/wordlist.js'
import { formatSafetyWords, formatVerifyRow } from '../../../../src/ui/format.js'
import { HELP_TEXT, parseInput } from '../../../../src/ui/interactive/slash.js'

// SHA-256 of the official file bitcoin/bips bip-0039/english.txt (13116 bytes, one word a line,
// a final newline), computed from the file itself (identical in trezor/python-mnemonic).
const OFFICIAL_ENGLISH_SHA256 = '2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda'

/** The derivation written out again, independently: keyed BLAKE2b-256, then the first 44 bits as a bit string. */
function reference(hash: Buffer): string[] {
  const d = Buffer.alloc(32)
  sodium.crypto_generichash(d, hash, Buffer.from('p2pchat/safety-words/v1'))
  const bits = [...d.subarray(0, 6)].map((b) => b.toString(2).padStart(8, '0')).join('')
  return [0, 1, 2, 3].map((i) => BIP39_ENGLISH[parseInt(bits.slice(i * 11, i * 11 + 11), 2)]!)
}

describe('the BIP39 English wordlist', () => {
  it('is the official list: 2048 distinct words whose file hashes to the official SHA-256', () => {
    expect(BIP39_ENGLISH).toHaveLength(2048)
    expect(new Set(BIP39_ENGLISH).size).toBe(2048)
    expect(BIP39_ENGLISH.every((w) => /^[a-z]{3,8}$/.test(w))).toBe(true)
    expect(createHash('sha256').update(BIP39_ENGLISH.join('\n') + '\n').digest('hex')).toBe(OFFICIAL_ENGLISH_SHA256)
    expect([BIP39_ENGLISH[0], BIP39_ENGLISH[1], BIP39_ENGLISH[2047]]).toEqual(['abandon', 'ability', 'zoo'])
  })
})

describe('safetyWords', () => {
  it('derives 4 words from a fixed handshake hash (a golden value, and the same as an independent derivation)', () => {
    const hash = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
    // d = 1ad75fc4db17…: bits 00011010110 10111010111 11110001001 10110110001 → 214, 1495, 1929, 1457.
    expect(safetyWords(hash)).toEqual(['bracket', 'road', 'van', 'renew'])
    expect(reference(hash)).toEqual(['bracket', 'road', 'van', 'renew'])
  })

  it('agrees with the independent derivation on random hashes, edge bits included', () => {
    for (let i = 0; i < 200; i++) {
      const hash = randomBytes(32)
      expect(safetyWords(hash)).toEqual(reference(hash))
    }
    // A Uint8Array view into a larger buffer is read at its own offset.
    const big = randomBytes(64)
    expect(safetyWords(new Uint8Array(big.buffer, big.byteOffset + 16, 32))).toEqual(reference(big.subarray(16, 48)))
  })

  it('differs for different hashes and is refused for an empty one', () => {
    const a = Buffer.alloc(32, 1)
    const b = Buffer.alloc(32, 1)
    b[31] = 2
    expect(safetyWords(a)).not.toEqual(safetyWords(b))
    expect(() => safetyWords(Buffer.alloc(0))).toThrow(/empty/)
  })
})

describe('safety words in the UI', () => {
  it('formats the notice and the /verify row', () => {
    const words = ['orbit', 'tunnel', 'maple', 'acid']
    expect(formatSafetyWords(words, null, '/verify')).toBe(
      "safety words: orbit tunnel maple acid (compare them with the peer's to rule out anyone in the middle; /verify shows them again)"
    )
    expect(formatSafetyWords(words, 'alice', null)).toBe("safety words with alice: orbit tunnel maple acid (compare them with the peer's to rule out anyone in the middle)")
    expect(formatVerifyRow(words, 'alice')).toBe('safety words with alice: orbit tunnel maple acid')
    expect(formatVerifyRow(null, 'alice')).toContain('not known yet')
  })

  it('parses /verify with and without a peer, and lists it in /help', () => {
    expect(parseInput('/verify')).toEqual({ kind: 'verify', target: null })
    expect(parseInput('/verify  alice ')).toEqual({ kind: 'verify', target: 'alice' })
    expect(parseInput('/VERIFY 9c21')).toEqual({ kind: 'verify', target: '9c21' })
    expect(parseInput('/verify a b')).toEqual({ kind: 'usage', message: 'usage: /verify [peer]' })
    expect(HELP_TEXT).toContain('/verify [peer]')
  })
})
