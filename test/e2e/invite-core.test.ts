// The invite protocol (src/core/invite/) between real hyperdht nodes on a
// loopback testnet: pairing, wrong words, expiry, a racing third party, an
// impostor at the rendezvous, replayed messages. The CLI around it is tested
// in invite.test.ts.
import type DHT from 'hyperdht'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatError } from '../../src/core/errors.js'
import { generateIdentity } from '../../src/core/store/identity.js'
import { parseInviteCode, type InviteCode } from '../../src/core/invite/code.js'
import { Invitation, type InvitationEnd } from '../../src/core/invite/invitation.js'
import { MAX_MESSAGE_BYTES } from '../../src/core/invite/protocol.js'
import { redeemInvite } from '../../src/core/invite/redeem.js'
import { joinNetwork } from '../../src/core/dht/network.js'
import { createNetwork } from '../helpers/net.js'

let net: Awaited<ReturnType<typeof createNetwork>>
const nodes: DHT[] = []
async function node(): Promise<DHT> {
  const dht = await joinNetwork({ bootstrap: net.bootstrap, host: '127.0.0.1' })
  nodes.push(dht)
  return dht
}
beforeAll(async () => {
  net = await createNetwork()
})
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.destroy().catch(() => {})))
  await net.close()
})

const inviter = generateIdentity()
const joiner = generateIdentity()

async function open(dht: DHT, opts: Partial<Parameters<typeof Invitation.open>[1]> = {}) {
  const inv = await Invitation.open(dht, { identity: inviter, name: 'alice', uses: 1, expiresMs: 60_000, ...opts })
  const events: string[] = []
  inv.on('contested', (key) => events.push(`contested:${key.toString('hex').slice(0, 8)}`))
  const paired: Array<{ key: string; name: string; left: number }> = []
  inv.on('paired', (p, left) => paired.push({ key: p.key.toString('hex'), name: p.name, left }))
  inv.on('wrong-code', () => events.push('wrong-code'))
  const ended = new Promise<InvitationEnd>((resolve) => inv.on('ended', resolve))
  inv.on('ended', (r) => events.push(`ended:${r}`))
  return { inv, events, paired, ended }
}

const redeem = (dht: DHT, code: InviteCode, identity = joiner, name = 'bob') => redeemInvite(dht, code, { identity, name, timeoutMs: 20_000 })
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the invite to fail')
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(ChatError)
      return err as ChatError
    }
  )
function wrongWords(code: InviteCode): InviteCode {
  const words = [...code.words]
  words[2] = words[2] === 'zoo' ? 'abandon' : 'zoo'
  return parseInviteCode([code.nameplate, ...words].join('-'))
}

describe('invite codes between real DHT nodes', () => {
  it('pairs once: each side gets the other\'s proven key and offered name; the code is then used up (exit 12 for the next)', async () => {
    const a = await node()
    const b = await node()
    const { inv, paired, ended } = await open(a)
    expect(inv.code.text).toMatch(/^\d+-[a-z]+-[a-z]+-[a-z]+$/)
    const got = await redeem(b, parseInviteCode(inv.code.text.toUpperCase().replace(/-/g, ' ')))
    expect(got.key.equals(inviter.publicKey)).toBe(true)
    expect(got.name).toBe('alice')
    expect(await ended).toBe('used')
    expect(paired).toEqual([{ key: joiner.publicKey.toString('hex'), name: 'bob', left: 0 }])
    const again = await failure(redeem(b, inv.code))
    expect([again.code, again.exitCode]).toEqual(['INVITE_UNAVAILABLE', 12])
  }, 60_000)

  it('--invite-uses 2: two joiners pair, a third finds it used up', async () => {
    const a = await node()
    const b = await node()
    const { inv, paired, ended } = await open(a, { uses: 2 })
    const second = generateIdentity()
    await redeem(b, inv.code)
    await redeem(b, inv.code, second, 'carol')
    expect(await ended).toBe('used')
    expect(paired.map((p) => [p.name, p.left])).toEqual([['bob', 1], ['carol', 0]])
    expect((await failure(redeem(b, inv.code))).exitCode).toBe(12)
  }, 60_000)

  it('a wrong word: the joiner gets exit 11, the inviter is told and burns the code; the right words then get exit 12', async () => {
    const a = await node()
    const b = await node()
    const { inv, events, paired, ended } = await open(a, { uses: 3 })
    const wrong = await failure(redeem(b, wrongWords(inv.code)))
    expect([wrong.code, wrong.exitCode]).toEqual(['INVITE_WRONG_CODE', 11])
    expect(wrong.message).toMatch(/burned/)
    expect(await ended).toBe('burned')
    expect(events).toEqual(['wrong-code', 'ended:burned'])
    const right = await failure(redeem(b, inv.code))
    expect([right.code, right.exitCode]).toEqual(['INVITE_UNAVAILABLE', 12])
    expect(paired).toEqual([])
  }, 60_000)

  it('an expired code is unannounced: exit 12', async () => {
    const a = await node()
    const b = await node()
    const { inv, ended } = await open(a, { expiresMs: 1000 })
    expect(await ended).toBe('expired')
    const late = await failure(redeem(b, inv.code))
    expect([late.code, late.exitCode]).toEqual(['INVITE_UNAVAILABLE', 12])
  }, 60_000)

  it('a third party racing to the rendezvous with guesses, all at once, burns the code with its first wrong guess and pairs nobody', async () => {
    const a = await node()
    const attackers = await Promise.all([node(), node()])
    const b = await node()
    const { inv, events, paired, ended } = await open(a, { uses: 5 })
    const guesses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const words = ['abandon', 'ability', 'able'].map((w, k) => (k === 0 ? ['abandon', 'ability', 'able', 'about', 'above', 'absent'][i]! : w))
        return failure(redeem(attackers[i % 2]!, { ...inv.code, words }, generateIdentity(), 'mallory'))
      })
    )
    // Every guess failed; exactly one was judged (the first), the rest found the code burned or gone.
    for (const g of guesses) expect(['INVITE_WRONG_CODE', 'INVITE_UNAVAILABLE', 'PEER_NOT_FOUND']).toContain(g.code)
    expect(guesses.filter((g) => g.code === 'INVITE_WRONG_CODE').length).toBeGreaterThanOrEqual(1)
    expect(await ended).toBe('burned')
    expect(events.filter((e) => e === 'wrong-code')).toHaveLength(1)
    expect(paired).toEqual([])
    expect((await failure(redeem(b, inv.code))).exitCode).toBe(12)
  }, 90_000)

  it('a squatter announcing the same number: the joiner sees two keys and sends no guess (exit 12); the inviter is told', async () => {
    const real = await node()
    const mallory = await node()
    const b = await node()
    const { inv, events, paired } = await open(real, { contentionCheckMs: 300 })
    // Anyone can announce under a number; nobody can replace or remove the inviter's announcement.
    const impostor = await open(mallory, { nameplate: inv.code.nameplate, words: ['abandon', 'ability', 'able'] })
    const err = await failure(redeem(b, inv.code))
    expect([err.code, err.exitCode]).toEqual(['INVITE_CONTESTED', 12])
    expect(err.message).toMatch(/^2 peers announce invite number \d+: someone other than the inviter is squatting on it, so the words were not sent to anyone/)
    expect(impostor.events).not.toContain('wrong-code')
    await new Promise((r) => setTimeout(r, 1000))
    expect(events).toEqual([`contested:${impostor.inv.rendezvousKey.toString('hex').slice(0, 8)}`])
    expect(paired).toEqual([])
    await impostor.inv.close()
  }, 60_000)

  it('an impostor alone at the number (the inviter gone) gets one guess from the joiner and no pairing; the joiner stops with exit 11', async () => {
    const mallory = await node()
    const b = await node()
    const code = parseInviteCode('4242-orbit-tunnel-tuna')
    const impostor = await open(mallory, { nameplate: code.nameplate, words: ['abandon', 'ability', 'able'] })
    const err = await failure(redeem(b, code))
    expect([err.code, err.exitCode]).toEqual(['INVITE_WRONG_CODE', 11])
    expect(impostor.paired).toEqual([])
    expect(impostor.events).toContain('wrong-code')
  }, 60_000)

  it('replayed messages of a successful run pair nobody (a new connection has a new session id): the code burns', async () => {
    const a = await node()
    const b = await node()
    const { inv, paired, ended } = await open(a, { uses: 2 })
    // Record what the joiner writes in a real run.
    const written: Buffer[] = []
    const connect = b.connect.bind(b)
    b.connect = ((...args: Parameters<DHT['connect']>) => {
      const socket = connect(...args)
      const write = socket.write.bind(socket)
      socket.write = (data: Uint8Array | string) => {
        written.push(Buffer.from(data as Uint8Array))
        return write(data)
      }
      return socket
    }) as DHT['connect']
    await redeem(b, inv.code)
    b.connect = connect
    expect(written.map((m) => m[0])).toEqual([1, 3])
    // Replay them on a new connection to the same code (one use left).
    const socket = b.connect(inv.rendezvousKey, { keyPair: generateIdentity() })
    socket.on('error', () => {})
    const replies: Buffer[] = []
    socket.on('data', (d: Buffer) => {
      replies.push(Buffer.from(d))
      if (d[0] === 2) socket.write(written[1]!)
      if (d[0] === 5) socket.end()
    })
    socket.once('open', () => socket.write(written[0]!))
    await new Promise((resolve) => socket.once('close', resolve))
    expect(replies.map((r) => r[0])).toEqual([2, 5])
    expect(replies[1]![1]).toBe(1) // refused: wrong code
    expect(await ended).toBe('burned')
    expect(paired).toHaveLength(1)
  }, 60_000)

  it('garbage at the rendezvous is no guess: the connection is dropped and the code still works', async () => {
    const a = await node()
    const b = await node()
    const { inv, paired, events } = await open(a)
    for (const junk of [Buffer.from('hello\n'), Buffer.from([1, 9, ...Buffer.alloc(32)]), Buffer.from([3, ...Buffer.alloc(40)]), Buffer.alloc(MAX_MESSAGE_BYTES + 1, 1)]) {
      const socket = b.connect(inv.rendezvousKey, { keyPair: generateIdentity() })
      socket.on('error', () => {})
      socket.once('open', () => socket.write(junk))
      await new Promise((resolve) => socket.once('close', resolve))
    }
    expect(events).toEqual([])
    const got = await redeem(b, inv.code)
    expect(got.key.equals(inviter.publicKey)).toBe(true)
    expect(paired).toHaveLength(1)
  }, 60_000)
})
