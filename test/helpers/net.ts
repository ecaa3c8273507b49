import { startPrivateNetwork, type PrivateNetwork } from '../../src/core/privnet.js'
import { formatBootstrap } from '../../src/core/network.js'

/** A private loopback DHT (bootstrapper + 3 persistent nodes), as `p2pchat bootstrap` runs it. */
export async function createNetwork(): Promise<PrivateNetwork & { flag: string }> {
  const net = await startPrivateNetwork({ host: '127.0.0.1', port: 0 })
  return Object.assign(net, { flag: formatBootstrap(net.bootstrap) })
}
