import { afterAll, afterEach, beforeAll } from 'vitest'
import { formatBootstrap } from '../../src/core/dht/network.js'
import { startPrivateNetwork, type PrivateNetwork } from '../../src/core/dht/privnet.js'
import { cleanupHomes } from './env.js'
import { killAll } from './proc.js'

/** A private loopback DHT (bootstrapper + 3 persistent nodes), as `p2pchat bootstrap` runs it. */
export async function createNetwork(): Promise<PrivateNetwork & { flag: string }> {
  const net = await startPrivateNetwork({ host: '127.0.0.1', port: 0 })
  return Object.assign(net, { flag: formatBootstrap(net.bootstrap) })
}

/**
 * The usual test-file setup: one private DHT for the file, every process a
 * test started killed after it, the DHT and temp homes removed at the end.
 */
export function useTestNetwork(): { readonly flag: string; readonly bootstrap: PrivateNetwork['bootstrap'] } {
  let net: Awaited<ReturnType<typeof createNetwork>> | undefined
  beforeAll(async () => {
    net = await createNetwork()
  })
  afterEach(async () => {
    await killAll()
  })
  afterAll(async () => {
    await net?.close()
    cleanupHomes()
  })
  return {
    get flag() {
      return net!.flag
    },
    get bootstrap() {
      return net!.bootstrap
    }
  }
}
