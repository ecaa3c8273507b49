import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener } from '../helpers/proc.js'

// `printf … | p2pchat connect KEY` exits 0 only when the listener's
// transport acknowledged every line; otherwise it says how many were not
// confirmed and exits 10.

const net = useTestNetwork()

describe('delivery confirmation when input ends', () => {
  it('a frozen listener: the lost connection gives the exit code (8, issue 19 point 22), and only the lines it never acknowledged are named', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    client.write('one\ntwo\n')
    await listener.waitFor('] two\n', 'stdout')

    listener.kill('SIGSTOP')
    try {
      client.end('three\nfour\nfive\n')
      const { code } = await client.exit(25_000)
      expect(client.stderr).toMatch(/not delivered to [0-9a-f]{8}: 3 lines \(#3 "three", #4 "four", #5 "five"\)/)
      expect(client.stderr).toMatch(/p2pchat: connection lost: the peer acknowledged nothing for/)
      expect(code).toBe(8)
    } finally {
      listener.kill('SIGCONT')
    }
  }, 40_000)

  it('a listener frozen for 7 s, then back: connect --reconnect declares the path dead, redials, and exits 0 only once every line is acknowledged', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag, '--reconnect'], tempHome().env)
    await client.waitFor(`connected to ${key}`)

    listener.kill('SIGSTOP')
    const lines = Array.from({ length: 50 }, (_, i) => `late line ${i}`)
    client.end(lines.join('\n') + '\n')
    // A frozen peer looks dead: the connection is declared lost within seconds and the lines are kept.
    await client.waitFor(/connection lost: the peer acknowledged nothing.*; reconnecting/, 'stderr', 10_000)
    await new Promise((resolve) => setTimeout(resolve, 7000 - 3000))
    const stillWaiting = client.child.exitCode === null
    listener.kill('SIGCONT')
    expect(stillWaiting).toBe(true)
    const { code } = await client.exit(30_000)
    expect(code).toBe(0)
    expect(client.stderr).not.toContain('not confirmed')
    await listener.waitFor('] late line 49\n', 'stdout')
    // At least once: the old stream may deliver some lines after SIGCONT and the outbox sends them again.
    const got = listener.stdout.split('\n').filter((l) => l.includes('late line')).map((l) => l.replace(/^\[[0-9a-f]{8}\] /, ''))
    expect([...new Set(got)]).toEqual(lines)
  }, 40_000)
})
