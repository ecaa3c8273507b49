import crypto from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import DHT from 'hyperdht'
import { joinNetwork } from '../../src/core/dht/network.js'
import { encodeRoomRelays } from '../../src/core/relay/records.js'
import { findRoomRelays } from '../../src/core/relay/room-relays.js'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { jsonEvents, p2pchat, Proc } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

const net = useTestNetwork()
const RELAY_PAIR = fileURLToPath(new URL('../fixtures/relay-pair.mjs', import.meta.url))
const RECORD_MEMBER = fileURLToPath(new URL('../fixtures/record-member.mjs', import.meta.url))

// Room members relay for newcomers (issue 11). On loopback every pair can
// connect directly, so relaying through a volunteer proper is proven in the
// NAT lab (npm run test:nat); here: who volunteers, what the listener lists,
// and whom a volunteer serves.

/** A listener and a member that stays connected until it volunteers. */
async function roomWithVolunteer(memberArgs: string[] = []) {
  const listenerHome = tempHome()
  const listener = p2pchat(['listen', '--bootstrap', net.flag], listenerHome.env)
  const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
  await listener.waitFor('to chat, run')
  const member = p2pchat(['connect', key, '--bootstrap', net.flag, ...memberArgs], tempHome().env)
  if (memberArgs.includes('--json')) await member.waitFor('"type":"connected"', 'stdout')
  else await member.waitFor(`connected to ${key}`)
  return { listener, key, member, listenerIdentity: path.join(listenerHome.env.XDG_CONFIG_HOME!, 'p2pchat', 'identity.json') }
}

/** A raw hyperdht member whose signed record offers `relay` ('listener', 'self' or a key) as its relay for the room. */
function recordMember(listenerKey: string, relay: string, serve = false): Proc {
  return new Proc(process.execPath, [RECORD_MEMBER, net.flag, listenerKey, relay, ...(serve ? ['--serve'] : [])])
}

/** The relays a listener's signed list names, as stored on the DHT (read raw: version, count, keys). */
async function publishedList(listenerKey: string): Promise<string[]> {
  const dht = await joinNetwork({ bootstrap: net.bootstrap, host: '127.0.0.1' })
  try {
    const record = await dht.mutableGet(Buffer.from(listenerKey, 'hex'), { latest: true })
    if (!record) return []
    const value = record.value
    return Array.from({ length: value[1]! }, (_, i) => value.subarray(2 + 32 * i, 2 + 32 * (i + 1)).toString('hex'))
  } finally {
    await dht.destroy()
  }
}

function pairAttempt(relayKey: string, token: string, initiator: boolean, identity?: string): Proc {
  return new Proc(process.execPath, [RELAY_PAIR, net.flag, relayKey, token, initiator ? '1' : '0', ...(identity ? [identity] : [])])
}

describe('room members volunteer as relays', () => {
  it('a member volunteers after 5 s on a key of its own, and the listener lists it for newcomers', async () => {
    const { listener, member } = await roomWithVolunteer()
    // One short line, even one-to-one (issue 19 point 15): the limits are in the JSON event and the docs.
    const line = (await member.waitFor(/^\* volunteering as a relay for this room .*$/m, 'stderr', 20_000))[0]
    expect(line).toMatch(/^\* volunteering as a relay for this room \(relay [0-9a-f]{8}; --no-relay to opt out\)$/)
    expect(line.length).toBeLessThanOrEqual(80)
    const relayKey = /relay ([0-9a-f]{8})/.exec(line)![1]!
    // Never its chat identity.
    const memberKey = (await listener.waitFor(/(\S+) joined \(([0-9a-f]{64})\)/))[2]!
    expect(relayKey).not.toBe(memberKey.slice(0, 8))
    await listener.waitFor(new RegExp(`\\(${memberKey.slice(0, 8)}\\) volunteers as a relay for this room \\(relay ${relayKey}\\)`), 'stderr', 30_000)
    // The member leaves: its relay is no longer listed.
    member.end()
    expect((await member.exit()).code).toBe(0)
    await listener.waitFor(`relay (${relayKey}) is no longer listed for this room`)
  })

  it("a volunteering member's own connection stays direct on the listener's /peers (its relay runs on the member's own UDP endpoint: a path is what the stream says, not an address)", async () => {
    const pty = new PtyProc(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = /listening on ([0-9a-f]{64})/.exec((await pty.waitForScreen(/listening on [0-9a-f]{64}/)).join('\n'))![1]!
    await pty.waitForScreen('type /help for commands')
    const member = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    try {
      await member.waitFor(`connected to ${key}`)
      const short = /([0-9a-f]{8}) joined/.exec((await pty.waitForScreen(/[0-9a-f]{8} joined/)).join('\n'))![1]!
      // The listener lists the member's relay: it holds its link to it now.
      await pty.waitForScreen(`${short} (${short}) volunteers as a relay`, 30_000)
      pty.type('/peers\r')
      const rows = (await pty.waitForScreen(new RegExp(`${short}  connected \\d+s`))).join('\n')
      expect(rows).toMatch(new RegExp(`${short}  connected \\d+s\\s+direct\\s+127\\.0\\.0\\.1:\\d+`))
      expect(rows).not.toContain('relayed through')
    } finally {
      member.end()
      await member.exit()
      pty.type('/quit\r')
      await pty.exit()
    }
  }, 60_000)

  it('--no-relay: the member does not volunteer', async () => {
    const { listener, member } = await roomWithVolunteer(['--no-relay'])
    await new Promise((r) => setTimeout(r, 8000))
    expect(member.stderr).not.toMatch(/volunteer/)
    expect(listener.stderr).not.toMatch(/volunteers as a relay/)
  })

  it('--json: the volunteer and the listener report it as relay events', async () => {
    const { listener, key, member } = await roomWithVolunteer()
    member.end()
    const json = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await json.waitFor('"event":"volunteering"', 'stdout', 20_000)
    const ev = JSON.parse(json.stdout.split('\n').find((l) => l.includes('"event":"volunteering"'))!)
    expect(ev).toMatchObject({ type: 'relay', event: 'volunteering', relayKey: expect.stringMatching(/^[0-9a-f]{64}$/), maxPairs: 8, maxBytesPerSec: 262144 })
    await listener.waitFor(`relay ${ev.relayKey.slice(0, 8)}): newcomers`, 'stderr', 30_000)
  })

  it('a volunteer relays a pair that includes its listener, and refuses a pair of two outsiders', async () => {
    // In --json, for the relay's whole key (the notice shows 8 characters) and what it does, as events.
    const { member, listener, listenerIdentity } = await roomWithVolunteer(['--json'])
    const relayEvents = (event: string) => jsonEvents(member, 'relay').filter((e) => e.event === event)
    await member.waitUntil(() => relayEvents('volunteering').length > 0, 'the volunteering event', 20_000)
    const relayKey = relayEvents('volunteering')[0]!.relayKey as string
    await listener.waitFor(`(relay ${relayKey.slice(0, 8)})`, 'stderr', 30_000)

    // Two outsiders ask for the same pair, in either order: never paired.
    const outsiders = crypto.randomBytes(32).toString('hex')
    const a = pairAttempt(relayKey, outsiders, true)
    const b = pairAttempt(relayKey, outsiders, false)
    // The listener's own half with an outsider: paired (the relay works; the refusal is its policy).
    const withListener = crypto.randomBytes(32).toString('hex')
    const outsider = pairAttempt(relayKey, withListener, false)
    await new Promise((r) => setTimeout(r, 1000))
    const asListener = pairAttempt(relayKey, withListener, true, listenerIdentity)

    expect((await asListener.exit(30_000)).code, asListener.stdout + asListener.stderr).toBe(0)
    expect(asListener.stdout).toBe('paired\n')
    expect((await outsider.exit(30_000)).code).toBe(0)
    await member.waitUntil(() => relayEvents('paired').some((e) => e.active === 1), 'a relayed pair')

    expect((await a.exit(30_000)).code).toBe(3)
    expect((await b.exit(30_000)).code).toBe(3)
    expect(a.stdout).toMatch(/^error /)
    expect(b.stdout).toMatch(/^error /)
    await member.waitUntil(() => relayEvents('refused').some((e) => e.reason === 'outsider'), "a refusal of the outsiders' pair")
    expect(relayEvents('paired')).toHaveLength(1)
  }, 60_000)

  it('a member whose record offers the listener itself, or its own chat key, as its relay is never listed: the listener lists only real volunteers, never dials itself, never joins its own room', async () => {
    const { listener, key, member } = await roomWithVolunteer()
    const memberKey = (await listener.waitFor(/\S+ joined \(([0-9a-f]{64})\)/))[1]!
    const offersListener = recordMember(key, 'listener')
    const offersItself = recordMember(key, 'self', true)
    await offersListener.waitFor('open')
    await offersItself.waitFor('open')
    const itselfKey = (await offersItself.waitFor(/stored ([0-9a-f]{64})/))[1]!
    // A real volunteer, listed after the two records were read (1 s after each joined, and again later).
    const relay8 = (await member.waitFor(/volunteering as a relay for this room \(relay ([0-9a-f]{8})/, 'stderr', 20_000))[1]!
    await listener.waitFor(`(${memberKey.slice(0, 8)}) volunteers as a relay for this room (relay ${relay8})`, 'stderr', 30_000)
    let list: string[] = []
    for (let tries = 0; tries < 20 && !list.some((k) => k.startsWith(relay8)); tries++) {
      list = await publishedList(key)
      if (!list.some((k) => k.startsWith(relay8))) await new Promise((r) => setTimeout(r, 500))
    }
    expect(list).toHaveLength(1)
    expect(list[0]!.startsWith(relay8)).toBe(true)
    expect(listener.stderr).not.toContain(`joined (${key})`)
    expect(listener.stderr).not.toMatch(new RegExp(`volunteers as a relay for this room \\(relay (${key.slice(0, 8)}|${itselfKey.slice(0, 8)})\\)`))
    // Said, once each.
    await listener.waitFor(`offers ${key.slice(0, 8)} as its relay, which is this listener's own key: not listed for newcomers`)
    await listener.waitFor(`offers ${itselfKey.slice(0, 8)} as its relay, which is a room member's chat key, not a relay: not listed for newcomers`)
    expect(listener.stderr.split(`offers ${key.slice(0, 8)} as its relay`)).toHaveLength(2)
  }, 60_000)

  it("a newcomer reading a listener's list dials each relay once, and never the listener, itself or its own relay, whatever the list names", async () => {
    const writer = await joinNetwork({ bootstrap: net.bootstrap, host: '127.0.0.1' })
    const reader = await joinNetwork({ bootstrap: net.bootstrap, host: '127.0.0.1' })
    try {
      const listener = DHT.keyPair()
      const me = DHT.keyPair().publicKey
      const myRelay = DHT.keyPair().publicKey
      const relay = DHT.keyPair().publicKey
      const other = DHT.keyPair().publicKey
      // A hostile (or broken) list, signed by the listener's key as any list is.
      await writer.mutablePut(listener, encodeRoomRelays([listener.publicKey, relay, me, relay, myRelay, other]), { seq: Date.now() })
      const found = await findRoomRelays(reader, listener.publicKey, [me, myRelay])
      expect(found.map((k) => k.toString('hex'))).toEqual([relay.toString('hex'), other.toString('hex')])
    } finally {
      await Promise.all([writer.destroy(), reader.destroy()])
    }
  })
})

