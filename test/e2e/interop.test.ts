import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, rawPeer, type Proc } from '../helpers/proc.js'

// The plain HyperDHT chat example (test/fixtures/raw-peer.mjs) must chat with
// p2pchat in both roles: the wire is UTF-8 lines and nothing else.

const net = useTestNetwork()

async function rawListener(extra: string[] = []): Promise<{ raw: Proc; key: string }> {
  const raw = rawPeer(['listen', net.flag, ...extra])
  const m = await raw.waitFor(/listening ([0-9a-f]{64})/)
  return { raw, key: m[1]! }
}

async function p2pListener(): Promise<{ proc: Proc; key: string }> {
  const proc = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
  const m = await proc.waitFor(/listening on ([0-9a-f]{64})/)
  return { proc, key: m[1]! }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('interop with the raw HyperDHT example peer', () => {
  it('p2pchat connect ↔ raw listener: exact bytes both ways', async () => {
    const { raw, key } = await rawListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    client.write('héllo wörld € 😀\n')
    await raw.waitFor('😀\n', 'stdout')
    expect(Buffer.concat(raw.stdoutBytes).equals(Buffer.from('héllo wörld € 😀\n'))).toBe(true)

    raw.write('from the raw peer\n')
    await client.waitFor('from the raw peer\n', 'stdout')
    expect(client.stdout).toBe('from the raw peer\n')
    client.end()
    expect((await client.exit()).code).toBe(0)
  })

  it('raw connector → p2pchat listen: lines, CRLF, split UTF-8, a final line without newline', async () => {
    const { proc: listener, key } = await p2pListener()
    const raw = rawPeer(['connect', net.flag, key])
    await raw.waitFor('open')
    const joined = await listener.waitFor(/([0-9a-f]{8}) joined/)
    const tag = `[${joined[1]}] `

    raw.write('plain line\n')
    await listener.waitFor(`${tag}plain line\n`, 'stdout')
    raw.write('windows line\r\n')
    // A \r is a byte like any other: kept, so a pipe gets exactly what was sent.
    await listener.waitFor(`${tag}windows line\r\n`, 'stdout')
    // "€" is E2 82 AC: send it split across two packets.
    const euro = Buffer.from('price: €5\n')
    raw.write(euro.subarray(0, 8))
    await sleep(100)
    raw.write(euro.subarray(8))
    await listener.waitFor(`${tag}price: €5\n`, 'stdout')

    listener.write('from the listener\n')
    await raw.waitFor('from the listener\n', 'stdout')
    expect(raw.stdout).toBe('from the listener\n')

    raw.end('unterminated final line')
    await listener.waitFor(`${tag}unterminated final line\n`, 'stdout')
    await listener.waitFor(`${joined[1]} left`)
    expect(listener.stdout.match(/\r/g)).toHaveLength(1)
  })

  it('a raw peer sending a 2 MB line is cut at 64 KiB with a notice; the listener keeps serving', async () => {
    const { proc: listener, key } = await p2pListener()
    const raw = rawPeer(['connect', net.flag, key])
    await raw.waitFor('open')
    raw.write('z'.repeat(2 * 1024 * 1024) + '\nnext\n')
    await listener.waitFor(/line too long: kept the first 65536 bytes, dropped 2031616/)
    await listener.waitFor(/\] next\n/, 'stdout')

    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.end('another peer still gets through\n')
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor(/\] another peer still gets through\n/, 'stdout')
  })

  it('a listener that refuses the connection gives "connection failed" and exit 5', async () => {
    const { key } = await rawListener(['--refuse'])
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    const { code } = await client.exit(20_000)
    expect(client.stderr).toMatch(/^p2pchat: connection (failed|refused)/m)
    expect(code).toBe(5)
  })
})
