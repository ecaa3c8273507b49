import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener } from '../helpers/proc.js'

const net = useTestNetwork()

const listen = (env = tempHome().env) => startListener(net.flag, [], env)

describe('listen + connect', () => {
  it('chats both ways, then the connector exits 0 when its stdin ends', async () => {
    const { proc: listener, key } = await listen()
    expect(listener.stderr).toContain(`p2pchat connect ${key} --bootstrap ${net.flag}`)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const joined = await listener.waitFor(/([0-9a-f]{8}) joined \(([0-9a-f]{64})\)/)

    client.write('hello from the client\n')
    await listener.waitFor(`[${joined[1]}] hello from the client\n`, 'stdout')

    listener.write('hello from the listener\n')
    await client.waitFor('hello from the listener\n', 'stdout')
    // Alone in the room: no greeting, exactly the listener's line.
    expect(client.stdout).toBe('hello from the listener\n')

    client.end('last words, no newline')
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor(`[${joined[1]}] last words, no newline\n`, 'stdout')
    await listener.waitFor(`${joined[1]} left`)
  })

  it('delivers 2 000 lines written before the connection opened, complete and in order', async () => {
    const { proc: listener, key } = await listen()
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.end(lines.join('\n') + '\n')
    expect((await client.exit()).code).toBe(0)
    const joined = await listener.waitFor(/([0-9a-f]{8}) left/)
    const prefix = `[${joined[1]}] `
    const got = listener.stdout.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length))
    expect(got).toEqual(lines)
  })

  it('serves three peers at once: each is shown with its key, and a typed line reaches all', async () => {
    const { proc: listener, key } = await listen()
    const clients = [0, 1, 2].map(() => p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env))
    await Promise.all(clients.map((c) => c.waitFor(`connected to ${key}`)))
    await listener.waitFor(/(joined[^]*){3}/)
    clients.forEach((c, i) => c.write(`message from client ${i}\n`))
    for (let i = 0; i < 3; i++) await listener.waitFor(new RegExp(`\\[[0-9a-f]{8}\\] message from client ${i}\\n`), 'stdout')
    const senders = new Set([...listener.stdout.matchAll(/\[([0-9a-f]{8})\] message from client/g)].map((m) => m[1]))
    expect(senders.size).toBe(3)

    listener.write('to everyone\n')
    await Promise.all(clients.map((c) => c.waitFor('to everyone\n', 'stdout')))
    clients.forEach((c) => c.end())
    for (const c of clients) expect((await c.exit()).code).toBe(0)
  })

  it('cuts a typed line longer than 64 KiB with a notice, and the next line arrives intact', async () => {
    const { proc: listener, key } = await listen()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.end('y'.repeat(100_000) + '\nafter the long one\n')
    expect((await client.exit()).code).toBe(0)
    expect(client.stderr).toContain('line too long: sent the first 65536 bytes, dropped 34464')
    await listener.waitFor(/\] after the long one\n/, 'stdout')
    const long = listener.stdout.split('\n').find((l) => l.includes('yyyy'))!
    expect(long.replace(/^\[[0-9a-f]{8}\] /, '')).toBe('y'.repeat(65536))
  })

  it('keeps the same key across restarts with the same identity', async () => {
    const home = tempHome().env
    const first = await listen(home)
    first.proc.kill('SIGINT')
    expect((await first.proc.exit()).code).toBe(0)
    const second = await listen(home)
    expect(second.key).toBe(first.key)
    expect(first.proc.stderr).toContain('created a new identity')
    expect(second.proc.stderr).not.toContain('created a new identity')
  })

  it('on SIGINT closes its peers, unannounces and exits 0 within 2 s; connecting then says "peer not found"', async () => {
    const { proc: listener, key } = await listen()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const started = Date.now()
    listener.kill('SIGINT')
    expect((await listener.exit()).code).toBe(0)
    expect(Date.now() - started).toBeLessThan(2000)
    // The connected peer is told the chat is over.
    expect((await client.exit()).code).toBe(0)
    expect(client.stderr).toContain('the peer closed the connection')

    const late = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    const { code } = await late.exit(20_000)
    expect(late.stderr).toMatch(/p2pchat: peer not found/)
    expect(code).toBe(4)
  })

  it('on stdin end keeps listening: a peer can still connect afterwards', async () => {
    const { proc: listener, key } = await listen()
    listener.end()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.end('still there?\n')
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor(/\] still there\?\n/, 'stdout')
    expect(listener.child.exitCode).toBeNull()
  })

  it('Ctrl+C on connect closes the connection and exits 0', async () => {
    const { proc: listener, key } = await listen()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    client.kill('SIGINT')
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor(/[0-9a-f]{8} left/)
  })
})
