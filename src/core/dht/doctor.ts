import type { NetworkConfig } from './network.js'
import { joinNetwork } from './network.js'

export type NatType = 'open' | 'consistent' | 'random' | 'unknown'

export interface Diagnosis {
  bootstrapMs: number
  nodes: number
  publicAddress: string | null
  natType: NatType
  firewalled: boolean
  /** The public address the DHT sees is one of this machine's own: no NAT in between. */
  noNat: boolean
}

/** dht-rpc's own firewall test (not in its typings): asks up to 5 nodes to ping our server socket unsolicited. */
interface FirewallCheck {
  _checkIfFirewalled?: () => Promise<boolean>
}

/**
 * Joins the DHT and reports what it learned about this host's reachability.
 * `localAddresses` are this machine's own IPv4 addresses (os.networkInterfaces()).
 */
export async function diagnose(network: NetworkConfig, localAddresses: string[], now: () => number = Date.now): Promise<Diagnosis> {
  const started = now()
  const dht = await joinNetwork(network)
  try {
    const bootstrapMs = now() - started
    // Counted first: nodes that cannot reach us in the firewall check below may be dropped.
    const nodes = dht.toArray().length
    const host = dht.host
    // hyperdht's `firewalled` starts true and turns false only once its quick
    // check (one PING_NAT racing the bootstrap walk) or a later network update
    // proves unsolicited UDP gets in: right after joining, an open host usually
    // still says "firewalled" (5 of 6 runs in the NAT lab). When the address the
    // DHT sees is our own (no NAT), run dht-rpc's full check now instead.
    const noNat = host !== null && localAddresses.includes(host)
    let firewalled = dht.firewalled
    const check = (dht as unknown as FirewallCheck)._checkIfFirewalled
    if (noNat && firewalled && typeof check === 'function') firewalled = await check.call(dht).catch(() => true)
    // No NAT is "open" whatever a host firewall does; the firewall is reported beside it.
    const natType: NatType = noNat || !firewalled ? 'open' : host === null ? 'unknown' : dht.randomized ? 'random' : 'consistent'
    return {
      bootstrapMs,
      nodes,
      publicAddress: host ? (dht.port ? `${host}:${dht.port}` : `${host} (port changes per destination)`) : null,
      natType,
      firewalled,
      noNat
    }
  } finally {
    await dht.destroy().catch(() => {})
  }
}
