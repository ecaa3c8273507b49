import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { Proc, p2pchat, startListener } from '../helpers/proc.js'

// How a chat ends: a leaving connector must look like a clean close on the
// listener, and a listener that is gone must end its connectors at once.

const net = useTestNetwork()

const VANISHING = fileURLToPath(new URL('../fixtures/vanishing-listener.mjs', import.meta.url))

function jsonEvents(proc: Proc): Array<Record<string, unknown>> {
  return proc.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

describe('a connector that leaves', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('on %s ends the stream: the listener reports a clean leave (peer-left reason null), the connector exits 0', async (signal) => {
    const listener = p2pchat(['listen', '--json', '--bootstrap', net.flag], tempHome().env)
    await listener.waitFor('"type":"ready"', 'stdout')
    const key = (jsonEvents(listener).find((e) => e.type === 'ready')!.publicKey as string)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    await listener.waitFor('"type":"peer-joined"', 'stdout')

    client.kill(signal)
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor('"type":"peer-left"', 'stdout')
    const left = jsonEvents(listener).find((e) => e.type === 'peer-left')!
    expect(left.reason).toBeNull()
  })

  it('on SIGINT the text notice on the listener has no error in it', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const name = (await listener.waitFor(/([0-9a-f]{8}) joined/))[1]!
    client.kill('SIGINT')
    expect((await client.exit()).code).toBe(0)
    const line = (await listener.waitFor(new RegExp(`\\* ${name} left.*\\n`)))[0]
    expect(line).toBe(`* ${name} left\n`)
  })
})

describe('a listener that is gone', () => {
  // The state a quick double Ctrl+C on a listener leaves behind, made
  // deterministic: the listener's end arrived, and the connector's end will
  // never be acknowledged. hyperdht's destroy() waits for UDX to give up on
  // it (~13 s); the connector must not.
  it('ending the connection and dying at once: the connector says the peer closed and exits 0 within seconds, not ~13 s', async () => {
    const listener = new Proc(process.execPath, [VANISHING, net.flag])
    const key = (await listener.waitFor(/listening ([0-9a-f]{64})/))[1]!
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    await listener.waitFor('open')

    listener.write('vanish\n')
    await listener.exited
    expect(listener.stderr).toContain('vanishing')
    await client.waitFor('the peer closed the connection')
    const noticedAt = Date.now()
    expect((await client.exit(10_000)).code).toBe(0)
    expect(Date.now() - noticedAt).toBeLessThan(5000)
  })
})
