import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { jsonEvents, Proc, p2pchat, startListener } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

// What "connected" means: the peer's encrypted-stream header arrived (issue 19
// point 23), and what came with it is shown after it (point 11).

const net = useTestNetwork()

const HEADERLESS = fileURLToPath(new URL('../fixtures/headerless-listener.mjs', import.meta.url))

describe('connected means the peer answered on the encrypted stream', () => {
  it('a listener whose transport acknowledges but whose stream never sends its header: never "connected", a half-open error (exit 8)', async () => {
    const listener = new Proc(process.execPath, [HEADERLESS, net.flag])
    try {
      const key = (await listener.waitFor(/listening ([0-9a-f]{64})/))[1]!
      const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
      client.write('hello\n')
      await listener.waitFor('open')
      const { code } = await client.exit(30_000)
      expect(client.stderr).not.toContain('connected to')
      expect(client.stderr).toMatch(/p2pchat: connection opened but the peer never answered within \d+ s \(half-open connection\)/)
      expect(code).toBe(8)
    } finally {
      listener.kill('SIGKILL')
    }
  }, 40_000)
})

describe('what comes with the first bytes is shown after "connected"', () => {
  it('joining a room: the connected event comes before the "in the room" line, every time', async () => {
    const { proc: listener, key } = await startListener(net.flag)
    const member = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await member.waitFor(`connected to ${key}`)
    try {
      for (let i = 0; i < 4; i++) {
        const newcomer = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
        await newcomer.waitFor('* in the room:', 'stdout')
        const events = jsonEvents(newcomer).filter((e) => e.type === 'connected' || e.type === 'message')
        expect(events[0]?.type, newcomer.stdout).toBe('connected')
        expect(String(events[1]?.text)).toMatch(/^\* in the room: /)
        newcomer.end()
        expect((await newcomer.exit()).code).toBe(0)
      }
    } finally {
      member.end()
      await member.exit()
      listener.kill('SIGINT')
      await listener.exit()
    }
  }, 60_000)

  it('in a terminal too: "✔ connected to" is above the "in the room" line', async () => {
    const { proc: listener, key } = await startListener(net.flag)
    const member = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await member.waitFor(`connected to ${key}`)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    try {
      const rows = await pty.waitForScreen('* in the room:')
      const connected = rows.findIndex((r) => r.includes('✔ connected to'))
      const room = rows.findIndex((r) => r.includes('* in the room:'))
      expect(connected, rows.join('\n')).toBeGreaterThanOrEqual(0)
      expect(connected).toBeLessThan(room)
    } finally {
      pty.type('/quit\r')
      await pty.exit()
      member.end()
      await member.exit()
      listener.kill('SIGINT')
      await listener.exit()
    }
  }, 60_000)
})
