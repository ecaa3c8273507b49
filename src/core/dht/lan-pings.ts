import type { default as DHTClass, HostPort } from 'hyperdht'

// RFC 1918, link-local and carrier-grade NAT (RFC 6598) IPv4 addresses.
const PRIVATE_IPV4 = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/

function isDhtNode(dht: DHTClass, to: HostPort): boolean {
  return dht.toArray().some((node) => node.host === to.host && node.port === to.port)
}

/** dht-rpc's ping, not in hyperdht's typings. */
interface Pinger {
  ping?: (to: HostPort, opts?: unknown) => Promise<unknown>
}

export interface LanPings {
  /** The last LAN address (host:port) that did not answer a ping started at or after `since`, or null. */
  silentSince(since: number): string | null
  /** Calls `listener` whenever a LAN address does not answer (with when its ping started); returns a function that stops it. */
  onSilent(listener: (address: string, at: number) => void): () => void
}

/**
 * hyperdht's same-NAT shortcut, which it does not report: when the peer's
 * public address is ours (both behind one router), connect pings the peer's
 * LAN address (`dht.ping(addr)`, no options: 4 tries of 1 s) before hole
 * punching; when that goes unanswered, the pinned, patched 6.34.0 punches to
 * the shared public address next, which fails without hairpin NAT
 * (patches/hyperdht+6.34.0.patch; 6.32.0 gave up at once). Watches the
 * node's pings to private addresses so
 * the error can say what happened: the peer is on this LAN and does not
 * answer there. The only other pings without options to a private address
 * go to DHT nodes (a volunteer's announcer), which are left out. Observes
 * only: the pings run as before.
 */
export function watchLanPings(dht: DHTClass, now: () => number = Date.now): LanPings {
  const node = dht as unknown as Pinger
  let silent: { at: number; address: string } | null = null
  const listeners = new Set<(address: string, at: number) => void>()
  const ping = node.ping
  if (typeof ping === 'function') {
    node.ping = (to: HostPort, opts?: unknown) => {
      const pending = ping.call(dht, to, opts)
      // A node with a server (a volunteer relay) also pings DHT nodes without options: those are not the peer.
      if (opts === undefined && PRIVATE_IPV4.test(to.host) && !isDhtNode(dht, to)) {
        const at = now()
        pending.catch(() => {
          silent = { at, address: `${to.host}:${to.port}` }
          for (const listener of listeners) listener(silent.address, at)
        })
      }
      return pending
    }
  }
  return {
    silentSince: (since) => (silent && silent.at >= since ? silent.address : null),
    onSilent: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
}

