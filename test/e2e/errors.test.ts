import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener } from '../helpers/proc.js'

const net = useTestNetwork()

const HEX = 'a'.repeat(64)

/** Runs a command to completion; asserts a single-line error and no stack trace. */
async function run(args: string[], env = tempHome().env, timeoutMs = 20_000) {
  const proc = p2pchat(args, env)
  proc.end()
  const { code } = await proc.exit(timeoutMs)
  expect(proc.stderr).not.toMatch(/\n\s+at /) // no stack trace
  return { code, stdout: proc.stdout, stderr: proc.stderr }
}

function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('p2pchat: '))
  expect(lines).toHaveLength(1)
  return lines[0]!
}

describe('usage errors exit 2 before touching the network', () => {
  it.each([
    ['too short', 'abc'],
    ['65 hex characters', 'a'.repeat(65)],
    ['not hex', 'g'.repeat(64)],
    ['z32 with a letter outside the alphabet', 'l'.repeat(52)]
  ])('connect refuses a key that is %s', async (_, key) => {
    const { code, stderr } = await run(['connect', key, '--bootstrap', net.flag])
    expect(code).toBe(2)
    expect(errorLine(stderr)).toMatch(/invalid key .*64 hex characters or 52 z-base-32 characters/)
    expect(stderr).not.toContain('connecting')
  })

  it.each([
    ['no port', '127.0.0.1'],
    ['bad port', '127.0.0.1:99999'],
    ['junk', 'not a host:1'],
    ['empty entry', '127.0.0.1:5,']
  ])('--bootstrap with %s is refused', async (_, value) => {
    for (const cmd of [['listen'], ['connect', HEX]]) {
      const { code, stderr } = await run([...cmd, '--bootstrap', value])
      expect(code).toBe(2)
      expect(errorLine(stderr)).toMatch(/--bootstrap: invalid entry|--bootstrap is empty/)
    }
  })

  it('a malformed P2PCHAT_BOOTSTRAP is refused and named', async () => {
    const { env } = tempHome()
    const { code, stderr } = await run(['connect', HEX], { ...env, P2PCHAT_BOOTSTRAP: 'nope' })
    expect(code).toBe(2)
    expect(errorLine(stderr)).toContain('P2PCHAT_BOOTSTRAP')
  })

  it('--timeout must be a positive number', async () => {
    const { code, stderr } = await run(['connect', HEX, '--timeout', 'soon'])
    expect(code).toBe(2)
    expect(stderr).toContain('positive number')
  })

  it('an unknown command exits 2; --help and --version exit 0', async () => {
    expect((await run(['frobnicate'])).code).toBe(2)
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/keygen[^]*listen[^]*connect[^]*bootstrap/)
    for (const cmd of ['keygen', 'listen', 'connect', 'bootstrap']) {
      const sub = await run([cmd, '--help'])
      expect(sub.code).toBe(0)
      expect(sub.stdout).toContain(`Usage: p2pchat ${cmd}`)
    }
    const version = await run(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })
})

describe('identity files', () => {
  it('keygen writes a 0600 file in a 0700 directory, prints only the public key, and never overwrites without --force', async () => {
    const { env, dir } = tempHome()
    const first = await run(['keygen'], env)
    expect(first.code).toBe(0)
    const file = path.join(dir, 'config', 'p2pchat', 'identity.json')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'))
    expect(first.stdout).toBe(saved.publicKey + '\n')
    expect(first.stdout + first.stderr).not.toContain(saved.secretKey)
    expect(first.stderr).toMatch(/z-base-32: [a-z0-9]{52}/)

    const again = await run(['keygen'], env)
    expect(again.code).toBe(3)
    expect(errorLine(again.stderr)).toMatch(/already exists.*--force/)
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(saved)

    const forced = await run(['keygen', '--force'], env)
    expect(forced.code).toBe(0)
    expect(forced.stdout.trim()).not.toBe(saved.publicKey)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).publicKey).toBe(forced.stdout.trim())
    expect(fs.readdirSync(path.dirname(file))).toEqual(['identity.json'])
  })

  it('keygen --out writes where asked, and listen then uses that key', async () => {
    const { env, dir } = tempHome()
    const file = path.join(dir, 'custom', 'me.json')
    const { code, stdout } = await run(['keygen', '--out', file], env)
    expect(code).toBe(0)
    const listener = p2pchat(['listen', '--identity', file, '--bootstrap', net.flag], env)
    await listener.waitFor(`listening on ${stdout.trim()}`)
  })

  it('refuses an identity others can read, saying how to fix it (listen and connect)', async () => {
    const { env, dir } = tempHome()
    const file = path.join(dir, 'id.json')
    expect((await run(['keygen', '--out', file], env)).code).toBe(0)
    fs.chmodSync(file, 0o644)
    for (const args of [['listen', '--identity', file], ['connect', HEX, '--identity', file]]) {
      const { code, stderr } = await run([...args, '--bootstrap', net.flag], env)
      expect(code).toBe(3)
      expect(errorLine(stderr)).toContain(`chmod 600 ${file}`)
    }
  })

  it.each([
    ['not JSON', '{oops'],
    ['wrong shape', '{"publicKey": 5}'],
    ['mismatched keys', JSON.stringify({ publicKey: 'b'.repeat(64), secretKey: 'c'.repeat(128) })]
  ])('refuses a corrupt identity (%s)', async (_, content) => {
    const { env, dir } = tempHome()
    const file = path.join(dir, 'id.json')
    fs.writeFileSync(file, content, { mode: 0o600 })
    const { code, stderr } = await run(['listen', '--identity', file, '--bootstrap', net.flag], env)
    expect(code).toBe(3)
    expect(errorLine(stderr)).toMatch(/is not valid/)
    expect(fs.readFileSync(file, 'utf8')).toBe(content) // never touched
  })

  it('connect --identity with a missing file is an error, not a silent new key', async () => {
    const { env, dir } = tempHome()
    const { code, stderr } = await run(['connect', HEX, '--identity', path.join(dir, 'nope.json'), '--bootstrap', net.flag], env)
    expect(code).toBe(3)
    expect(errorLine(stderr)).toMatch(/does not exist.*p2pchat keygen/)
  })
})

describe('network failures', () => {
  it('an unknown key: "peer not found", exit 4', async () => {
    const { code, stderr } = await run(['connect', HEX, '--bootstrap', net.flag])
    expect(code).toBe(4)
    expect(errorLine(stderr)).toMatch(/^p2pchat: peer not found/)
  })

  it('a listener that stopped responding: "timed out", exit 7, after --timeout', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    listener.kill('SIGSTOP')
    try {
      const started = Date.now()
      const { code, stderr } = await run(['connect', key, '--bootstrap', net.flag, '--timeout', '2'])
      const elapsed = Date.now() - started
      expect(errorLine(stderr)).toMatch(/timed out after 2 s/)
      expect(code).toBe(7)
      expect(elapsed).toBeLessThan(10_000)
    } finally {
      listener.kill('SIGCONT')
    }
  })

  it('no reachable bootstrap node: exit 9 with the likely cause and what to do (issue 19 point 12)', async () => {
    const { code, stderr } = await run(['connect', HEX, '--bootstrap', '127.0.0.1:9'])
    expect(code).toBe(9)
    expect(errorLine(stderr)).toBe(
      "p2pchat: could not reach any DHT node (tried 127.0.0.1:9): check that 'p2pchat bootstrap' runs at that address and that UDP to it is not blocked"
    )
  })

  it('--timeout shorter than a second is said as given, not as 0 s (issue 19 point 15)', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    listener.kill('SIGSTOP')
    try {
      const { code, stderr } = await run(['connect', key, '--bootstrap', net.flag, '--timeout', '0.001'])
      expect(code).toBe(7)
      expect(errorLine(stderr)).toMatch(/^p2pchat: timed out after 0\.001 s without reaching the peer/)
    } finally {
      listener.kill('SIGCONT')
    }
  })

  it('connecting to your own key is a usage error, found before dialing (issue 19 point 15)', async () => {
    const home = tempHome()
    const { proc: listener, key } = await startListener(net.flag, ['--allow', HEX], home.env)
    const z32 = (await listener.waitFor(/z-base-32: ([a-z0-9]{52})/))[1]!
    for (const target of [key, z32.toUpperCase()]) {
      const { code, stdout, stderr } = await run(['connect', target, '--bootstrap', net.flag], home.env)
      expect(code).toBe(2)
      expect(stdout).toBe('')
      expect(stderr).toBe(
        `p2pchat: ${key.slice(0, 8)}… is your own key (the identity this connect runs as), not a peer's: connect to the other side's key; to try p2pchat on one machine, run the second side with a config directory of its own (XDG_CONFIG_HOME=DIR p2pchat connect …: its own identity and contacts)\n`
      )
    }
    // Never dialed: the listener saw nobody, refused nobody.
    await new Promise((r) => setTimeout(r, 300))
    expect(listener.stderr).not.toMatch(/\* refused [0-9a-f]{8} |joined \(/)
  })

  it('connects by z-base-32 key as well as hex', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const hex = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const z32 = (await listener.waitFor(/z-base-32: ([a-z0-9]{52})/))[1]!
    const client = p2pchat(['connect', z32, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${hex}`)
    client.end('via z32\n')
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor(/\] via z32\n/, 'stdout')
    // In capitals too, as hex is (issue 19 point 15).
    const upper = p2pchat(['connect', z32.toUpperCase(), '--bootstrap', net.flag], tempHome().env)
    upper.end('via Z32\n')
    expect((await upper.exit()).code, upper.stderr).toBe(0)
    await listener.waitFor(/\] via Z32\n/, 'stdout')
  })
})

describe('p2pchat bootstrap', () => {
  it('runs a private DHT that listen and connect can use, and stops on SIGINT', async () => {
    const boot = p2pchat(['bootstrap', '--port', '0'], tempHome().env)
    const value = (await boot.waitFor(/^(127\.0\.0\.1:\d+)\n/m, 'stdout'))[1]!
    const listener = p2pchat(['listen'], { ...tempHome().env, P2PCHAT_BOOTSTRAP: value })
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const client = p2pchat(['connect', key, '--bootstrap', value], tempHome().env)
    client.end('through our own DHT\n')
    expect((await client.exit()).code).toBe(0)
    await listener.waitFor(/\] through our own DHT\n/, 'stdout')
    listener.kill('SIGINT')
    expect((await listener.exit()).code).toBe(0)
    boot.kill('SIGINT')
    expect((await boot.exit()).code).toBe(0)
    // It says it stopped, as a listener does (issue 19 point 15).
    expect(boot.stderr.trimEnd().split('\n').at(-1)).toBe('* private DHT stopped')
  })

  it('refuses 0.0.0.0 and a port in use', async () => {
    const bad = await run(['bootstrap', '--host', '0.0.0.0'])
    expect(bad.code).toBe(2)
    const port = net.bootstrap[0]!.port
    const busy = await run(['bootstrap', '--port', String(port)])
    expect(busy.code).toBe(9)
    expect(errorLine(busy.stderr)).toContain('already in use')
  })
})
