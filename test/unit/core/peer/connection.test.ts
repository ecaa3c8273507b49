import DHT from 'hyperdht'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPrivateNetwork, type PrivateNetwork } from '../../../../src/core/dht/privnet.js'
import { peerHeaderArrived } from '../../../../src/core/peer/connection.js'

// peerHeaderArrived reads a field of @hyperswarm/secret-stream that it does not
// document: checked here on real hyperdht streams, so a rename fails loudly
// instead of making every connection look half-open.
describe('peerHeaderArrived, on real hyperdht streams', () => {
  let net: PrivateNetwork
  const nodes: DHT[] = []
  beforeAll(async () => {
    net = await startPrivateNetwork({ port: 0 })
  })
  afterAll(async () => {
    for (const node of nodes) await node.destroy()
    await net.close()
  })

  it('is false before the peer has sent its header, true once it has', async () => {
    const [a, b] = [0, 1].map(() => {
      const node = new DHT({ bootstrap: net.bootstrap, host: '127.0.0.1' })
      nodes.push(node)
      return node
    }) as [DHT, DHT]
    const server = a.createServer({}, (stream) => stream.on('error', () => {}))
    const keyPair = DHT.keyPair()
    await server.listen(keyPair)
    const client = b.connect(keyPair.publicKey)
    client.on('error', () => {})
    // Before anything has travelled: no header yet.
    expect(peerHeaderArrived(client)).toBe(false)
    await new Promise<void>((resolve) => client.once('open', () => resolve()))
    const deadline = Date.now() + 5000
    while (!peerHeaderArrived(client) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(peerHeaderArrived(client)).toBe(true)
    client.destroy()
    await server.close()
  })
})
