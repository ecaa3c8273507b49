import crypto from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { jsonEvents, p2pchat, Proc } from '../helpers/proc.js'

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
  if (memberArgs.includes('--json')) await member.waitFor('"type":"connected"', 'stdout')
  else await member.waitFor(`connected to ${key}`)
  return { listener, key, member, listenerIdentity: path.join(listenerHome.env.XDG_CONFIG_HOME!, 'p2pchat', 'identity.json') }
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
})
