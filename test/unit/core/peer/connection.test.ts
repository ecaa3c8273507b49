import createTestnet from '@hyperswarm/testnet'
import type { NoiseStream } from 'hyperdht'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peerHeaderArrived } from '../../../../src/core/peer/connection.js'

// peerHeaderArrived reads a field of @hyperswarm/secret-stream that it does not
// document: checked here on real hyperdht streams, so a rename fails loudly
// instead of making every connection look half-open.
describe('peerHeaderArrived, on real hyperdht streams', () => {
  let testnet: Awaited<ReturnType<typeof createTestnet>>
  beforeAll(async () => {
    testnet = await createTestnet(3, { host: '127.0.0.1' })
  })
  afterAll(async () => {
    await testnet.destroy()
  })

  it('is false before the peer has sent its header, true once it has', async () => {
    const [a, b] = testnet.nodes as unknown as [import('hyperdht').default, import('hyperdht').default]
    let serverSide: NoiseStream | null = null
    const server = a.createServer((stream) => {
      serverSide = stream
      stream.on('error', () => {})
    })
    const keyPair = (a.constructor as typeof import('hyperdht').default).keyPair()
    await server.listen(keyPair)
    const client = b.connect(keyPair.publicKey)
    client.on('error', () => {})
    // Before anything has travelled: no header yet.
    expect(peerHeaderArrived(client)).toBe(false)
    await new Promise<void>((resolve) => client.once('open', () => resolve()))
    const deadline = Date.now() + 5000
    while (!peerHeaderArrived(client) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(peerHeaderArrived(client)).toBe(true)
    expect(serverSide).not.toBeNull()
    client.destroy()
    await server.close()
  })
})
