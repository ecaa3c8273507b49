import sodium from 'sodium-native'
import { describe, expect, it } from 'vitest'
import { CPace, PakeError, generator, generatorString, lvCat, prependLen } from '../../../../src/core/invite/pake.js'

const ci = Buffer.from('channel')
const sid = Buffer.alloc(32, 7)
const pw = (s: string) => Buffer.from(s)

function run(pwJ: string, pwL: string, sidJ = sid, sidL = sid) {
  const j = new CPace(true, pw(pwJ), ci, sidJ)
  const l = new CPace(false, pw(pwL), ci, sidL)
  return { j: j.finish(l.share), l: l.finish(j.share), shares: [j.share, l.share] }
}

describe('CPace on Ed25519 (libsodium)', () => {
  it("encodes lengths as the draft's prepend_len / lv_cat (LEB128)", () => {
    expect(lvCat(pw('1234'), pw('5'), pw(''), pw('678')).toString('hex')).toBe('04313233340135000336373' + '8')
    expect(prependLen(Buffer.alloc(127)).subarray(0, 1).toString('hex')).toBe('7f')
    expect(prependLen(Buffer.alloc(128)).subarray(0, 2).toString('hex')).toBe('8001')
    expect(prependLen(Buffer.alloc(300)).subarray(0, 2).toString('hex')).toBe('ac02')
  })

  it('pads the generator string so that DSI and PRS fill one SHA-512 block', () => {
    const s = generatorString(pw('Password'), ci, sid)
    // lv(DSI) + lv(PRS) + lv(ZPAD) = 128 bytes, then lv(CI), lv(sid).
    expect(s.byteLength).toBe(128 + 1 + ci.byteLength + 1 + sid.byteLength)
  })

  it('the generator is a valid point of the prime-order subgroup, and differs per password, channel and session', () => {
    const g = generator(pw('a'), ci, sid)
    expect(sodium.crypto_core_ed25519_is_valid_point(g)).toBe(true)
    expect(generator(pw('b'), ci, sid).equals(g)).toBe(false)
    expect(generator(pw('a'), pw('other'), sid).equals(g)).toBe(false)
    expect(generator(pw('a'), ci, Buffer.alloc(32, 8)).equals(g)).toBe(false)
  })

  it('same password: both sides get the same 64-byte key; a new run gives a new key', () => {
    const a = run('orbit-tunnel-maple', 'orbit-tunnel-maple')
    expect(a.j.equals(a.l)).toBe(true)
    expect(a.j.byteLength).toBe(64)
    const b = run('orbit-tunnel-maple', 'orbit-tunnel-maple')
    expect(b.j.equals(a.j)).toBe(false)
    for (const y of [...a.shares, ...b.shares]) expect(sodium.crypto_core_ed25519_is_valid_point(y)).toBe(true)
  })

  it('a different password or a different session id gives different keys', () => {
    const wrong = run('orbit-tunnel-maple', 'orbit-tunnel-mango')
    expect(wrong.j.equals(wrong.l)).toBe(false)
    const otherSession = run('same', 'same', sid, Buffer.alloc(32, 9))
    expect(otherSession.j.equals(otherSession.l)).toBe(false)
  })

  it('refuses invalid shares: the identity, a small-order point, a non-point, a short share', () => {
    const identity = Buffer.alloc(32)
    identity[0] = 1
    const smallOrder = Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex')
    const notAPoint = Buffer.alloc(32, 0xff)
    for (const bad of [identity, smallOrder, notAPoint, Buffer.alloc(31, 1), Buffer.alloc(32)]) {
      expect(() => new CPace(true, pw('x'), ci, sid).finish(bad)).toThrow(PakeError)
    }
  })

  it('a run finishes once', () => {
    const j = new CPace(true, pw('x'), ci, sid)
    const l = new CPace(false, pw('x'), ci, sid)
    j.finish(l.share)
    expect(() => j.finish(l.share)).toThrow(PakeError)
  })

  it('known answer (fixed scalars): the protocol v1 key does not change unnoticed', () => {
    const scalar = (n: number) => {
      const s = Buffer.alloc(32)
      s[0] = n
      return s
    }
    const j = new CPace(true, pw('orbit-tunnel-maple'), ci, sid, scalar(3))
    const l = new CPace(false, pw('orbit-tunnel-maple'), ci, sid, scalar(5))
    const isk = j.finish(l.share)
    expect(l.finish(j.share).equals(isk)).toBe(true)
    expect(isk.toString('hex')).toBe('1c884b03d6cf20d48ebc60c2e2170af8a66495ca0a3ba66f84a0c73e34167ec22f316c22e65259d7f4c4a9f6466a345357e1a59a427aac9ee69cf19feef232c1')
  })
})
