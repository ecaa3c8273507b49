import type { default as DHT, HostPort } from 'hyperdht'
import { ChatError } from '../errors.js'
import { isLoopback, loadDht } from './network.js'

export interface PrivateNetwork {
  /** The value for --bootstrap. */
  bootstrap: HostPort[]
  nodes: DHT[]
  close(): Promise<void>
}

export interface PrivateNetworkOptions {
  host?: string
  /** 0 picks a free port. */
  port?: number
  /** Persistent nodes besides the bootstrapper (hole punching needs ≥ 3 that know their address). */
  extraNodes?: number
}


/**
 * A small private DHT: a bootstrapper that knows its own address (so it never
 * has to learn it, which a lone first node cannot) plus persistent nodes.
 * With fewer than 3 address-aware nodes, same-host connections can end up
 * half-open under hyperdht's LAN shortcut (hyperdht issue #304).
 */
export async function startPrivateNetwork(opts: PrivateNetworkOptions = {}): Promise<PrivateNetwork> {
  const host = opts.host ?? '127.0.0.1'
  if (host === '0.0.0.0' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    throw ChatError.usage(`--host must be this machine's IPv4 address as peers will reach it (e.g. 127.0.0.1 or 192.168.1.10), not ${JSON.stringify(host)}`)
  }
  const port = opts.port || (await freeUdpPort(host))
  const bindHost = isLoopback(host) ? '127.0.0.1' : '0.0.0.0'
  const DHT = await loadDht()
  const nodes: DHT[] = []
  const close = async () => {
    for (const node of nodes.reverse()) await node.destroy().catch(() => {})
  }
  try {
    const first = DHT.bootstrapper(port, host, { host: bindHost })
    nodes.push(first)
    await first.ready()
    const bootstrap = [{ host, port }]
    const extra = opts.extraNodes ?? 3
    for (let i = 0; i < extra; i++) {
      const node = new DHT({ ephemeral: false, firewalled: false, bootstrap, host: bindHost })
      nodes.push(node)
      await node.fullyBootstrapped()
    }
    return { bootstrap, nodes, close }
  } catch (err) {
    await close()
    if (err instanceof ChatError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw ChatError.bootstrapPortInUse(host, port)
    if (code === 'EADDRNOTAVAIL') throw ChatError.bootstrapHostNotLocal(host)
    throw ChatError.privateDhtFailed(err instanceof Error ? err.message : String(err), err)
  }
}

async function freeUdpPort(host: string): Promise<number> {
  const dgram = await import('node:dgram')
  const socket = dgram.createSocket('udp4')
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, isLoopback(host) ? '127.0.0.1' : '0.0.0.0', () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}
