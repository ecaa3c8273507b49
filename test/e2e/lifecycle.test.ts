import dgram from 'node:dgram'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, Proc, startListener } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

// How a listener starts and ends: one live listener per key, and every way it
// stops (signals at any phase, a lost stdout) unannounces the key.

const net = useTestNetwork()
const SAME_KEY_ANNOUNCER = fileURLToPath(new URL('../fixtures/same-key-announcer.mjs', import.meta.url))

// A loopback UDP port that never answers: joining a DHT through it takes seconds.
let silent: dgram.Socket
beforeAll(async () => {
  silent = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
})
afterAll(() => silent.close())

/** A peer connects, sends a line, leaves; the listener must show it. */
async function assertServes(listener: Proc, key: string, text: string): Promise<void> {
  const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
  client.end(`${text}\n`)
  expect((await client.exit(20_000)).code).toBe(0)
  await listener.waitFor(`] ${text}\n`, 'stdout')
}

/** Nobody serves `key` any more: a connect says "peer not found" (exit 4) at once, not exit 5 after 8 s. */
async function assertUnannounced(key: string): Promise<void> {
  const late = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
  const started = Date.now()
  const { code } = await late.exit(20_000)
  expect(late.stderr).toContain('p2pchat: peer not found')
  expect(code).toBe(4)
  expect(Date.now() - started).toBeLessThan(5000)
}

const identityFile = (dir: string) => path.join(dir, 'config', 'p2pchat', 'identity.json')

describe('one key, one listener', () => {
  it('a second listener with the same identity refuses to start (exit 3) and the first keeps serving', async () => {
    const { env } = tempHome()
    const first = await startListener(net.flag, [], env)
    const started = Date.now()
    const second = p2pchat(['listen', '--bootstrap', net.flag], env)
    const { code } = await second.exit()
    const took = Date.now() - started
    expect(code).toBe(3)
    const errors = second.stderr.split('\n').filter((l) => l.startsWith('p2pchat:'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(
      /^p2pchat: another listener is already serving this identity's key [0-9a-f]{8}… \(on this machine or another\): stop that one first, or start this one with another identity \(--identity FILE/
    )
    expect(second.stderr).not.toContain('listening on')
    expect(took).toBeLessThan(10_000)
    await first.proc.waitFor('another listener with this identity tried to start and was refused')
    // The first one still holds the key.
    await assertServes(first.proc, first.key, 'still served by the first')
  })

  it.each([
    ['SIGINT', 'SIGINT'],
    ['SIGTERM', 'SIGTERM'],
    ['SIGTERM', 'SIGINT']
  ] as const)('%s then %s 5 ms later (as `timeout` and process-group signals send them) is one request: it unannounces, exits 0, and a restart finds no stale announcement', async (first, second) => {
    const { env } = tempHome()
    const listener = await startListener(net.flag, [], env)
    listener.proc.kill(first)
    await new Promise((resolve) => setTimeout(resolve, 5))
    listener.proc.kill(second)
    const { code } = await listener.proc.exit()
    expect(code).toBe(0)
    const again = await startListener(net.flag, [], env)
    expect(again.key).toBe(listener.key)
    expect(again.proc.stderr).not.toContain('stale announcement')
    again.proc.kill('SIGINT')
    await again.proc.exit()
  })

  it('a listener killed with SIGKILL does not block a restart with the same identity', async () => {
    const { env } = tempHome()
    const first = await startListener(net.flag, [], env)
    first.proc.kill('SIGKILL')
    await first.proc.exit()
    const started = Date.now()
    const again = await startListener(net.flag, [], env)
    const took = Date.now() - started
    expect(again.key).toBe(first.key)
    expect(again.proc.stderr).toContain('a previous listener with this identity did not answer (it crashed or lost its network): replacing its stale announcement')
    process.stderr.write(`[lifecycle] restart after SIGKILL: listening again after ${took} ms\n`)
    await assertServes(again.proc, again.key, 'served after the crash')
  })

  it('restores its announcement after another process announced the same key and left', async () => {
    const { dir, env } = tempHome()
    // Test seam: check the announcement every second instead of every 30 s.
    const { proc, key } = await startListener(net.flag, [], { ...env, P2PCHAT_ANNOUNCE_CHECK_MS: '1000' })
    const other = new Proc(process.execPath, [SAME_KEY_ANNOUNCER, net.flag, identityFile(dir)])
    await other.waitFor('announced')
    other.end()
    await other.waitFor('unannounced')
    const lostAt = Date.now()
    await proc.waitFor('the announcement of this key was lost', 'stderr', 10_000)
    // Reachable again within the bound: check interval + the announcer's 3 s loop + announcing.
    let restoredMs = -1
    while (Date.now() - lostAt < 12_000) {
      const probe = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
      probe.end('are you back?\n')
      if ((await probe.exit(20_000)).code === 0) {
        restoredMs = Date.now() - lostAt
        break
      }
      await new Promise((r) => setTimeout(r, 200))
    }
    process.stderr.write(`[lifecycle] announcement restored ${restoredMs} ms after it was removed\n`)
    expect(restoredMs).toBeGreaterThanOrEqual(0)
    await proc.waitFor('] are you back?\n', 'stdout')
  }, 40_000)
})

describe('every way a listener ends unannounces', () => {
  it('SIGHUP (terminal closed) while serving: exits 0, and a connect then gets "peer not found"', async () => {
    const { proc, key } = await startListener(net.flag, [], tempHome().env)
    proc.kill('SIGHUP')
    expect(await proc.exit()).toEqual({ code: 0, signal: null })
    await assertUnannounced(key)
  })

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s while joining the DHT: exits 0 promptly, without a stack', async (sig) => {
    const port = silent.address().port
    const proc = p2pchat(['listen', '--json', '--bootstrap', `127.0.0.1:${port}`], tempHome().env)
    await proc.waitFor('"stage":"joining"', 'stdout')
    const sent = Date.now()
    proc.kill(sig)
    expect(await proc.exit()).toEqual({ code: 0, signal: null })
    expect(Date.now() - sent).toBeLessThan(3000)
    expect(proc.stdout).toContain('"type":"closed"')
    expect(proc.stdout).not.toContain('"type":"error"')
    expect(proc.stderr).not.toMatch(/^\s+at /m)
  })

  it('closing the terminal of an interactive listener unannounces its key', async () => {
    const pty = new PtyProc(['listen', '--bootstrap', net.flag], tempHome().env)
    const rows = await pty.waitForScreen(/listening on [0-9a-f]{64}/)
    const key = /listening on ([0-9a-f]{64})/.exec(rows.join('\n'))![1]!
    await pty.waitForScreen('type /help for commands')
    // Killing `script` closes the terminal: the listener gets SIGHUP and EIO.
    pty.kill('SIGKILL')
    await pty.exit()
    // We cannot wait for the listener itself (not our child): ask the DHT.
    // A key still announced by a dead listener answers exit 5 after 8 s.
    const deadline = Date.now() + 15_000
    let code: number | null = null
    while (code !== 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300))
      const late = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
      code = (await late.exit(20_000)).code
    }
    expect(code).toBe(4)
  }, 40_000)

  it('SIGHUP ends a connect cleanly: exit 0, and the listener sees the peer leave', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    client.kill('SIGHUP')
    expect(await client.exit()).toEqual({ code: 0, signal: null })
    await listener.waitFor(/[0-9a-f]{8} left/)
  })

  it('relay: SIGTERM while joining exits 0; SIGHUP while serving exits 0 and unannounces', async () => {
    const joining = p2pchat(['relay', '--bootstrap', `127.0.0.1:${silent.address().port}`], tempHome().env)
    // Printed just before joining, which through a silent bootstrap takes about 6 s.
    await joining.waitFor('created a relay identity')
    joining.kill('SIGTERM')
    expect(await joining.exit()).toEqual({ code: 0, signal: null })

    const relay = p2pchat(['relay', '--bootstrap', net.flag], tempHome().env)
    const key = (await relay.waitFor(/^([0-9a-f]{64})$/m, 'stdout'))[1]!
    relay.kill('SIGHUP')
    expect(await relay.exit()).toEqual({ code: 0, signal: null })
    await assertUnannounced(key)
  })

  it('stdout lost (`listen | head -1`): at its next write it unannounces and exits 0', async () => {
    const { proc, key } = await startListener(net.flag, [], tempHome().env)
    // The reader goes away; the next message the listener prints hits EPIPE.
    proc.child.stdout.destroy()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.write('nobody reads this\n')
    expect(await proc.exit()).toEqual({ code: 0, signal: null })
    expect((await client.exit()).code).toBe(0)
    await assertUnannounced(key)
  })
})
