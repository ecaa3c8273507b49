// Real NAT traversal in a lab of Linux network namespaces (see test/helpers/natlab.ts):
// two homes behind two NAT routers, a DHT and a relay on a fake internet
// segment. Run with `npm run test:nat` (as root). Skips, loudly, where
// namespaces cannot be created.
//
// Part 1 proves the lab with raw hyperdht (test/fixtures/nat-probe.mjs), so a
// failure there is the lab's or hyperdht's, never p2pchat's. Part 2 runs the
// built CLI (bin/p2pchat.js) through the same scenarios.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { cleanupHomes, tempHome } from '../helpers/env.js'
import { createNatLab, natLabSupported, type NatKind, type NatLab } from '../helpers/natlab.js'
import { BIN, type Proc } from '../helpers/proc.js'

const PROBE = fileURLToPath(new URL('../fixtures/nat-probe.mjs', import.meta.url))
const PORT = 49737
const HEX64 = /^([0-9a-f]{64})$/m

const support = natLabSupported()
if (!support.ok) {
  console.warn(
    `\n*** NAT LAB TESTS SKIPPED: ${support.reason}\n*** (they need Linux, root, iproute2 and iptables; run \`npm run test:nat\` as root to prove hole punching and relaying)\n`
  )
}

let lab: NatLab | undefined

afterEach(async (ctx) => {
  if (lab && ctx.task.result?.state === 'fail') {
    // What the routers' NAT did is the first thing to look at when a scenario fails.
    console.warn(`--- conntrack ${lab.ns.rtr1} ---\n${lab.conntrack('rtr1')}\n--- conntrack ${lab.ns.rtr2} ---\n${lab.conntrack('rtr2')}`)
  }
  await lab?.destroy()
  lab = undefined
})
afterAll(() => {
  cleanupHomes()
})

async function newLab(nat1: NatKind, nat2: NatKind): Promise<NatLab> {
  lab = await createNatLab({ nat1, nat2 })
  return lab
}

/** Waits for a process to exit and dumps its output if it does not. */
async function exitOf(p: Proc, ms = 30_000): Promise<number | null> {
  return (await p.exit(ms)).code
}

interface Mapping {
  lanPort: number
  dst: string
  wanPort: number
}

/**
 * The router's UDP NAT mappings for its home: private source port → public port, per
 * destination. null when this kernel does not expose the conntrack table.
 */
function natMappings(l: NatLab, router: 'rtr1' | 'rtr2'): Mapping[] | null {
  const home = router === 'rtr1' ? l.lan.home1 : l.lan.home2
  const wan = l.wan[router]
  const table = l.conntrack(router)
  if (table.startsWith('(conntrack table not readable')) {
    console.warn(`NAT mapping checks skipped: ${table}`)
    return null
  }
  const out: Mapping[] = []
  for (const line of table.split('\n')) {
    const m = line.match(/src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/)
    if (!m || m[1] !== home || m[6] !== wan) continue
    out.push({ lanPort: Number(m[3]), dst: `${m[2]}:${m[4]}`, wanPort: Number(m[8]) })
  }
  return out
}

describe.skipIf(!support.ok)('NAT lab, raw hyperdht (proves the lab)', () => {
  const probe = (l: NatLab, where: 'inet' | 'home1' | 'home2', args: string[], env: NodeJS.ProcessEnv = {}) => l.node(where, [PROBE, ...args], env)

  /** DHT (bootstrapper + 3 persistent nodes) and optionally a relay, on the internet segment. */
  async function startInternet(l: NatLab, withRelay: boolean): Promise<{ bootstrap: string; relayKey: string }> {
    const bootstrap = `${l.inetHost}:${PORT}`
    const dht = probe(l, 'inet', ['dht', l.inetHost, String(PORT)])
    await dht.waitFor(/^ready$/m, 'stdout', 20_000)
    if (!withRelay) return { bootstrap, relayKey: '' }
    const relay = probe(l, 'inet', ['relay', bootstrap])
    const relayKey = (await relay.waitFor(HEX64, 'stdout', 20_000))[1]!
    return { bootstrap, relayKey }
  }

  async function listen(l: NatLab, bootstrap: string, relayKey = '', env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; key: string }> {
    const proc = probe(l, 'home1', ['listen', bootstrap, ...(relayKey ? [relayKey] : [])], env)
    const key = (await proc.waitFor(HEX64, 'stdout', 20_000))[1]!
    return { proc, key }
  }

  it('(a) consistent NAT on both sides: hyperdht punches a direct path between the routers', async () => {
    const l = await newLab('consistent', 'consistent')
    const { bootstrap } = await startInternet(l, false)
    const server = await listen(l, bootstrap)
    const t = Date.now()
    const client = probe(l, 'home2', ['connect', bootstrap, server.key], { PROBE_HOLD_MS: '1000' })
    expect(await exitOf(client), client.stderr).toBe(0)
    console.info(`(a) setup ${l.setupMs} ms, connect+ping+1 s hold ${Date.now() - t} ms: ${client.stdout.trim().replace(/\n/g, ' | ')}`)
    // The client reached home1 at its router's public address, not through anything else.
    expect(client.stdout).toMatch(new RegExp(`^ok direct remote=${l.wan.rtr1.replace(/\./g, '\\.')}:\\d+ ms=\\d+$`, 'm'))
    expect(client.stdout).toMatch(/^hold sent=(\d+) echoed=\1 changes=0 direct /m)
    await server.proc.waitFor(new RegExp(`open direct remote=${l.wan.rtr2.replace(/\./g, '\\.')}:\\d+`))
    // Proof it went through the NATs: each router holds a mapping from its home to the other router,
    // with the source port kept (a consistent, port-preserving NAT).
    const map1 = natMappings(l, 'rtr1')
    const map2 = natMappings(l, 'rtr2')
    if (map1 && map2) {
      expect(map2.filter((m) => m.dst.startsWith(`${l.wan.rtr1}:`)).length).toBeGreaterThan(0)
      expect(map1.filter((m) => m.dst.startsWith(`${l.wan.rtr2}:`)).length).toBeGreaterThan(0)
      for (const m of [...map1, ...map2]) expect(m.wanPort).toBe(m.lanPort)
    }
  })

  it('(b) randomizing NAT on both sides: hole punching fails fast, with no relay to fall back on', async () => {
    const l = await newLab('random', 'random')
    const { bootstrap } = await startInternet(l, false)
    const server = await listen(l, bootstrap)
    const t = Date.now()
    const client = probe(l, 'home2', ['connect', bootstrap, server.key])
    expect(await exitOf(client), client.stderr).toBe(1)
    console.info(`(b) setup ${l.setupMs} ms, failed after ${Date.now() - t} ms: ${client.stdout.trim()}`)
    // hyperdht 6.32.0 reports HOLEPUNCH_ABORTED here: its own DOUBLE_RANDOMIZED verdict is
    // overtaken by the puncher's abort callback. Either code means "needs a relay".
    expect(client.stdout.trim()).toMatch(/^fail (HOLEPUNCH_ABORTED|HOLEPUNCH_DOUBLE_RANDOMIZED_NATS)$/)
    expect(server.proc.stderr).not.toMatch(/ open /)
    // Proof the NAT randomizes: one home socket talking to several DHT nodes got several public ports.
    const map2 = natMappings(l, 'rtr2')
    if (map2) {
      const byLanPort = new Map<number, Set<number>>()
      for (const m of map2) byLanPort.set(m.lanPort, (byLanPort.get(m.lanPort) ?? new Set()).add(m.wanPort))
      expect(Math.max(0, ...[...byLanPort.values()].map((s) => s.size))).toBeGreaterThan(1)
    }
  })

  it('(c) randomizing NAT on both sides, relay on both: connects through the relay and stays there', async () => {
    const l = await newLab('random', 'random')
    const { bootstrap, relayKey } = await startInternet(l, true)
    const server = await listen(l, bootstrap, relayKey)
    const t = Date.now()
    const client = probe(l, 'home2', ['connect', bootstrap, server.key, relayKey], { PROBE_HOLD_MS: '2000' })
    expect(await exitOf(client), client.stderr).toBe(0)
    console.info(`(c) setup ${l.setupMs} ms, connect+ping+2 s hold ${Date.now() - t} ms: ${client.stdout.trim().replace(/\n/g, ' | ')}`)
    // Both ends' raw stream points at the relay (on the inet host), not at a router.
    const relayAddr = new RegExp(`remote=${l.inetHost.replace(/\./g, '\\.')}:\\d+`)
    expect(client.stdout).toMatch(/^ok relayed remote=\S+ ms=\d+$/m)
    expect(client.stdout.match(/^ok .*$/m)![0]).toMatch(relayAddr)
    // Data keeps flowing both ways, and a double-random pair never upgrades to direct.
    expect(client.stdout).toMatch(/^hold sent=(\d+) echoed=\1 changes=0 relayed /m)
    const opened = await server.proc.waitFor(/open relayed remote=(\S+) keepAlive=(\d+)/)
    expect(opened[0]).toMatch(relayAddr)
    // hyperdht 6.32.0 gives a server-side socket that starts relayed no keepalive (see (e)).
    console.info(`(c) listener's relayed socket: keepAlive=${opened[2]}`)
    expect(server.proc.stderr).not.toMatch(/changeRemote/)
  })

  it('(d) consistent NAT on both sides with a relay configured: the direct punch wins, no half-open connection', async () => {
    const l = await newLab('consistent', 'consistent')
    const { bootstrap, relayKey } = await startInternet(l, true)
    const server = await listen(l, bootstrap, relayKey)
    const client = probe(l, 'home2', ['connect', bootstrap, server.key, relayKey], { PROBE_HOLD_MS: '2000' })
    expect(await exitOf(client), client.stderr).toBe(0)
    expect(client.stdout).toMatch(new RegExp(`^ok direct remote=${l.wan.rtr1.replace(/\./g, '\\.')}:\\d+`, 'm'))
    expect(client.stdout).toMatch(/^hold sent=(\d+) echoed=\1 changes=0 direct /m)
    await server.proc.waitFor(/open direct remote=\S+ keepAlive=5000/)
    expect(server.proc.stderr).not.toMatch(/open relayed/)
  })
})

// ---------------------------------------------------------------------------
// Part 2: the p2pchat CLI in the lab. Needs a fresh build (`npm run build`):
// it runs bin/p2pchat.js.
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, p2pchat CLI', () => {
  const cli = (l: NatLab, where: 'inet' | 'home1' | 'home2', args: string[]) => l.node(where, [BIN, ...args], tempHome().env)

  async function startInternet(l: NatLab, withRelay: boolean): Promise<{ bootstrap: string; relayKey: string }> {
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const first = await boot.waitFor(/^(.*)\n/, 'stdout', 20_000)
    expect(first[1]).toBe(`${l.inetHost}:${PORT}`)
    const bootstrap = first[1]!
    if (!withRelay) return { bootstrap, relayKey: '' }
    const relay = cli(l, 'inet', ['relay', '--bootstrap', bootstrap])
    const line = await relay.waitFor(/^(.*)\n/, 'stdout', 20_000)
    expect(line[1]).toMatch(/^[0-9a-f]{64}$/)
    return { bootstrap, relayKey: line[1]! }
  }

  async function listen(l: NatLab, bootstrap: string, relayKey = ''): Promise<{ proc: Proc; key: string }> {
    const proc = cli(l, 'home1', ['listen', '--bootstrap', bootstrap, ...(relayKey ? ['--relay-through', relayKey] : [])])
    const key = (await proc.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    return { proc, key }
  }

  async function chatBothWays(listener: Proc, client: Proc): Promise<void> {
    client.write('hello from home2\n')
    await listener.waitFor('hello from home2\n', 'stdout', 15_000)
    listener.write('hello from home1\n')
    await client.waitFor('hello from home1\n', 'stdout', 15_000)
    client.end()
    expect(await exitOf(client)).toBe(0)
  }

  it('consistent/consistent: connects directly to the other router and chats both ways', async () => {
    const l = await newLab('consistent', 'consistent')
    const { bootstrap } = await startInternet(l, false)
    const { proc: listener, key } = await listen(l, bootstrap)
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap])
    const m = await client.waitFor(/connected to ([0-9a-f]{64}) \(direct, ([\d.]+):(\d+), rtt (<1|\d+) ms\)/, 'stderr', 30_000)
    expect(m[1]).toBe(key)
    expect(m[2]).toBe(l.wan.rtr1)
    await chatBothWays(listener, client)
  })

  it('random/random without a relay: exits 6 with one line naming --relay-through', async () => {
    const l = await newLab('random', 'random')
    const { bootstrap } = await startInternet(l, false)
    const { key } = await listen(l, bootstrap)
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap])
    client.end()
    expect(await exitOf(client, 45_000)).toBe(6)
    const lines = client.stderr.split('\n').filter((s) => s.startsWith('p2pchat: '))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^p2pchat: hole punching failed: .*--relay-through/)
  })

  it('random/random with --relay-through on both: connects through the relay and chats both ways', async () => {
    const l = await newLab('random', 'random')
    const { bootstrap, relayKey } = await startInternet(l, true)
    const { proc: listener, key } = await listen(l, bootstrap, relayKey)
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
    const m = await client.waitFor(
      /connected to ([0-9a-f]{64}) \(relayed through ([0-9a-f]{8}), ([\d.]+):(\d+), rtt (<1|\d+) ms\)/,
      'stderr',
      30_000
    )
    expect(m[1]).toBe(key)
    expect(m[2]).toBe(relayKey.slice(0, 8))
    expect(m[3]).toBe(l.inetHost)
    // The listener's side of the path indicator says the same.
    await listener.waitFor(new RegExp(`joined \\([0-9a-f]{64}\\) via relayed through ${relayKey.slice(0, 8)}, ${l.inetHost.replace(/\./g, '\\.')}:\\d+`), 'stderr', 15_000)
    await chatBothWays(listener, client)
  })

  it('random/random with a relay only on the connector: the direct attempt fails, it says so and retries through the relay', async () => {
    const l = await newLab('random', 'random')
    const { bootstrap, relayKey } = await startInternet(l, true)
    const { proc: listener, key } = await listen(l, bootstrap)
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
    await client.waitFor(new RegExp(`direct connection failed \\(hole punching failed: .*\\); retrying through relay ${relayKey.slice(0, 8)}`), 'stderr', 30_000)
    await client.waitFor(`connected to ${key} (relayed through ${relayKey.slice(0, 8)}, ${l.inetHost}:`, 'stderr', 30_000)
    await chatBothWays(listener, client)
  })

  it('random/random through the relay: an idle chat survives a 60 s silence (keep-alives), then chats both ways', async () => {
    // hyperdht 6.32.0 gives the listener's relayed socket no keepalive, so unless the
    // listener sets one (stream.setKeepAlive), the connector hears nothing and gives up.
    const l = await newLab('random', 'random')
    const { bootstrap, relayKey } = await startInternet(l, true)
    const { proc: listener, key } = await listen(l, bootstrap, relayKey)
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
    await client.waitFor(`connected to ${key} (relayed through ${relayKey.slice(0, 8)}`, 'stderr', 30_000)
    // Longer than the 12 s idle limit and many dead-path windows (3–5 s): keep-alives are acknowledged.
    await new Promise((r) => setTimeout(r, 62_000))
    expect(client.child.exitCode, client.stderr).toBeNull()
    expect(client.stderr).not.toMatch(/connection lost/)
    expect(listener.stderr).not.toMatch(/ left/)
    await chatBothWays(listener, client)
  }, 120_000)
})

// ---------------------------------------------------------------------------
// Issue 11, points 5 and 6: what doctor and the errors say about the network.
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, doctor and LAN errors', () => {
  const cli = (l: NatLab, where: 'inet' | 'home1' | 'home2' | 'home1b' | 'pub', args: string[]) => l.node(where, [BIN, ...args], tempHome().env)

  async function startDht(l: NatLab): Promise<string> {
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    return (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
  }

  async function doctorOn(l: NatLab, where: 'inet' | 'home1' | 'home2' | 'pub', bootstrap: string): Promise<{ natType: string; publicAddress: string; firewalled: boolean }> {
    const doc = cli(l, where, ['doctor', '--json', '--bootstrap', bootstrap])
    expect(await exitOf(doc), doc.stderr).toBe(0)
    return JSON.parse(doc.stdout) as { natType: string; publicAddress: string; firewalled: boolean }
  }

  it('doctor: an un-NATed host on the internet is open; hosts behind NATs stay consistent and random', async () => {
    const l = await newLab('consistent', 'random')
    const bootstrap = await startDht(l)
    const [open, consistent, random] = await Promise.all([doctorOn(l, 'inet', bootstrap), doctorOn(l, 'home1', bootstrap), doctorOn(l, 'home2', bootstrap)])
    console.info(`doctor: inet ${JSON.stringify(open)} home1 ${JSON.stringify(consistent)} home2 ${JSON.stringify(random)}`)
    expect(open.natType).toBe('open')
    expect(open.publicAddress).toMatch(new RegExp(`^${l.inetHost.replace(/\./g, '\\.')}:`))
    expect(consistent.natType).toBe('consistent')
    expect(consistent.publicAddress).toMatch(new RegExp(`^${l.wan.rtr1.replace(/\./g, '\\.')}:`))
    expect(random.natType).toBe('random')
  })

  it('doctor: a public host with no NAT whose own firewall drops unsolicited UDP is open and firewalled', async () => {
    const l = (lab = await createNatLab({ nat1: 'consistent', nat2: 'consistent', openHost: true }))
    const bootstrap = await startDht(l)
    const before = await doctorOn(l, 'pub', bootstrap)
    for (const rule of [
      ['-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT'],
      ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP']
    ]) l.run('pub', 'iptables', rule)
    const after = await doctorOn(l, 'pub', bootstrap)
    console.info(`doctor on pub: ${JSON.stringify(before)} then, firewalled, ${JSON.stringify(after)}`)
    expect(before).toMatchObject({ natType: 'open', firewalled: false, publicAddress: expect.stringMatching(/^203\.0\.113\.5:/) })
    expect(after).toMatchObject({ natType: 'open', firewalled: true, publicAddress: expect.stringMatching(/^203\.0\.113\.5:/) })
  })

  it('same LAN, the listener\'s host firewall drops all UDP from the LAN: the error says so', async () => {
    const l = (lab = await createNatLab({ nat1: 'consistent', nat2: 'consistent', sameLan: true }))
    const bootstrap = await startDht(l)
    // Stricter than ufw's default (which now connects, see 'two machines on one LAN'):
    // nothing from the LAN gets in, not even replies; the rest of the world's replies do.
    for (const rule of [
      ['-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT'],
      ['-A', 'INPUT', '-p', 'udp', '-s', `${l.lan.home1b}`, '-j', 'DROP'],
      ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP']
    ]) l.run('home1', 'iptables', rule)
    const listener = cli(l, 'home1', ['listen', '--bootstrap', bootstrap])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    const t = Date.now()
    const client = cli(l, 'home1b', ['connect', key, '--bootstrap', bootstrap])
    client.end()
    const code = await exitOf(client, 45_000)
    const ms = Date.now() - t
    const lines = client.stderr.split('\n').filter((s) => s.startsWith('p2pchat: '))
    console.info(`same LAN + host firewall: exit ${code} after ${ms} ms: ${lines.join(' | ')}`)
    expect(code).toBe(6)
    expect(lines).toHaveLength(1)
    // It names the listener's LAN address, where hyperdht's same-NAT shortcut looked for it.
    expect(lines[0]).toMatch(new RegExp(`on this network .* did not answer at its LAN address ${l.lan.home1.replace(/\./g, '\\.')}:\\d+: its firewall probably drops incoming UDP`))
    expect(lines[0]).not.toMatch(/strict NATs/)
    // 4 s of LAN pings, then at most 3 s of the fallback punch to the shared public
    // address (it needs hairpin NAT, which this router lacks): under the 10.5 s of before.
    expect(ms).toBeLessThan(10_500)
  })
})

// ---------------------------------------------------------------------------
// Issue 11, point 2: a listener follows its network. Needs a fresh build.
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, a listener whose public address changes', () => {
  const cli = (l: NatLab, where: 'inet' | 'home1' | 'home2', args: string[]) => l.node(where, [BIN, ...args], tempHome().env)
  const NEW_WAN = '203.0.113.21'
  const esc = (s: string) => s.replace(/\./g, '\\.')

  it('router 1 takes a new public address mid-chat: a --reconnect connector is back within 15 s and chats both ways', async () => {
    const l = await newLab('consistent', 'consistent')
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const listener = cli(l, 'home1', ['listen', '--bootstrap', bootstrap])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--reconnect'])
    await client.waitFor(new RegExp(`connected to ${key} \\(direct, ${esc(l.wan.rtr1)}:\\d+`), 'stderr', 30_000)
    client.write('before the move\n')
    await listener.waitFor('before the move\n', 'stdout', 15_000)
    listener.write('hello before\n')
    await client.waitFor('hello before\n', 'stdout', 15_000)

    // The re-dial: the old address and every NAT mapping made through it are gone.
    const oldWan = l.changeWan('rtr1', NEW_WAN)
    const moved = Date.now()
    const noticed = listener.waitFor(/public address changed/, 'stderr', 60_000).then(() => Date.now() - moved)
    // Mid-chat: the connector types while the path is dead (kept in its outbox).
    client.write('during the move\n')

    const back = await client.waitFor(new RegExp(`reconnected to ${key} \\(direct, ${esc(NEW_WAN)}:\\d+`), 'stderr', 60_000)
    const ms = Date.now() - moved
    // The listener said why it announced again.
    console.info(`listener address change: listener noticed after ${await noticed} ms, connector back after ${ms} ms (${back[0]})`)
    expect(listener.stderr).toMatch(new RegExp(`public address changed \\(${esc(oldWan)}:\\d+ -> ${esc(NEW_WAN)}:\\d+\\)`))
    // The line typed during the move arrives, then both ways on the new path.
    await listener.waitFor('during the move\n', 'stdout', 15_000)
    client.write('after the move\n')
    await listener.waitFor('after the move\n', 'stdout', 15_000)
    listener.write('hello after\n')
    await client.waitFor('hello after\n', 'stdout', 15_000)
    expect(ms).toBeLessThanOrEqual(15_000)
    client.end()
    expect(await exitOf(client)).toBe(0)
  }, 120_000)
})

// ---------------------------------------------------------------------------
// Part 3 (issue 11, point 4): relays are reliable, and clean ends are clean
// through them. Needs a fresh build.
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, relays are reliable', () => {
  const cli = (l: NatLab, where: 'inet' | 'home1' | 'home2', args: string[]) => l.node(where, [BIN, ...args], tempHome().env)
  /** Connects per run of the reliability test; `RELAY_CONNECTS=100` for the by-hand proof. */
  const CONNECTS = Number(process.env.RELAY_CONNECTS ?? 30)

  async function relayLab(): Promise<{ l: NatLab; bootstrap: string; relay: Proc; relayKey: string; listener: Proc; key: string }> {
    const l = await newLab('random', 'random')
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const relay = cli(l, 'inet', ['relay', '--bootstrap', bootstrap])
    const relayKey = (await relay.waitFor(HEX64, 'stdout', 20_000))[1]!
    const listener = cli(l, 'home1', ['listen', '--bootstrap', bootstrap, '--relay-through', relayKey])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    return { l, bootstrap, relay, relayKey, listener, key }
  }

  it('p2pchat relay on a public host says it is reachable, and relayed connects through it succeed in a row', async () => {
    // By hand: RELAY_LABS=25 RELAY_CONNECTS=4 (fresh labs: a relay just started is where it failed).
    const labs = Number(process.env.RELAY_LABS ?? 1)
    let ok = 0
    let retried = 0
    const failures: string[] = []
    const started = Date.now()
    for (let n = 0; n < labs; n++) {
      if (n > 0) {
        await lab?.destroy()
        lab = undefined
      }
      const { l, bootstrap, relay, relayKey, listener, key } = await relayLab()
      // It checked, and says so: a firewalled relay answers each connection with hole punching.
      if (!process.env.RELAY_NO_REACH_CHECK) await relay.waitFor(new RegExp(`reachable at ${l.inetHost.replace(/\./g, '\\.')}:\\d+`), 'stderr', 20_000)
      for (let i = 0; i < CONNECTS; i++) {
        const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
        client.end(`line ${i}\n`)
        const code = await exitOf(client, 60_000)
        const relayed = client.stderr.includes(`(relayed through ${relayKey.slice(0, 8)}`)
        if (client.stderr.includes('trying again')) retried++
        if (code === 0 && relayed) ok++
        else failures.push(`lab ${n} #${i} exit ${code}${relayed ? '' : ' (not relayed)'}: ${client.stderr.trim().split('\n').slice(-2).join(' | ')}`)
      }
      // Exit 0 means the listener acknowledged the line; it also printed it.
      if (failures.length === 0) expect(listener.stdout).toContain(`line ${CONNECTS - 1}\n`)
    }
    console.info(
      `relayed connects through p2pchat relay: ${ok}/${labs * CONNECTS} (${labs} lab${labs > 1 ? 's' : ''}, ${retried} after a pairing retry) in ${Math.round((Date.now() - started) / 1000)} s${failures.length ? `\n${failures.join('\n')}` : ''}`
    )
    expect(failures).toEqual([])
  }, Math.max(300_000, Number(process.env.RELAY_LABS ?? 1) * CONNECTS * 20_000))

  it('consistent/consistent with a relay configured on both: every connect chats both ways (no half-open pair, whichever path wins)', async () => {
    // Issue 19 point 23: 14 of 68 such connects ended half-open (the connector took the
    // direct path, the listener's header went to the relay that no longer forwarded it).
    const runs = Number(process.env.HALF_OPEN_RUNS ?? 20)
    const l = await newLab('consistent', 'consistent')
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const relay = cli(l, 'inet', ['relay', '--bootstrap', bootstrap])
    const relayKey = (await relay.waitFor(HEX64, 'stdout', 20_000))[1]!
    const relayPort = (await relay.waitFor(/reachable at [\d.]+:(\d+)/, 'stderr', 20_000))[1]!
    void relayPort
    const listener = cli(l, 'home1', ['listen', '--bootstrap', bootstrap, '--relay-through', relayKey])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    const failures: string[] = []
    const paths: Record<string, number> = {}
    // The failure's window: one end's first direct packets are lost for a moment (a router's
    // mapping is slow, or they cross in flight), so the other end pairs at the relay and starts
    // its stream there, while this end has a direct path at once. Every other run, the other way.
    const blockMs = Number(process.env.HALF_OPEN_BLOCK_MS ?? 1000)
    for (let i = 0; i < runs; i++) {
      const [router, from] = i % 2 === 0 ? (['rtr1', l.wan.rtr2] as const) : (['rtr2', l.wan.rtr1] as const)
      const rule = ['FORWARD', '-p', 'udp', '-s', from, '-j', 'DROP']
      let blocked = blockMs > 0
      if (blocked) l.run(router, 'iptables', ['-I', ...rule])
      const unblock = () => {
        if (blocked) l.run(router, 'iptables', ['-D', ...rule])
        blocked = false
      }
      const timer = setTimeout(unblock, blockMs)
      const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
      try {
        const m = await client.waitFor(/connected to [0-9a-f]{64} \((direct|relayed)/, 'stderr', 30_000)
        paths[m[1]!] = (paths[m[1]!] ?? 0) + 1
        listener.write(`to client ${i}\n`)
        await client.waitFor(`to client ${i}\n`, 'stdout', 10_000)
        client.write(`to listener ${i}\n`)
        await listener.waitFor(`to listener ${i}\n`, 'stdout', 10_000)
        client.end()
        const code = await exitOf(client, 20_000)
        if (code !== 0) failures.push(`#${i} exit ${code}: ${client.stderr.trim().split('\n').slice(-2).join(' | ')}`)
      } catch (err) {
        client.kill()
        failures.push(`#${i} ${err instanceof Error ? err.message.split('\n')[0] : String(err)}: ${client.stderr.trim().split('\n').slice(-3).join(' | ')}`)
      } finally {
        clearTimeout(timer)
        unblock()
      }
    }
    console.info(`consistent/consistent, relay on both: ${runs - failures.length}/${runs} chatted both ways; paths ${JSON.stringify(paths)}${failures.length ? `\n${failures.join('\n')}` : ''}`)
    expect(failures).toEqual([])
  }, 900_000)

  it('p2pchat relay behind a NAT says it is not reachable, and why', async () => {
    const l = await newLab('consistent', 'consistent')
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const relay = cli(l, 'home1', ['relay', '--bootstrap', bootstrap])
    await relay.waitFor(HEX64, 'stdout', 20_000)
    await relay.waitFor(/warning: not reachable from outside: DHT nodes could not reach its UDP port/, 'stderr', 30_000)
    expect(relay.stderr).not.toMatch(/reachable at/)
  }, 90_000)

  it("a relayed listener's Ctrl+C ends its connector with exit 0 ('the peer closed the connection')", async () => {
    const { l, bootstrap, relayKey, listener, key } = await relayLab()
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
    await client.waitFor(`connected to ${key} (relayed through ${relayKey.slice(0, 8)}`, 'stderr', 30_000)
    client.write('hi\n')
    await listener.waitFor('hi\n', 'stdout', 15_000)
    listener.kill('SIGINT')
    expect(await exitOf(listener)).toBe(0)
    expect(await exitOf(client, 20_000), client.stderr).toBe(0)
    expect(client.stderr).toMatch(/the peer closed the connection/)
  }, 90_000)

  it("a relay's Ctrl+C is noticed by both ends at once, not after the idle timeout", async () => {
    const { l, bootstrap, relay, relayKey, listener, key } = await relayLab()
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--relay-through', relayKey])
    await client.waitFor(`connected to ${key} (relayed through ${relayKey.slice(0, 8)}`, 'stderr', 30_000)
    client.write('hi\n')
    await listener.waitFor('hi\n', 'stdout', 15_000)
    const t = Date.now()
    relay.kill('SIGINT')
    expect(await exitOf(relay)).toBe(0)
    // The idle timeout is 12 s: well before it, both ends know.
    await listener.waitFor(/ left/, 'stderr', 6_000)
    const code = await exitOf(client, 6_000)
    console.info(`relay stopped: connector exit ${code} after ${Date.now() - t} ms: ${client.stderr.trim().split('\n').pop()}`)
    expect(code, client.stderr).not.toBeNull()
    expect(client.stderr).toMatch(new RegExp(`connection lost: relay ${relayKey.slice(0, 8)} stopped relaying`))
  }, 90_000)
})

// ---------------------------------------------------------------------------
// Issue 11, point 3: two machines on one LAN always connect (hyperdht 6.34.0
// with patches/hyperdht+6.34.0.patch: the listener sends to the connector's LAN
// address first, so a stateful host firewall takes the connector's LAN ping and
// stream for replies; the LAN ping before hole punching, never both at once,
// hyperdht issue #304). Unpatched 6.34.0 with the firewall: 0 of 3 (exit 6,
// 10.3 s: its fallback punches to the router's address, no hairpin NAT here).
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, two machines on one LAN', () => {
  const cli = (l: NatLab, where: 'inet' | 'home1' | 'home1b', args: string[]) => l.node(where, [BIN, ...args], tempHome().env)

  /** Ten connectors in turn from home1b to a listener on home1; each line must arrive. */
  async function tenConnects(firewall: boolean): Promise<void> {
    const l = (lab = await createNatLab({ nat1: 'consistent', nat2: 'consistent', sameLan: true }))
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    if (firewall) {
      // What ufw does by default on desktop Linux: replies get in, nothing unsolicited does.
      for (const rule of [
        ['-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT'],
        ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
        ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP']
      ]) l.run('home1', 'iptables', rule)
    }
    const listener = cli(l, 'home1', ['listen', '--bootstrap', bootstrap])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    const results: string[] = []
    for (let i = 0; i < 10; i++) {
      const t = Date.now()
      const client = cli(l, 'home1b', ['connect', key, '--bootstrap', bootstrap])
      client.end(`lan ${i}\n`)
      const code = await exitOf(client, 45_000)
      const path = client.stderr.match(/connected to [0-9a-f]{64} \(([^)]*)\)/)?.[1] ?? client.stderr.split('\n').filter((s) => s.startsWith('p2pchat: ')).join(' | ')
      const arrived = code === 0 && (await listener.waitFor(`lan ${i}\n`, 'stdout', 10_000).then(() => true, () => false))
      results.push(`${i}: exit ${code}${arrived ? '' : ' (line lost)'} ${Date.now() - t} ms (${path})`)
    }
    console.info(`same LAN${firewall ? ' + listener host firewall' : ''}:\n  ${results.join('\n  ')}`)
    expect(results.filter((r) => !/^\d+: exit 0 \d+ ms/.test(r))).toEqual([])
    // Both ends behind one router: the path is the listener's LAN address, never the router's.
    expect(results.every((r) => r.includes(`direct, ${l.lan.home1}:`))).toBe(true)
  }

  it('no host firewall: 10 of 10 connects chat over the LAN', async () => {
    await tenConnects(false)
  }, 180_000)

  it('the listener\'s host firewall drops unsolicited UDP (ufw\'s default): 10 of 10 connect over the LAN (the listener opens its firewall to the connector first)', async () => {
    await tenConnects(true)
  }, 240_000)
})

// ---------------------------------------------------------------------------
// Issue 11, point 1: room members relay for each other, with no flag anywhere.
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, room members relay for newcomers', () => {
  type Home = 'inet' | 'home1' | 'home2' | 'home3' | 'home4'
  const cli = (l: NatLab, where: Home, args: string[]) => l.node(where, [BIN, ...args], tempHome().env)
  // The notice names the relay by its first 8 hex characters, as every relay is named in a path.
  const VOLUNTEERING = /volunteering as a relay for this room \(relay ([0-9a-f]{8});/
  /** Relayed connects through a volunteer per run; `VOLUNTEER_CONNECTS=100` for the by-hand proof. */
  const CONNECTS = Number(process.env.VOLUNTEER_CONNECTS ?? 30)

  /**
   * Listener (home1) and newcomer (home2) behind randomizing NATs, a member
   * (home3, and with `second` another in home4) behind a consistent NAT,
   * already in the room and volunteering. Nobody passes a relay flag.
   */
  async function threeHomes(second = false) {
    lab = await createNatLab({ nat1: 'random', nat2: 'random', nat3: 'consistent', ...(second ? { nat4: 'consistent' as const } : {}) })
    const l = lab
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const listener = cli(l, 'home1', ['listen', '--bootstrap', bootstrap])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    const members: Array<{ proc: Proc; relayKey: string }> = []
    for (const home of second ? (['home3', 'home4'] as const) : (['home3'] as const)) {
      // The listener, behind a randomizing NAT, may start a hole punch with a new peer only 20 s
      // after its last one (hyperdht), here its link to the first volunteer's relay: before that, the
      // second member would come in through the first one's relay (right, but not this scenario).
      if (members.length > 0) await new Promise((r) => setTimeout(r, 21_000))
      const proc = cli(l, home, ['connect', key, '--bootstrap', bootstrap])
      await proc.waitFor(`connected to ${key} (direct`, 'stderr', 30_000)
      const relayKey = (await proc.waitFor(VOLUNTEERING, 'stderr', 30_000))[1]!
      // The listener has read its record and lists its relay for newcomers. Its link to the relay
      // is a hole punch from a randomizing NAT (256 birthday sockets): measured 16-31 s after the
      // member volunteers (25 runs), but a punch can miss, and hyperdht starts the next one only
      // 20 s after (CI once waited over 60 s): the wait allows for two misses.
      await listener.waitFor(`volunteers as a relay for this room (relay ${relayKey.slice(0, 8)})`, 'stderr', 150_000)
      members.push({ proc, relayKey })
    }
    return { l, bootstrap, listener, key, members }
  }

  it('three homes: the newcomer, with no flags, chats with the listener through the member\'s relay, 200 lines each way in order, 10 runs', async () => {
    const { l, bootstrap, listener, key, members } = await threeHomes()
    const relay8 = members[0]!.relayKey.slice(0, 8)
    const firstLineMs: number[] = []
    for (let run = 0; run < 10; run++) {
      const started = Date.now()
      const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap])
      client.write(`newcomer ${run} line 0\n`)
      // Both sides' path indicators name the member's relay.
      await client.waitFor(`connected to ${key} (relayed through ${relay8} (a room member's relay), `, 'stderr', 60_000).catch((err) => {
        throw new Error(`${err.message}\n--- member ---\n${members[0]!.proc.stderr}\n--- listener ---\n${listener.stderr}`)
      })
      const joined = new RegExp(`joined \\([0-9a-f]{64}\\) via relayed through ${relay8} \\(\\S+'s relay\\), `)
      await listener.waitFor(`newcomer ${run} line 0\n`, 'stdout', 30_000)
      firstLineMs.push(Date.now() - started)
      expect(listener.stderr.split('\n').filter((s) => joined.test(s)).length).toBe(run + 1)
      for (let i = 1; i < 200; i++) client.write(`newcomer ${run} line ${i}\n`)
      for (let i = 0; i < 200; i++) listener.write(`listener ${run} line ${i}\n`)
      await client.waitFor(`listener ${run} line 199\n`, 'stdout', 60_000)
      await listener.waitFor(`newcomer ${run} line 199\n`, 'stdout', 60_000)
      client.end()
      expect(await exitOf(client, 30_000), client.stderr).toBe(0)
      // In order, none missing, none twice.
      const got = client.stdout.split('\n').filter((s) => s.startsWith(`listener ${run} `))
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `listener ${run} line ${i}`))
      const heard = listener.stdout
        .split('\n')
        .map((s) => s.replace(/^\[[^\]]*\] /, ''))
        .filter((s) => s.startsWith(`newcomer ${run} `))
      expect(heard).toEqual(Array.from({ length: 200 }, (_, i) => `newcomer ${run} line ${i}`))
    }
    // The member shows what it relays.
    expect(members[0]!.proc.stderr.match(/(?<!stopped )relaying for /g)?.length).toBeGreaterThanOrEqual(10)
    const sorted = [...firstLineMs].sort((a, b) => a - b)
    console.info(`three homes, time to first line through a volunteer: median ${sorted[5]} ms, max ${sorted[9]} ms (${firstLineMs.join(', ')})`)
  }, 600_000)

  it(`relayed connects through a volunteer succeed in a row (${CONNECTS})`, async () => {
    const { l, bootstrap, listener, key, members } = await threeHomes()
    const relay8 = members[0]!.relayKey.slice(0, 8)
    let ok = 0
    let retried = 0
    const failures: string[] = []
    const started = Date.now()
    for (let i = 0; i < CONNECTS; i++) {
      const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap])
      client.end(`line ${i}\n`)
      // A newcomer retries through the volunteer for up to ~3 minutes (10 tries, 5 s apart, each up to
      // 15 s of pairing): a slow success is a success, a hung process is a failure, not a crash of the test.
      const code = await exitOf(client, 240_000).catch(() => {
        client.kill('SIGKILL')
        return 'hung'
      })
      const relayed = client.stderr.includes(`(relayed through ${relay8} (a room member's relay)`)
      if (client.stderr.includes('trying again')) retried++
      if (code === 0 && relayed) ok++
      else {
        failures.push(`#${i} exit ${code}${relayed ? '' : ' (not relayed)'}: ${client.stderr.trim().split('\n').slice(-2).join(' | ')}`)
        console.info(`--- newcomer #${i} ---\n${client.stderr}\n--- listener (last 15 lines) ---\n${listener.stderr.trim().split('\n').slice(-15).join('\n')}\n--- member (last 15 lines) ---\n${members[0]!.proc.stderr.trim().split('\n').slice(-15).join('\n')}`)
      }
    }
    if (failures.length === 0) expect(listener.stdout).toContain(`line ${CONNECTS - 1}\n`)
    console.info(`relayed connects through a volunteer: ${ok}/${CONNECTS} (${retried} after a pairing retry) in ${Math.round((Date.now() - started) / 1000)} s${failures.length ? `\n${failures.join('\n')}` : ''}`)
    expect(failures).toEqual([])
  }, Math.max(600_000, CONNECTS * 30_000))

  it("a slow hole punch to the volunteer (its probes dropped for 20 s): the newcomer's link to the relay waits it out, and no pairing times out", async () => {
    const { l, bootstrap, listener, key, members } = await threeHomes()
    const relay8 = members[0]!.relayKey.slice(0, 8)
    // Hole-punch datagrams are 1 byte (IP length 29). The newcomer's router drops those coming from the
    // member's router for 20 s: longer than the 15 s that hyperdht gives a relayed dial to pair, had the
    // punch to the relay been made inside the dial (as hyperdht does on its own).
    const rule = ['FORWARD', '-p', 'udp', '-s', l.wan.rtr3!, '-m', 'length', '--length', '29', '-j', 'DROP']
    l.run('rtr2', 'iptables', ['-I', ...rule])
    let blocked = true
    const unblock = () => {
      if (blocked) l.run('rtr2', 'iptables', ['-D', ...rule])
      blocked = false
    }
    const timer = setTimeout(unblock, 20_000)
    const started = Date.now()
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap])
    client.write('after a slow punch\n')
    try {
      await client.waitFor(`connected to ${key} (relayed through ${relay8} (a room member's relay), `, 'stderr', 180_000)
    } finally {
      clearTimeout(timer)
      unblock()
    }
    const tookMs = Date.now() - started
    await listener.waitFor('after a slow punch\n', 'stdout', 30_000)
    expect(tookMs).toBeGreaterThan(20_000)
    // Neither a pairing timeout nor a dropped pairing: the link opened first, then the pair met at once.
    expect(client.stderr).not.toMatch(/could not pair us with the peer|dropped us before the peer reached it/)
    client.end()
    expect(await exitOf(client, 30_000), client.stderr).toBe(0)
    console.info(`slow punch to the volunteer: connected ${tookMs} ms after the start, probes dropped for the first 20 s`)
  }, 600_000)

  it('the volunteer leaves: the relayed newcomer is told and comes back through the other volunteer; with none left it says why', async () => {
    const { l, bootstrap, listener, key, members } = await threeHomes(true)
    const client = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap, '--reconnect'])
    const first = (await client.waitFor(/connected to [0-9a-f]{64} \(relayed through ([0-9a-f]{8}) \(a room member's relay\)/, 'stderr', 60_000))[1]!
    const using = members.find((m) => m.relayKey.startsWith(first))!
    const other = members.find((m) => m !== using)!
    client.write('before\n')
    await listener.waitFor('before\n', 'stdout', 15_000)

    using.proc.kill('SIGINT')
    expect(await exitOf(using.proc)).toBe(0)
    // Told at once that its relay stopped, then back through the other volunteer.
    await client.waitFor(`connection lost: relay ${first} stopped relaying`, 'stderr', 15_000)
    await client.waitFor(`reconnected to ${key} (relayed through ${other.relayKey.slice(0, 8)} (a room member's relay)`, 'stderr', 60_000).catch((err: Error) => {
      // What the other two saw is what tells a listener-side failure from a relay-side one.
      throw new Error(`${err.message}\n--- listener ---\n${listener.stderr}\n--- other volunteer ---\n${other.proc.stderr}`)
    })
    client.write('after\n')
    await listener.waitFor('after\n', 'stdout', 15_000)

    // The last volunteer leaves: nobody can relay; the newcomer says exactly why.
    other.proc.kill('SIGINT')
    expect(await exitOf(other.proc)).toBe(0)
    await client.waitFor(`connection lost: relay ${other.relayKey.slice(0, 8)} stopped relaying`, 'stderr', 15_000)
    await client.waitFor(/could not connect \(hole punching failed: .*no member of the room volunteers as a relay now.*--relay-through.*\); retrying in/, 'stderr', 90_000)
    client.kill('SIGINT')
    await exitOf(client)
  }, 600_000)
})

// ---------------------------------------------------------------------------
// Issue 12: pairing by invite code through two NATs, then by contact name.
// The code's rendezvous and the chat that follows both cross the routers.
// ---------------------------------------------------------------------------
describe.skipIf(!support.ok)('NAT lab, pairing by invite code', () => {
  // tempHome() is a new config home per call: each side keeps one for all its runs (identity, contacts).
  const cli = (l: NatLab, where: 'inet' | 'home1' | 'home2', args: string[], env: NodeJS.ProcessEnv = tempHome().env) => l.node(where, [BIN, ...args], env)
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const contactsOf = (env: NodeJS.ProcessEnv) =>
    (JSON.parse(fs.readFileSync(path.join(env.XDG_CONFIG_HOME!, 'p2pchat', 'contacts.json'), 'utf8')) as { contacts: Record<string, string> }).contacts

  it('consistent/consistent: connect CODE pairs and chats both ways; then connect alice (by contact name) is admitted by the --allow-contacts listener, before and after it restarts', async () => {
    const l = await newLab('consistent', 'consistent')
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const aliceEnv = tempHome().env
    // The joiner offers its login name by default: make it known.
    const bobEnv = { ...tempHome().env, USER: 'bob', LOGNAME: 'bob' }
    const started = Date.now()
    const phases: string[] = []
    const mark = (what: string) => phases.push(`${what} ${Date.now() - started} ms`)

    const listen = (extra: string[]) => cli(l, 'home1', ['listen', '--allow-contacts', '--bootstrap', bootstrap, ...extra], aliceEnv)
    let listener = listen(['--invite', '--name', 'alice'])
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 20_000))[1]!
    const invite = await listener.waitFor(/invite code: (\d+-[a-z]+-[a-z]+-[a-z]+) — it pairs one peer .* They run: p2pchat connect \1 --bootstrap (\S+)\n/, 'stderr', 30_000)
    const code = invite[1]!
    expect(invite[2]).toBe(bootstrap)
    await listener.waitFor('only whoever pairs by the invite code may join for now', 'stderr', 5_000)
    mark('code open')

    // 1. Pairing by code, then the chat, both through the NATs.
    const joiner = cli(l, 'home2', ['connect', code, '--bootstrap', bootstrap], bobEnv)
    await joiner.waitFor(`paired with ${key} by invite code (saved as contact alice; you offered the name bob); next time: p2pchat connect alice`, 'stderr', 30_000)
    await joiner.waitFor(new RegExp(`connected to alice \\(${key}, direct, ${esc(l.wan.rtr1)}:\\d+`), 'stderr', 30_000)
    const bobKey = (await listener.waitFor(/paired with bob \(([0-9a-f]{64})\) by invite code: saved as contact bob; the code is used up/, 'stderr', 15_000))[1]!
    await listener.waitFor(new RegExp(`bob joined \\(${bobKey}\\) via direct, ${esc(l.wan.rtr2)}:\\d+`), 'stderr', 15_000)
    mark('paired and connected')
    joiner.write('hello alice, by code\n')
    await listener.waitFor('[bob] hello alice, by code\n', 'stdout', 15_000)
    listener.write('hello bob, by code\n')
    await joiner.waitFor('hello bob, by code\n', 'stdout', 15_000)
    joiner.end()
    expect(await exitOf(joiner), joiner.stderr).toBe(0)
    mark('first chat done')

    // Both address books: each side under the name the other offered, with the proven key.
    const whoami = cli(l, 'home2', ['whoami'], bobEnv)
    expect(await exitOf(whoami)).toBe(0)
    expect(whoami.stdout.split('\n')[0]).toBe(bobKey)
    expect(contactsOf(aliceEnv)).toEqual({ bob: bobKey })
    expect(contactsOf(bobEnv)).toEqual({ alice: key })

    // 2. The joiner again, by contact name: no code, no pairing, same identity; the listener admits it.
    const again = async (label: string, joins: number) => {
      const client = cli(l, 'home2', ['connect', 'alice', '--bootstrap', bootstrap], bobEnv)
      await client.waitFor(new RegExp(`connected to alice \\(${key}, direct, ${esc(l.wan.rtr1)}:\\d+`), 'stderr', 30_000)
      await listener.waitUntil(() => (listener.stderr.match(new RegExp(`bob joined \\(${bobKey}\\) via direct`, 'g'))?.length ?? 0) === joins, `bob's join #${joins}`, 15_000)
      client.write(`hello alice, ${label}\n`)
      await listener.waitFor(`[bob] hello alice, ${label}\n`, 'stdout', 15_000)
      listener.write(`hello bob, ${label}\n`)
      await client.waitFor(`hello bob, ${label}\n`, 'stdout', 15_000)
      client.end()
      expect(await exitOf(client), client.stderr).toBe(0)
      expect(client.stderr).not.toMatch(/pairing|paired|created a new identity|throwaway/)
      mark(`${label} done`)
    }
    await again('by name', 2)
    expect(listener.stderr).not.toMatch(/refused/)

    // 3. The listener restarts (same home, no code): now only its contacts file admits bob, and nobody else.
    listener.kill('SIGINT')
    expect(await exitOf(listener)).toBe(0)
    listener = listen([])
    expect((await listener.waitFor(/listening on ([0-9a-f]{64})/, 'stderr', 30_000))[1]).toBe(key)
    await listener.waitFor('only your contacts may join (--allow-contacts: your 1 contact', 'stderr', 5_000)
    await again('after a restart', 1)
    const stranger = cli(l, 'home2', ['connect', key, '--bootstrap', bootstrap])
    stranger.end('let me in\n')
    expect(await exitOf(stranger), stranger.stderr).toBe(5)
    await listener.waitFor(/refused [0-9a-f]{8} \([0-9a-f]{64}\) at \S+: not on the allow list; refused so far: 1/, 'stderr', 5_000)
    expect(listener.stdout).not.toContain('let me in')
    listener.kill('SIGINT')
    expect(await exitOf(listener)).toBe(0)

    // Nothing changed in either address book after the first pairing.
    expect(contactsOf(aliceEnv)).toEqual({ bob: bobKey })
    expect(contactsOf(bobEnv)).toEqual({ alice: key })
    console.info(`pairing by invite code through two NATs: ${phases.join(', ')}`)
  }, 180_000)

  it('random/random with --relay-through on both: pairing through the relay works 3 of 3, and a wrong code through it gets exit 11 (told, not a reset)', async () => {
    const l = await newLab('random', 'random')
    const boot = cli(l, 'inet', ['bootstrap', '--host', l.inetHost, '--port', String(PORT)])
    const bootstrap = (await boot.waitFor(/^(.*)\n/, 'stdout', 20_000))[1]!
    const relay = cli(l, 'inet', ['relay', '--bootstrap', bootstrap])
    const relayKey = (await relay.waitFor(/^([0-9a-f]{64})$/m, 'stdout', 20_000))[1]!
    await relay.waitFor(/reachable at/, 'stderr', 20_000)
    const results: string[] = []
    for (const [i, wrong] of [[0, false], [1, false], [2, false], [3, true]] as const) {
      const listener = cli(l, 'home1', ['listen', '--invite', '--name', 'alice', '--bootstrap', bootstrap, '--relay-through', relayKey])
      const code = (await listener.waitFor(/invite code: (\S+)/, 'stderr', 30_000))[1]!
      const started = Date.now()
      const typed = wrong ? code.replace(/-[a-z]+$/, (w) => (w === '-zoo' ? '-abandon' : '-zoo')) : code
      const joiner = cli(l, 'home2', ['connect', typed, '--bootstrap', bootstrap, '--relay-through', relayKey], { ...tempHome().env, USER: 'bob' })
      joiner.end(`hi ${i}\n`)
      const rc = await exitOf(joiner, 90_000)
      results.push(`${i}${wrong ? ' (wrong code)' : ''}: exit ${rc} in ${Date.now() - started} ms`)
      if (wrong) {
        expect(rc, joiner.stderr).toBe(11)
        expect(joiner.stderr).toMatch(/p2pchat: wrong invite code: the words do not match/)
        await listener.waitFor('WARNING: someone tried invite code', 'stderr', 10_000)
      } else {
        expect(rc, joiner.stderr).toBe(0)
        expect(joiner.stderr).toMatch(new RegExp(`connected to alice \\([0-9a-f]{64}, relayed through ${relayKey.slice(0, 8)}`))
        await listener.waitFor(`hi ${i}\n`, 'stdout', 10_000)
        await listener.waitFor('paired with bob (', 'stderr', 5_000)
      }
      listener.kill('SIGINT')
      expect(await exitOf(listener)).toBe(0)
    }
    console.info(`pairing through a relay (random/random):\n  ${results.join('\n  ')}`)
  }, 600_000)
})
