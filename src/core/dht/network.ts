import { isIP } from 'node:net'
import type { default as DHTClass, DHTOptions, HostPort, KeyPair } from 'hyperdht'
import { ChatError } from '../errors.js'

/** Where the DHT is: undefined bootstrap means the public HyperDHT network. */
export interface NetworkConfig {
  bootstrap?: HostPort[]
  /** Set when every bootstrap address is loopback: nodes must bind 127.0.0.1 then. */
  host?: string
}

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/

/** Parses `host:port[,host:port…]`. Throws a usage error naming the bad entry. */
export function parseBootstrapList(value: string, source = '--bootstrap'): HostPort[] {
  const entries = value.split(',').map((s) => s.trim())
  if (entries.length === 0 || entries.every((s) => s === '')) {
    throw ChatError.usage(`${source} is empty: expected host:port[,host:port...]`)
  }
  return entries.map((entry) => {
    const bad = (why: string) => ChatError.usage(`${source}: invalid entry ${JSON.stringify(entry)}: ${why} (expected host:port, e.g. 127.0.0.1:49737)`)
    const colon = entry.lastIndexOf(':')
    if (colon <= 0) throw bad('missing port')
    let host = entry.slice(0, colon)
    const portText = entry.slice(colon + 1)
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    if (!/^\d{1,5}$/.test(portText)) throw bad('port must be a number')
    const port = Number(portText)
    if (port < 1 || port > 65535) throw bad('port must be 1-65535')
    if (isIP(host) === 6) throw bad('IPv6 is not supported by HyperDHT')
    if (isIP(host) === 0 && (!HOSTNAME.test(host) || /^[\d.]+$/.test(host))) throw bad('not a valid host name or IPv4 address')
    if (host.toLowerCase() === 'localhost') host = '127.0.0.1'
    return { host, port }
  })
}

/** This machine's IPv4 addresses, loopback included, from os.networkInterfaces(). */
export function localIPv4Addresses(interfaces: NodeJS.Dict<Array<{ address: string; family: string | number }>>): string[] {
  const out: string[] = []
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) if ((a.family === 'IPv4' || a.family === 4) && !out.includes(a.address)) out.push(a.address)
  }
  return out
}

/**
 * Refuses an address to advertise (bootstrap --host) that is not one of this
 * machine's: nodes would bind everywhere and tell peers to come to an address
 * that never reaches them.
 */
export function checkOwnAddress(host: string, localAddresses: string[], option = '--host'): void {
  if (localAddresses.includes(host)) return
  throw ChatError.usage(
    `${option} ${host} is not an address of this machine, so peers could not reach the DHT there (this machine's IPv4 addresses: ${localAddresses.join(', ') || 'none'})`
  )
}

export function isLoopback(host: string): boolean {
  return host.toLowerCase() === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'))
}

/**
 * Chooses the network: an explicit --bootstrap wins over P2PCHAT_BOOTSTRAP,
 * and with neither the library's public bootstrap nodes are used.
 */
export function resolveNetwork(flag: string | undefined, env: NodeJS.ProcessEnv): NetworkConfig {
  let bootstrap: HostPort[] | undefined
  if (flag !== undefined) bootstrap = parseBootstrapList(flag, '--bootstrap')
  else if (env.P2PCHAT_BOOTSTRAP) bootstrap = parseBootstrapList(env.P2PCHAT_BOOTSTRAP, 'P2PCHAT_BOOTSTRAP')
  if (!bootstrap) return {}
  // On a loopback network a node bound to 0.0.0.0 "connects" but moves no data.
  const host = bootstrap.every((b) => isLoopback(b.host)) ? '127.0.0.1' : undefined
  return host ? { bootstrap, host } : { bootstrap }
}

/** The public network, in words (no --bootstrap). */
export const PUBLIC_BOOTSTRAP = 'the public HyperDHT bootstrap nodes'

export function formatBootstrap(nodes: HostPort[]): string {
  return nodes.map((n) => `${n.host}:${n.port}`).join(',')
}

/** hyperdht is loaded only here, so commands that need no network start fast. */
export async function loadDht(): Promise<typeof DHTClass> {
  const mod = await import('hyperdht')
  return mod.default
}

/**
 * Creates a DHT node on the configured network. `joined` settles when the
 * bootstrap walk is done: it rejects with NETWORK_UNREACHABLE when no node
 * answered (and then destroys the node). Callers that can start work at once
 * (a connect) do so and consult `joined` only to explain a failure.
 */
export async function openNode(network: NetworkConfig, keyPair?: KeyPair): Promise<{ dht: DHTClass; joined: Promise<void> }> {
  const DHT = await loadDht()
  const opts: DHTOptions = {}
  if (network.bootstrap) opts.bootstrap = network.bootstrap
  if (network.host) opts.host = network.host
  if (keyPair) opts.keyPair = keyPair
  const dht = new DHT(opts)
  const joined = (async () => {
    try {
      await dht.fullyBootstrapped()
    } catch (err) {
      await dht.destroy().catch(() => {})
      throw ChatError.dhtJoinFailed(err instanceof Error ? err.message : String(err), err)
    }
    if (dht.toArray().length === 0) {
      await dht.destroy().catch(() => {})
      const list = network.bootstrap ? formatBootstrap(network.bootstrap) : null
      throw ChatError.dhtUnreachable(list ?? PUBLIC_BOOTSTRAP, list)
    }
  })()
  joined.catch(() => {}) // consulted later, or not at all
  return { dht, joined }
}

/** Creates a DHT node and waits until it has joined (see openNode). */
export async function joinNetwork(network: NetworkConfig, keyPair?: KeyPair): Promise<DHTClass> {
  const { dht, joined } = await openNode(network, keyPair)
  await joined
  return dht
}

/**
 * How long leaving the DHT may take before the process goes on without
 * waiting. A normal dht.destroy() takes milliseconds; it takes ~13 s when a
 * connection's UDX stream still has an unacknowledged packet to a peer that
 * died (e.g. our half-close answering the end of a listener that then exited
 * at once): hyperdht waits for every raw stream to close, and UDX closes it
 * only after its retransmission timeout.
 */
export const DHT_LEAVE_GRACE_MS = 1000

/**
 * Destroys the node, waiting at most `graceMs` (see DHT_LEAVE_GRACE_MS). For a
 * process that is about to exit and announced nothing: a listener must
 * await its own unannounce first.
 */
export async function leaveNetwork(dht: DHTClass, graceMs = DHT_LEAVE_GRACE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([dht.destroy().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
  clearTimeout(timer)
}

/** Relays from --relay-through (repeatable) or P2PCHAT_RELAY (comma-separated): keys or contact names. */
export function resolveRelays(flags: string[] | undefined, env: NodeJS.ProcessEnv, resolveKey: (s: string) => Buffer): Buffer[] {
  const fromFlag = Boolean(flags?.length)
  const entries = fromFlag ? flags! : env.P2PCHAT_RELAY ? env.P2PCHAT_RELAY.split(',').map((s) => s.trim()).filter(Boolean) : []
  // Name where a bad entry came from: an environment variable is easy to forget.
  const source = fromFlag ? '--relay-through' : 'P2PCHAT_RELAY'
  return entries.map((entry) => {
    try {
      return resolveKey(entry)
    } catch (err) {
      if (err instanceof ChatError) throw err.from(source)
      throw err
    }
  })
}
