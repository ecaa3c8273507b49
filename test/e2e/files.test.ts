import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat } from '../helpers/proc.js'

// Files p2pchat reads and writes: concurrent writers, special files, errors
// that name the real problem, explicit identities that must exist.

const testNet = useTestNetwork()
const HEX = 'a'.repeat(64)
/** Where nothing answers: a command that got past its file checks would fail with exit 9 instead. */
const NOWHERE = '127.0.0.1:9'

async function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000) {
  const proc = p2pchat(args, env)
  proc.end()
  const started = Date.now()
  const { code } = await proc.exit(timeoutMs)
  return { code, stdout: proc.stdout, stderr: proc.stderr, ms: Date.now() - started }
}

/** stderr is exactly one `p2pchat:` line. */
function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^p2pchat: /)
  return lines[0]!
}

function mkfifo(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  expect(spawnSync('mkfifo', [file]).status).toBe(0)
  return file
}

function configDir(home: { dir: string }): string {
  return path.join(home.dir, 'config', 'p2pchat')
}

describe('concurrent writers lose nothing', () => {
  it('20 concurrent `contacts add` all exit 0 and all 20 entries survive', async () => {
    const home = tempHome()
    const keys = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32))
    const procs = keys.map((key, i) => p2pchat(['contacts', 'add', `peer${i}`, key], home.env))
    const results = await Promise.all(procs.map((p) => p.exit(30_000)))
    expect(results.map((r) => r.code)).toEqual(keys.map(() => 0))
    const list = await run(['contacts', 'list'], home.env)
    expect(list.stdout.trim().split('\n').sort()).toEqual(keys.map((key, i) => `peer${i}\t${key}`).sort())
    // No lock or temp file left behind.
    expect(fs.readdirSync(configDir(home))).toEqual(['contacts.json'])

    // A lock left by a process that died does not block the next writer.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    fs.writeFileSync(path.join(configDir(home), 'contacts.json.lock'), JSON.stringify({ pid: dead, host: os.hostname(), time: Date.now(), nonce: 'n' }))
    const add = await run(['contacts', 'add', 'late', HEX], home.env)
    expect(add.code).toBe(0)
    expect(add.ms).toBeLessThan(5000)
    expect((await run(['contacts', 'list'], home.env)).stdout).toContain(`late\t${HEX}\n`)
    expect(fs.readdirSync(configDir(home))).toEqual(['contacts.json'])
  }, 60_000)
})

describe('nothing blocks on a special file', () => {
  // Each must end promptly by itself (no Ctrl+C) with one clear line.
  it.each([
    ['listen --identity FIFO', (d: string) => ['listen', '--identity', mkfifo(path.join(d, 'id.fifo')), '--bootstrap', NOWHERE], 3],
    ['connect --identity FIFO', (d: string) => ['connect', HEX, '--identity', mkfifo(path.join(d, 'id.fifo')), '--bootstrap', NOWHERE], 3],
    ['whoami --identity FIFO', (d: string) => ['whoami', '--identity', mkfifo(path.join(d, 'id.fifo'))], 3],
    ['relay --identity FIFO', (d: string) => ['relay', '--identity', mkfifo(path.join(d, 'id.fifo')), '--bootstrap', NOWHERE], 3],
    ['listen --allow-file FIFO', (d: string) => ['listen', '--allow-file', mkfifo(path.join(d, 'allow.fifo')), '--bootstrap', NOWHERE], 2]
  ])('%s', async (_, args, exitCode) => {
    const home = tempHome()
    const { code, stderr, ms } = await run(args(home.dir), home.env)
    expect(code).toBe(exitCode)
    expect(oneErrorLine(stderr)).toMatch(/\.fifo: it is a FIFO \(named pipe\), not a regular file$/)
    expect(ms).toBeLessThan(5000)
  })

  it('the default identity and the contacts file as FIFOs', async () => {
    const home = tempHome()
    mkfifo(path.join(configDir(home), 'identity.json'))
    const listen = await run(['listen', '--bootstrap', NOWHERE], home.env)
    expect(listen.code).toBe(3)
    expect(oneErrorLine(listen.stderr)).toContain('identity.json: it is a FIFO')

    const other = tempHome()
    mkfifo(path.join(configDir(other), 'contacts.json'))
    // What needs names fails at once; a plain listener needs none (issue 19 point 15): it warns and goes on.
    for (const args of [['contacts', 'list'], ['contacts', 'add', 'bob', HEX], ['connect', 'bob', '--bootstrap', NOWHERE], ['listen', '--allow-contacts', '--bootstrap', NOWHERE]]) {
      const r = await run(args, other.env)
      expect(r.code).toBe(3)
      expect(oneErrorLine(r.stderr)).toMatch(/^p2pchat: cannot read contacts .*contacts\.json: it is a FIFO \(named pipe\), not a regular file$/)
      expect(r.ms).toBeLessThan(5000)
    }
    const plain = await run(['listen', '--bootstrap', NOWHERE], other.env)
    expect(plain.stderr).toMatch(/^\* warning: contact names are unavailable \(keys still work\): cannot read contacts .*contacts\.json: it is a FIFO/m)
    expect(plain.code).toBe(9) // nobody at NOWHERE: it went on to join the DHT
  })

  it('a device or a socket is refused the same way', async () => {
    const home = tempHome()
    const devnull = await run(['whoami', '--identity', '/dev/null'], home.env)
    expect(devnull.code).toBe(3)
    expect(oneErrorLine(devnull.stderr)).toContain('/dev/null: it is a character device, not a regular file')

    const sock = path.join(home.dir, 'allow.sock')
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(sock, resolve))
    try {
      const r = await run(['listen', '--allow-file', sock, '--bootstrap', NOWHERE], home.env)
      expect(r.code).toBe(2)
      expect(oneErrorLine(r.stderr)).toContain('allow.sock: it is a socket, not a regular file')
    } finally {
      server.close()
    }
  })
})

describe('errors say what is true', () => {
  it('keygen --out under a path that is a file names that file, with or without --force', async () => {
    const home = tempHome()
    const plain = path.join(home.dir, 'plain')
    fs.writeFileSync(plain, 'x')
    for (const extra of [[], ['--force']]) {
      const { code, stderr } = await run(['keygen', '--out', path.join(plain, 'id.json'), ...extra], home.env)
      expect(code).toBe(3)
      expect(oneErrorLine(stderr)).toBe(`p2pchat: cannot write identity ${plain}/id.json: ${plain} is not a directory`)
    }
    expect(fs.readFileSync(plain, 'utf8')).toBe('x')
  })

  it('keygen --out DIR says it is a directory (and never suggests --force)', async () => {
    const home = tempHome()
    const dir = path.join(home.dir, 'keys')
    fs.mkdirSync(dir)
    for (const extra of [[], ['--force']]) {
      const { code, stderr } = await run(['keygen', '--out', dir, ...extra], home.env)
      expect(code).toBe(3)
      const line = oneErrorLine(stderr)
      expect(line).toContain(`${dir}: it is a directory; give the path of a file (e.g. ${dir}/identity.json)`)
      expect(line).not.toContain('--force')
    }
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("keygen --out '' is a usage error, not a temp-file ENOENT", async () => {
    const { code, stderr } = await run(['keygen', '--out', ''], tempHome().env)
    expect(code).toBe(2)
    const line = oneErrorLine(stderr)
    expect(line).toContain('empty')
    expect(line).not.toMatch(/ENOENT|\.tmp/)
  })

  it("a corrupt relay.json says to move it away and rerun 'p2pchat relay', not keygen", async () => {
    const home = tempHome()
    const file = path.join(configDir(home), 'relay.json')
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, '{oops', { mode: 0o600 })
    const { code, stderr } = await run(['relay', '--bootstrap', NOWHERE], home.env)
    expect(code).toBe(3)
    const line = oneErrorLine(stderr)
    expect(line).toContain(`${file} is not valid`)
    expect(line).toContain("rerun 'p2pchat relay'")
    expect(line).not.toContain('keygen')
    expect(fs.readFileSync(file, 'utf8')).toBe('{oops')
  })

  it('a bad key in P2PCHAT_RELAY names the variable (connect and listen)', async () => {
    const home = tempHome()
    for (const args of [['connect', HEX, '--bootstrap', NOWHERE], ['listen', '--bootstrap', NOWHERE]]) {
      const { code, stderr } = await run(args, { ...home.env, P2PCHAT_RELAY: 'notakey' })
      expect(code).toBe(2)
      expect(oneErrorLine(stderr)).toMatch(/^p2pchat: P2PCHAT_RELAY: invalid key "notakey"/)
    }
    const flag = await run(['connect', HEX, '--relay-through', 'nope', '--bootstrap', NOWHERE], home.env)
    expect(oneErrorLine(flag.stderr)).toMatch(/^p2pchat: --relay-through: invalid key "nope"/)
  })

  it('system errors are said in words: no errno names, no temp paths', async () => {
    const home = tempHome()
    // The config "directory" is a file: contacts add cannot create its lock or file there.
    const blocker = path.join(home.dir, 'cfgfile')
    fs.writeFileSync(blocker, '')
    const add = await run(['contacts', 'add', 'bob', HEX], { ...home.env, XDG_CONFIG_HOME: blocker })
    expect(add.code).toBe(3)
    expect(oneErrorLine(add.stderr)).toMatch(new RegExp(`cannot .* contacts .*: ${blocker} is not a directory$`))
    // A symlink loop as identity.
    const loop = path.join(home.dir, 'loop.json')
    fs.symlinkSync(loop, loop)
    const who = await run(['whoami', '--identity', loop], home.env)
    expect(who.code).toBe(3)
    expect(oneErrorLine(who.stderr)).toContain('too many levels of symbolic links')
    for (const r of [add, who]) expect(r.stderr).not.toMatch(/\bE[A-Z]{3,}\b|\.tmp/)
  })
})

describe('an explicit --identity must exist', () => {
  it('listen --identity with a missing file: exit 3 with the keygen hint, and nothing is created', async () => {
    const home = tempHome()
    const file = path.join(home.dir, 'typo', 'id.json')
    const { code, stderr } = await run(['listen', '--identity', file, '--bootstrap', testNet.flag], home.env)
    expect(code).toBe(3)
    expect(oneErrorLine(stderr)).toBe(`p2pchat: identity file ${file} does not exist (create one with 'p2pchat keygen --out ${file}')`)
    expect(fs.existsSync(path.join(home.dir, 'typo'))).toBe(false)

    // The default identity is still created on first use, and says so.
    const listener = p2pchat(['listen', '--bootstrap', testNet.flag], home.env)
    await listener.waitFor('listening on')
    expect(listener.stderr).toContain(`created a new identity in ${path.join(configDir(home), 'identity.json')}`)
  })

  it('relay --identity with a missing file: exit 3 as well', async () => {
    const home = tempHome()
    const file = path.join(home.dir, 'relay-typo.json')
    const { code, stderr } = await run(['relay', '--identity', file, '--bootstrap', testNet.flag], home.env)
    expect(code).toBe(3)
    expect(oneErrorLine(stderr)).toContain(`identity file ${file} does not exist`)
    expect(fs.existsSync(file)).toBe(false)

    // The default relay identity is still created on first use, and says so.
    const relay = p2pchat(['relay', '--bootstrap', testNet.flag], home.env)
    await relay.waitFor('relay running on')
    expect(relay.stderr).toContain(`created a relay identity in ${path.join(configDir(home), 'relay.json')}`)
  })
})
