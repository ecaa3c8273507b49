import type { NetworkConfig } from './network.js'
import { joinNetwork } from './network.js'

export type NatType = 'open' | 'consistent' | 'random' | 'unknown'

export interface Diagnosis {
  bootstrapMs: number
  nodes: number
  publicAddress: string | null
  natType: NatType
  firewalled: boolean
}

/** Joins the DHT and reports what it learned about this host's reachability. */
export async function diagnose(network: NetworkConfig, now: () => number = Date.now): Promise<Diagnosis> {
  const started = now()
  const dht = await joinNetwork(network)
  try {
    const bootstrapMs = now() - started
    const host = dht.host
    const natType: NatType = !dht.firewalled ? 'open' : host === null ? 'unknown' : dht.randomized ? 'random' : 'consistent'
    return {
      bootstrapMs,
      nodes: dht.toArray().length,
      publicAddress: host ? (dht.port ? `${host}:${dht.port}` : `${host} (port changes per destination)`) : null,
      natType,
      firewalled: dht.firewalled
    }
  } finally {
    await dht.destroy().catch(() => {})
  }
}

export function adviceFor(nat: NatType): string {
  switch (nat) {
    case 'open':
      return 'reachable directly: peers can connect to this machine without hole punching'
    case 'consistent':
      return 'direct connections likely: hole punching works with any peer whose NAT is open or consistent, and with most randomizing ones'
    case 'random':
      return 'relay likely needed: this NAT picks a new port per destination, so a peer behind another randomizing NAT can only be reached through a relay (--relay-through)'
    default:
      return 'the NAT type could not be determined (too few DHT nodes answered); try again'
  }
}
