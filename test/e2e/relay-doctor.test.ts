import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat } from '../helpers/proc.js'

const net = useTestNetwork()

// Relaying proper (peers that cannot punch) is proven in the NAT lab
// (npm run test:nat); on loopback every pair can connect directly.

describe('p2pchat relay', () => {
  it('runs on a stable key, counts pairings, and peers configured with it still chat', async () => {
    const relayHome = tempHome().env
    const relay = p2pchat(['relay', '--bootstrap', net.flag, '--stats-interval', '0.2'], relayHome)
    const relayKey = (await relay.waitFor(/^([0-9a-f]{64})\n/m, 'stdout'))[1]!
    await relay.waitFor(`--relay-through ${relayKey}`)
    await relay.waitFor('relaying 0 connections now, 0 since start, 0 B relayed')

    const listener = p2pchat(['listen', '--bootstrap', net.flag, '--relay-through', relayKey], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    await listener.waitFor('to chat, run')
    const client = p2pchat(['connect', key, '--bootstrap', net.flag, '--relay-through', relayKey], tempHome().env)
    const m = await client.waitFor(/connected to [0-9a-f]{64} \((direct|relayed through [0-9a-f]{8}), 127\.0\.0\.1:\d+, rtt (<1|\d+) ms\)/)
    expect(['direct', `relayed through ${relayKey.slice(0, 8)}`]).toContain(m[1])
    client.write('with a relay configured\n')
    await listener.waitFor('] with a relay configured\n', 'stdout')
    // The listener asked the relay to pair this connection.
    await relay.waitFor(/relaying \d+ connections? now, 1 since start/)
    client.end()
    expect((await client.exit()).code).toBe(0)

    relay.kill('SIGINT')
    expect((await relay.exit()).code).toBe(0)
    // It says it stopped, as a listener does (issue 19 point 15).
    expect(relay.stderr.trimEnd().split('\n').at(-1)).toBe('* relay stopped')
    const again = p2pchat(['relay', '--bootstrap', net.flag], relayHome)
    await again.waitFor(`${relayKey}\n`, 'stdout')
  })

  it('a plain connection is reported as direct, with address and round-trip time, also in --json', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const client = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await client.waitFor('"type":"connected"', 'stdout')
    const ev = JSON.parse(client.stdout.split('\n').find((l) => l.includes('"connected"'))!)
    expect(ev).toMatchObject({ remoteKey: key, path: 'direct', relay: null })
    expect(ev.address).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(typeof ev.rttMs).toBe('number')
    await listener.waitFor(/joined \([0-9a-f]{64}\) via direct, 127\.0\.0\.1:\d+, rtt/)
  })

  it('an unknown relay key is refused like any bad key', async () => {
    const client = p2pchat(['connect', 'a'.repeat(64), '--relay-through', 'nonsense', '--bootstrap', net.flag], tempHome().env)
    expect((await client.exit()).code).toBe(2)
    expect(client.stderr).toContain('invalid key "nonsense"')
  })
})

describe('p2pchat doctor', () => {
  it('reports the bootstrap time, public address, NAT type and what it means', async () => {
    const doc = p2pchat(['doctor', '--bootstrap', net.flag], tempHome().env)
    expect((await doc.exit()).code).toBe(0)
    expect(doc.stdout).toMatch(/^bootstrap\s+reachable \(127\.0\.0\.1:\d+\) in \d+ ms; \d+ DHT nodes answered$/m)
    expect(doc.stdout).toMatch(/^public address\s+127\.0\.0\.1:\d+$/m)
    expect(doc.stdout).toMatch(/^NAT type\s+(open|consistent|random)/m)
    expect(doc.stdout).toMatch(/^what it means\s+\S/m)

    const json = p2pchat(['doctor', '--json', '--bootstrap', net.flag], tempHome().env)
    expect((await json.exit()).code).toBe(0)
    const d = JSON.parse(json.stdout)
    expect(d).toMatchObject({ natType: expect.stringMatching(/^(open|consistent|random)$/), publicAddress: expect.stringMatching(/^127\.0\.0\.1:/) })
  })

  it('exits 9 with the likely cause when no DHT node answers', async () => {
    const doc = p2pchat(['doctor', '--bootstrap', '127.0.0.1:9'], tempHome().env)
    expect((await doc.exit(20_000)).code).toBe(9)
    expect(doc.stderr).toMatch(/^p2pchat: could not reach any DHT node \(tried 127\.0\.0\.1:9\): check that 'p2pchat bootstrap' runs at that address and that UDP to it is not blocked$/m)
  })
})
