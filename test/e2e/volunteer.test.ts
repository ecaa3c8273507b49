import crypto from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, Proc } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

const net = useTestNetwork()
const RELAY_PAIR = fileURLToPath(new URL('../fixtures/relay-pair.mjs', import.meta.url))

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
  await member.waitFor(`connected to ${key}`)
  return { listener, key, member, listenerIdentity: path.join(listenerHome.env.XDG_CONFIG_HOME!, 'p2pchat', 'identity.json') }
}

function pairAttempt(relayKey: string, token: string, initiator: boolean, identity?: string): Proc {
  return new Proc(process.execPath, [RELAY_PAIR, net.flag, relayKey, token, initiator ? '1' : '0', ...(identity ? [identity] : [])])
}

describe('room members volunteer as relays', () => {
  it('a member volunteers after 5 s on a key of its own, and the listener lists it for newcomers', async () => {
    const { listener, member } = await roomWithVolunteer()
    const relayKey = (await member.waitFor(/volunteering as a relay for this room \(relay ([0-9a-f]{64})\)/, 'stderr', 20_000))[1]!
    // Never its chat identity.
    const memberKey = (await listener.waitFor(/(\S+) joined \(([0-9a-f]{64})\)/))[2]!
    expect(relayKey).not.toBe(memberKey)
    await listener.waitFor(new RegExp(`\\(${memberKey.slice(0, 8)}\\) volunteers as a relay for this room \\(relay ${relayKey.slice(0, 8)}\\)`), 'stderr', 30_000)
    // The member leaves: its relay is no longer listed.
    member.end()
    expect((await member.exit()).code).toBe(0)
    await listener.waitFor(`relay (${relayKey.slice(0, 8)}) is no longer listed for this room`)
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
    const { member, listener, listenerIdentity } = await roomWithVolunteer()
    const relayKey = (await member.waitFor(/volunteering as a relay for this room \(relay ([0-9a-f]{64})\)/, 'stderr', 20_000))[1]!
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
    await member.waitFor(/relaying for \S+ \([0-9a-f]{8}\) to \S+ \([0-9a-f]{8}\): 1 relayed now/)

    expect((await a.exit(30_000)).code).toBe(3)
    expect((await b.exit(30_000)).code).toBe(3)
    expect(a.stdout).toMatch(/^error /)
    expect(b.stdout).toMatch(/^error /)
    await member.waitFor("its pair did not include this room's listener")
    expect(member.stderr.match(/(?<!stopped )relaying for /g)).toHaveLength(1)
  }, 60_000)
})
