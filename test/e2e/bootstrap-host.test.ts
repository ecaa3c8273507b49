// `p2pchat bootstrap --host IP` advertises IP to every peer: an address that is
// not this machine's is refused before any socket opens (issue 11, point 5b).
import os from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { killAll, p2pchat } from '../helpers/proc.js'

afterEach(killAll)

const own = Object.values(os.networkInterfaces())
  .flatMap((list) => list ?? [])
  .filter((a) => a.family === 'IPv4')
  .map((a) => a.address)

describe('bootstrap --host', () => {
  it('refuses an address that is not one of this machine\'s, with exit 2 and one line naming its addresses', async () => {
    // Documentation addresses (RFC 5737); the first that is not ours.
    const foreign = ['198.51.100.77', '203.0.113.77', '192.0.2.77'].find((a) => !own.includes(a))!
    const proc = p2pchat(['bootstrap', '--host', foreign, '--port', '0'], tempHome().env)
    const { code } = await proc.exit(15_000)
    expect(code, proc.stderr).toBe(2)
    expect(proc.stdout).toBe('') // nothing advertised
    const lines = proc.stderr.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^p2pchat: --host ${foreign.replace(/\./g, '\\.')} is not an address of this machine`))
    for (const a of own) expect(lines[0]).toContain(a)
  })

  it('still accepts 127.0.0.1 (and prints the --bootstrap value)', async () => {
    const proc = p2pchat(['bootstrap', '--host', '127.0.0.1', '--port', '0'], tempHome().env)
    await proc.waitFor(/^127\.0\.0\.1:\d+\n/, 'stdout', 20_000)
    proc.kill('SIGINT')
    expect((await proc.exit()).code).toBe(0)
  })
})
