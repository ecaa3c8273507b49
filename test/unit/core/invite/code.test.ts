import { describe, expect, it } from 'vitest'
import { ChatError } from '../../../../src/core/errors.js'
import { looksLikeInviteCode, newInviteCode, parseInviteCode } from '../../../../src/core/invite/code.js'
import { rendezvousTopic } from '../../../../src/core/invite/protocol.js'
import { BIP39_ENGLISH } from '../../../../src/core/wordlist.js'

describe('invite code format', () => {
  it('a new code is a number and 3 distinct-looking list words, and parses back to itself', () => {
    const code = newInviteCode(7)
    expect(code.text).toMatch(/^7-[a-z]+-[a-z]+-[a-z]+$/)
    for (const w of code.words) expect(BIP39_ENGLISH).toContain(w)
    expect(parseInviteCode(code.text)).toEqual(code)
  })

  it('what a person types: any case, spaces or dashes, a word by its first four letters', () => {
    const canonical = parseInviteCode('7-orbit-tunnel-maple')
    expect(canonical.text).toBe('7-orbit-tunnel-maple')
    for (const typed of ['7 orbit tunnel maple', ' 7-ORBIT-Tunnel-maple ', '7 - orbi tunn mapl', '007-orbit-tunnel-maple']) {
      expect(parseInviteCode(typed)).toEqual(canonical)
    }
  })

  it('a word not on the list is an error naming it, with the closest word; a short or wrong-length code is refused', () => {
    const err = (s: string) => {
      try {
        parseInviteCode(s)
      } catch (e) {
        expect(e).toBeInstanceOf(ChatError)
        return (e as ChatError).message
      }
      throw new Error(`${s} parsed`)
    }
    expect(err('7-orbit-tunel-maple')).toContain('"tunel" is not an invite word (tunnel?)')
    // A prefix that starts right but goes on wrong is not the word.
    expect(err('7-orbitz-tunnel-maple')).toContain('"orbitz" is not an invite word')
    expect(err('7-orbit-tunnel')).toContain('a number and 3 words')
    expect(err('7-orbit-tunnel-maple-acid')).toContain('a number and 3 words')
    expect(err('0-orbit-tunnel-maple')).toContain('starts with the number')
  })

  it('tells codes from contact names and keys', () => {
    expect(looksLikeInviteCode('7-orbit-tunnel-maple')).toBe(true)
    expect(looksLikeInviteCode('7 orbit tunnel')).toBe(true)
    expect(looksLikeInviteCode('alice')).toBe(false)
    expect(looksLikeInviteCode('a'.repeat(64))).toBe(false)
    expect(looksLikeInviteCode('1234')).toBe(false)
  })

  it('the rendezvous topic depends on the number only (never on the secret words), and differs per number', () => {
    const a = rendezvousTopic(7)
    expect(rendezvousTopic(7).equals(a)).toBe(true)
    expect(rendezvousTopic(8).equals(a)).toBe(false)
    expect(a.byteLength).toBe(32)
  })
})
