// A NAT lab made of Linux network namespaces, for proving real hole punching
// and relaying. Needs root (CAP_NET_ADMIN), iproute2 and iptables.
//
//                      ┌──────────── inet (203.0.113.0/24) ────────────┐
//                      │  br0: 203.0.113.1 (DHT nodes + relay live here) │
//                      └──────┬─────────────────────────────┬──────────┘
//                   wan 203.0.113.11                   wan 203.0.113.12
//                         rtr1 (NAT)                       rtr2 (NAT)
//                   lan 192.168.1.1                    lan 192.168.2.1
//                         │                                 │
//                   home1 192.168.1.2                  home2 192.168.2.2
//
// Every link lives inside the lab's own namespaces (veths are created directly
// in them), so nothing is added to the host's network namespace, and the only
// traffic is between lab addresses. Namespace names carry a per-run id; the
// owning pid is recorded so labs left behind by a killed run are reaped later.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Proc } from './proc.js'

export type NatKind = 'consistent' | 'random'

export interface NatLabOptions {
  nat1: NatKind
  nat2: NatKind
  /**
   * Adds a second host, home1b (192.168.1.3), on home1's LAN behind rtr1: two
   * machines sharing one router and so one public address. rtr1's 'lan' is
   * then a bridge with both homes' links on it.
   */
  sameLan?: boolean
  /** Adds a host, pub (203.0.113.5), on the internet segment with no NAT in front of it. */
  openHost?: boolean
  /** Adds a third home, home3 (192.168.3.2), behind its own router rtr3 (203.0.113.13) with this NAT. */
  nat3?: NatKind
  /** Adds a fourth home, home4 (192.168.4.2), behind rtr4 (203.0.113.14). */
  nat4?: NatKind
}

export interface NatLabNamespaces {
  inet: string
  rtr1: string
  rtr2: string
  home1: string
  home2: string
  /** Only with `sameLan`. */
  home1b?: string
  /** Only with `openHost`. */
  pub?: string
  /** Only with `nat3` / `nat4`. */
  rtr3?: string
  home3?: string
  rtr4?: string
  home4?: string
}

export type NatLabHost = keyof NatLabNamespaces

export interface NatLab {
  id: string
  ns: NatLabNamespaces
  /** The "internet" host on the inet bridge, where the DHT and the relay run. */
  inetHost: string
  /** The routers' public (WAN) addresses, as the internet sees the homes. */
  wan: { rtr1: string; rtr2: string; rtr3?: string; rtr4?: string }
  /** The homes' private addresses (home1b only with `sameLan`, home3/home4 with `nat3`/`nat4`). */
  lan: { home1: string; home2: string; home1b?: string; home3?: string; home4?: string }
  /** Milliseconds the namespaces, links and rules took to set up. */
  setupMs: number
  /** Runs `cmd ...args` inside a namespace (a lab host name or a full namespace name), as a Proc. */
  exec(ns: NatLabHost | string, cmd: string, args?: string[], env?: NodeJS.ProcessEnv): Proc
  /** Runs a node script inside a namespace with this Node binary. */
  node(ns: NatLabHost | string, args: string[], env?: NodeJS.ProcessEnv): Proc
  /** Runs a short command inside a namespace and returns its stdout (throws on failure). */
  run(ns: NatLabHost | string, cmd: string, args: string[]): string
  /**
   * Gives a router a new public (WAN) address, as a re-dial does: the old
   * address goes (and with it the NAT's mappings: MASQUERADE forgets them
   * when its address is removed), the new one comes up on the same segment.
   * Updates `wan`. Returns the old address.
   */
  changeWan(router: 'rtr1' | 'rtr2', address: string): string
  /** UDP conntrack entries on a router, as `conntrack -L` would show them (from /proc). */
  conntrack(router: 'rtr1' | 'rtr2'): string
  destroy(): Promise<void>
}

export const INET_HOST = '203.0.113.1'
/** The `openHost` option's host: a public address, no NAT. */
export const PUB_HOST = '203.0.113.5'
const STATE_DIR = path.join(os.tmpdir(), 'p2pchat-natlab')
const NAME_PREFIX = 'p2p'

let counter = 0
const liveLabs = new Set<LabState>()
let exitHookInstalled = false

interface LabState {
  id: string
  /** Namespaces this lab created (and so may delete). */
  names: string[]
  procs: Set<Proc>
  destroyed: boolean
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
}

function trySh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() }
}

function listNetns(): string[] {
  const r = trySh('ip', ['netns', 'list'])
  if (!r.ok) return []
  return r.out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean)
}

let supportCache: { ok: boolean; reason?: string } | undefined

/**
 * Whether this machine lets us build the lab: root-ish rights to add network
 * namespaces, and iptables present. Tries a throwaway namespace for real.
 */
export function natLabSupported(): { ok: boolean; reason?: string } {
  if (supportCache) return supportCache
  supportCache = probeSupport()
  return supportCache
}

function probeSupport(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` }
  const ip = trySh('ip', ['-V'])
  if (!ip.ok) return { ok: false, reason: `iproute2 'ip' is not available (${ip.out || 'not found'}); apt-get install -y iproute2` }
  const name = `${NAME_PREFIX}probe${process.pid}`
  const add = trySh('ip', ['netns', 'add', name])
  if (!add.ok) return { ok: false, reason: `cannot create a network namespace (ip netns add: ${add.out}); needs root / CAP_SYS_ADMIN+CAP_NET_ADMIN` }
  try {
    const lo = trySh('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    if (!lo.ok) return { ok: false, reason: `cannot configure a network namespace (${lo.out})` }
    const ipt = trySh('ip', ['netns', 'exec', name, 'iptables', '-t', 'nat', '-L', '-n'])
    if (!ipt.ok) return { ok: false, reason: `iptables does not work inside a namespace (${ipt.out || 'not found'}); apt-get install -y iptables` }
    const masq = trySh('ip', ['netns', 'exec', name, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'lo', '-j', 'MASQUERADE', '--random-fully'])
    if (!masq.ok) return { ok: false, reason: `iptables cannot add a MASQUERADE --random-fully rule (${masq.out}); needs the kernel's NAT modules` }
    const ct = trySh('ip', ['netns', 'exec', name, 'iptables', '-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'])
    if (!ct.ok) return { ok: false, reason: `iptables cannot match conntrack state (${ct.out})` }
    const br = trySh('ip', ['-n', name, 'link', 'add', 'br0', 'type', 'bridge'])
    if (!br.ok) return { ok: false, reason: `cannot create a bridge inside a namespace (${br.out})` }
    const veth = trySh('ip', ['-n', name, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'])
    if (!veth.ok) return { ok: false, reason: `cannot create veth pairs (${veth.out})` }
    return { ok: true }
  } finally {
    trySh('ip', ['netns', 'del', name])
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes namespaces of labs whose owning process is gone (e.g. a run killed with SIGKILL). */
export function reapStaleNatLabs(): string[] {
  const reaped: string[] = []
  let files: string[] = []
  try {
    files = fs.readdirSync(STATE_DIR)
  } catch {
    return reaped
  }
  const existing = new Set(listNetns())
  for (const f of files) {
    if (!f.endsWith('.json')) continue
    const file = path.join(STATE_DIR, f)
    try {
      const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; names: string[] }
      if (rec.pid === process.pid || pidAlive(rec.pid)) continue
      for (const n of rec.names) {
        if (existing.has(n)) {
          killNsProcs(n) // orphans of the dead run (DHT nodes, peers) would live on
          trySh('ip', ['netns', 'del', n])
          reaped.push(n)
        }
      }
      fs.rmSync(file, { force: true })
    } catch {
      fs.rmSync(file, { force: true })
    }
  }
  return reaped
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // 'exit' handlers must be synchronous: SIGKILL children, then delete namespaces.
  process.on('exit', () => {
    for (const lab of [...liveLabs]) destroySync(lab)
  })
  // A signal skips 'exit': clean up, then exit as the signal would have (unless
  // someone else also handles it, e.g. a test runner: then it decides).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of [...liveLabs]) destroySync(lab)
      if (process.listenerCount(sig) === 0) process.exit(128 + os.constants.signals[sig])
    })
  }
}

/** SIGKILLs every process inside one of our namespaces (all started by a lab). */
function killNsProcs(name: string): void {
  const pids = trySh('ip', ['netns', 'pids', name])
  if (!pids.ok) return
  for (const pid of pids.out.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
}

function destroySync(lab: LabState): void {
  lab.destroyed = true
  for (const p of lab.procs) p.kill('SIGKILL')
  // Belt and braces: kill anything else still running inside our namespaces.
  for (const n of lab.names) killNsProcs(n)
  const existing = new Set(listNetns())
  for (const n of lab.names) if (existing.has(n)) trySh('ip', ['netns', 'del', n])
  fs.rmSync(path.join(STATE_DIR, `${lab.id}.json`), { force: true })
  liveLabs.delete(lab)
}

function resolveNs(ns: NatLabNamespaces, name: NatLabHost | string): string {
  return (ns as unknown as Record<string, string>)[name] ?? name
}

/** Builds the two-homes-behind-NAT topology. Throws (after cleaning up) if any step fails. */
export async function createNatLab(opts: NatLabOptions): Promise<NatLab> {
  const support = natLabSupported()
  if (!support.ok) throw new Error(`NAT lab not supported here: ${support.reason}`)
  reapStaleNatLabs()
  installExitHook()

  const hosts = [
    'inet',
    'rtr1',
    'rtr2',
    'home1',
    'home2',
    ...(opts.sameLan ? (['home1b'] as const) : []),
    ...(opts.openHost ? (['pub'] as const) : []),
    ...(opts.nat3 ? (['rtr3', 'home3'] as const) : []),
    ...(opts.nat4 ? (['rtr4', 'home4'] as const) : [])
  ]
  const existing = new Set(listNetns())
  let id = ''
  do id = `${NAME_PREFIX}${process.pid % 10000}-${counter++}`
  while (hosts.some((h) => existing.has(`${id}-${h}`)))
  const ns: NatLabNamespaces = {
    inet: `${id}-inet`,
    rtr1: `${id}-rtr1`,
    rtr2: `${id}-rtr2`,
    home1: `${id}-home1`,
    home2: `${id}-home2`,
    ...(opts.sameLan ? { home1b: `${id}-home1b` } : {}),
    ...(opts.openHost ? { pub: `${id}-pub` } : {}),
    ...(opts.nat3 ? { rtr3: `${id}-rtr3`, home3: `${id}-home3` } : {}),
    ...(opts.nat4 ? { rtr4: `${id}-rtr4`, home4: `${id}-home4` } : {})
  }
  const lab: LabState = { id, names: [], procs: new Set(), destroyed: false }
  liveLabs.add(lab)
  fs.mkdirSync(STATE_DIR, { recursive: true })
  // Recorded before creating anything, so a run killed mid-setup is reaped too.
  fs.writeFileSync(path.join(STATE_DIR, `${id}.json`), JSON.stringify({ pid: process.pid, names: Object.values(ns) }))

  const ipn = (n: string, ...args: string[]) => sh('ip', ['-n', n, ...args])
  const inns = (n: string, cmd: string, ...args: string[]) => sh('ip', ['netns', 'exec', n, cmd, ...args])

  const started = performance.now()
  try {
    for (const n of Object.values(ns)) {
      // 'ip netns add' fails if the name exists: then it is not ours to delete.
      sh('ip', ['netns', 'add', n])
      lab.names.push(n)
      ipn(n, 'link', 'set', 'lo', 'up')
    }

    // The internet: a bridge with the inet host's own address on it.
    ipn(ns.inet, 'link', 'add', 'br0', 'type', 'bridge')
    ipn(ns.inet, 'addr', 'add', `${INET_HOST}/24`, 'dev', 'br0')
    ipn(ns.inet, 'link', 'set', 'br0', 'up')
    if (ns.pub) {
      ipn(ns.pub, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'pub', 'netns', ns.inet)
      ipn(ns.inet, 'link', 'set', 'pub', 'master', 'br0')
      ipn(ns.inet, 'link', 'set', 'pub', 'up')
      ipn(ns.pub, 'addr', 'add', `${PUB_HOST}/24`, 'dev', 'eth0')
      ipn(ns.pub, 'link', 'set', 'eth0', 'up')
    }

    const routers = [
      { rtr: ns.rtr1, home: ns.home1, wan: '203.0.113.11', net: '192.168.1', kind: opts.nat1, port: 'rtr1' },
      { rtr: ns.rtr2, home: ns.home2, wan: '203.0.113.12', net: '192.168.2', kind: opts.nat2, port: 'rtr2' },
      ...(opts.nat3 ? [{ rtr: ns.rtr3!, home: ns.home3!, wan: '203.0.113.13', net: '192.168.3', kind: opts.nat3, port: 'rtr3' }] : []),
      ...(opts.nat4 ? [{ rtr: ns.rtr4!, home: ns.home4!, wan: '203.0.113.14', net: '192.168.4', kind: opts.nat4, port: 'rtr4' }] : [])
    ]
    for (const r of routers) {
      // WAN: veth 'wan' in the router, its peer enslaved to the inet bridge.
      ipn(r.rtr, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', r.port, 'netns', ns.inet)
      ipn(ns.inet, 'link', 'set', r.port, 'master', 'br0')
      ipn(ns.inet, 'link', 'set', r.port, 'up')
      ipn(r.rtr, 'addr', 'add', `${r.wan}/24`, 'dev', 'wan')
      ipn(r.rtr, 'link', 'set', 'wan', 'up')
      // LAN: veth 'lan' in the router, 'eth0' in the home. With a second home on
      // the LAN, 'lan' is a bridge (same name, so the rules below hold) over both links.
      const lanPeer = r.rtr === ns.rtr1 ? ns.home1b : undefined
      if (lanPeer) {
        ipn(r.rtr, 'link', 'add', 'lan', 'type', 'bridge')
        for (const [port, home] of [['lanp1', r.home], ['lanp2', lanPeer]] as const) {
          ipn(r.rtr, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', home)
          ipn(r.rtr, 'link', 'set', port, 'master', 'lan')
          ipn(r.rtr, 'link', 'set', port, 'up')
        }
        ipn(lanPeer, 'addr', 'add', `${r.net}.3/24`, 'dev', 'eth0')
        ipn(lanPeer, 'link', 'set', 'eth0', 'up')
        ipn(lanPeer, 'route', 'add', 'default', 'via', `${r.net}.1`)
        // Should the host bridge traffic through iptables (br_netfilter), LAN to LAN stays allowed.
        inns(r.rtr, 'iptables', '-A', 'FORWARD', '-i', 'lan', '-o', 'lan', '-j', 'ACCEPT')
      } else {
        ipn(r.rtr, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', r.home)
      }
      ipn(r.rtr, 'addr', 'add', `${r.net}.1/24`, 'dev', 'lan')
      ipn(r.rtr, 'link', 'set', 'lan', 'up')
      ipn(r.home, 'addr', 'add', `${r.net}.2/24`, 'dev', 'eth0')
      ipn(r.home, 'link', 'set', 'eth0', 'up')
      ipn(r.home, 'route', 'add', 'default', 'via', `${r.net}.1`)

      inns(r.rtr, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
      // The NAT: plain MASQUERADE keeps the source port when it can (consistent,
      // endpoint-independent mapping); --random-fully picks a fresh random port
      // for every new flow (what hyperdht calls a RANDOM firewall).
      const masq = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE']
      if (r.kind === 'random') masq.push('--random-fully')
      inns(r.rtr, 'iptables', ...masq)
      // A home router's firewall: nothing unsolicited gets in. Dropping NEW
      // packets from the WAN (FORWARD and INPUT) also keeps an early punch
      // packet from leaving a conntrack entry that would make MASQUERADE pick
      // a different port for the home's own outgoing flow to that peer.
      inns(r.rtr, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-o', 'lan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      inns(r.rtr, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-j', 'DROP')
      inns(r.rtr, 'iptables', '-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT')
      inns(r.rtr, 'iptables', '-P', 'FORWARD', 'DROP')
      inns(r.rtr, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      inns(r.rtr, 'iptables', '-A', 'INPUT', '-i', 'wan', '-j', 'DROP')
    }
  } catch (err) {
    destroySync(lab)
    throw err
  }
  const setupMs = Math.round(performance.now() - started)

  const exec = (where: NatLabHost | string, cmd: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Proc => {
    if (lab.destroyed) throw new Error('NAT lab already destroyed')
    const p = new Proc('ip', ['netns', 'exec', resolveNs(ns, where), cmd, ...args], env)
    lab.procs.add(p)
    void p.exited.then(() => lab.procs.delete(p))
    return p
  }

  const wan: NatLab['wan'] = {
    rtr1: '203.0.113.11',
    rtr2: '203.0.113.12',
    ...(opts.nat3 ? { rtr3: '203.0.113.13' } : {}),
    ...(opts.nat4 ? { rtr4: '203.0.113.14' } : {})
  }
  return {
    id,
    ns,
    inetHost: INET_HOST,
    wan,
    lan: {
      home1: '192.168.1.2',
      home2: '192.168.2.2',
      ...(opts.sameLan ? { home1b: '192.168.1.3' } : {}),
      ...(opts.nat3 ? { home3: '192.168.3.2' } : {}),
      ...(opts.nat4 ? { home4: '192.168.4.2' } : {})
    },
    setupMs,
    exec,
    node: (where, args, env = {}) => exec(where, process.execPath, args, env),
    run: (where, cmd, args) => sh('ip', ['netns', 'exec', resolveNs(ns, where), cmd, ...args]),
    changeWan: (router, address) => {
      const old = wan[router]
      // Delete first: removing a primary address would take secondaries with it.
      sh('ip', ['-n', ns[router], 'addr', 'del', `${old}/24`, 'dev', 'wan'])
      sh('ip', ['-n', ns[router], 'addr', 'add', `${address}/24`, 'dev', 'wan'])
      wan[router] = address
      return old
    },
    conntrack: (router) => {
      const r = trySh('ip', ['netns', 'exec', resolveNs(ns, router), 'cat', '/proc/net/nf_conntrack'])
      if (r.ok) return r.out.split('\n').filter((l) => /\budp\b/.test(l)).join('\n')
      const c = trySh('ip', ['netns', 'exec', resolveNs(ns, router), 'conntrack', '-L', '-p', 'udp'])
      return c.ok ? c.out : `(conntrack table not readable: ${r.out})`
    },
    async destroy() {
      if (!liveLabs.has(lab)) return
      const procs = [...lab.procs]
      for (const p of procs) p.kill('SIGKILL')
      await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5000))])
      destroySync(lab)
    }
  }
}
