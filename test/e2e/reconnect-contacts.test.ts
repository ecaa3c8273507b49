import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener } from '../helpers/proc.js'

const net = useTestNetwork()

describe('connect --reconnect', () => {
  it('survives a listener restart on the same identity; lines typed while away are delivered after', async () => {
    const home = tempHome().env
    const first = p2pchat(['listen', '--bootstrap', net.flag], home)
    const key = (await first.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const client = p2pchat(['connect', key, '--bootstrap', net.flag, '--reconnect'], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    client.write('before the restart\n')
    await first.waitFor('] before the restart\n', 'stdout')

    first.kill('SIGKILL') // not a polite goodbye: the client must notice on its own
    await first.exit()
    await client.waitFor(/connection lost.*; reconnecting/, 'stderr', 20_000)
    client.write('typed while away\n')

    const second = p2pchat(['listen', '--bootstrap', net.flag], home)
    await second.waitFor(`listening on ${key}`)
    await client.waitFor('reconnected to', 'stderr', 40_000)
    await second.waitFor('] typed while away\n', 'stdout')
    client.write('after the restart\n')
    await second.waitFor('] after the restart\n', 'stdout')
    second.write('welcome back\n')
    await client.waitFor('welcome back\n', 'stdout')

    client.kill('SIGINT')
    expect((await client.exit()).code).toBe(0)
  }, 90_000)

  it('shows each failed attempt with a growing delay, and Ctrl+C stops it', async () => {
    const client = p2pchat(['connect', 'c'.repeat(64), '--bootstrap', net.flag, '--reconnect'], tempHome().env)
    const delays: number[] = []
    for (let attempt = 1; attempt <= 3; attempt++) {
      const m = await client.waitFor(new RegExp(`could not connect \\(peer not found.*\\); retrying in ([\\d.]+) s \\(attempt ${attempt}\\)`), 'stderr', 20_000)
      delays.push(Number(m[1]))
    }
    // base 0.5 s doubling, jitter ×[0.5, 1.5)
    expect(delays[0]).toBeGreaterThanOrEqual(0.25)
    expect(delays[0]).toBeLessThan(0.75)
    expect(delays[2]).toBeGreaterThanOrEqual(1)
    client.kill('SIGINT')
    expect((await client.exit()).code).toBe(0)
  }, 30_000)

  it('without --reconnect, a vanished listener ends the session with exit 8', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor('connected to')
    listener.kill('SIGKILL')
    const { code } = await client.exit(30_000)
    expect(code).toBe(8)
    expect(client.stderr).toMatch(/p2pchat: (no data from the peer|connection)/)
  }, 40_000)
})

describe('contacts and whoami', () => {
  it('add, list, connect by name, remove; the file is 0600', async () => {
    const { env, dir } = tempHome()
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!

    const add = p2pchat(['contacts', 'add', 'bob', key], env)
    expect((await add.exit()).code).toBe(0)
    const file = path.join(dir, 'config', 'p2pchat', 'contacts.json')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    const list = p2pchat(['contacts', 'list'], env)
    await list.exit()
    expect(list.stdout).toBe(`bob\t${key}\n`)

    const client = p2pchat(['connect', 'bob', '--bootstrap', net.flag], env)
    client.end('hi bob\n')
    expect((await client.exit()).code).toBe(0)
    // Named as the contact, the key beside it (issue 19 point 15).
    expect(client.stderr).toContain(`* connected to bob (${key}, direct, 127.0.0.1:`)
    await listener.waitFor('] hi bob\n', 'stdout')

    const clash = p2pchat(['contacts', 'add', 'bob', 'd'.repeat(64)], env)
    expect((await clash.exit()).code).toBe(2)
    expect(clash.stderr).toContain('--force')

    const remove = p2pchat(['contacts', 'remove', 'bob'], env)
    expect((await remove.exit()).code).toBe(0)
    const gone = p2pchat(['connect', 'bob', '--bootstrap', net.flag], env)
    expect((await gone.exit()).code).toBe(2)
    expect(gone.stderr).toMatch(/invalid key "bob": no contact has that name/)
  })

  it('a corrupt contacts file stops only what needs a name: a key connects, with one warning (issue 19 point 15)', async () => {
    const { env, dir } = tempHome()
    const { key } = await startListener(net.flag, [], tempHome().env)
    const file = path.join(dir, 'config', 'p2pchat', 'contacts.json')
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, '{"contacts": {oops', { mode: 0o600 })
    const problem = `contacts file ${file} is not valid: it is not JSON (fix it, or move it away to start an empty address book)`

    const byKey = p2pchat(['connect', key, '--bootstrap', net.flag], env)
    byKey.end('by key\n')
    expect((await byKey.exit()).code, byKey.stderr).toBe(0)
    expect(byKey.stderr.split('\n').filter((l) => l.includes('contacts file'))).toEqual([`* warning: contact names are unavailable (keys still work): ${problem}`])
    expect(byKey.stderr).toContain(`connected to ${key} (direct`)

    // A name needs the file: the error is the file's, not "no contact named".
    for (const [args, from] of [[['connect', 'alice'], ''], [['connect', key, '--relay-through', 'relayname'], '--relay-through: '], [['listen', '--allow', 'alice'], ''], [['listen', '--allow-contacts'], ''], [['listen', '--invite'], '']] as const) {
      const named = p2pchat([...args, '--bootstrap', '127.0.0.1:1'], env)
      expect((await named.exit()).code, args.join(' ')).toBe(3)
      expect(named.stderr, args.join(' ')).toBe(`p2pchat: ${from}${problem}\n`)
    }
    // A plain listener needs no name either.
    const plain = await startListener(net.flag, [], env)
    expect(plain.proc.stderr).toContain(`* warning: contact names are unavailable (keys still work): ${problem}\n`)
    expect(fs.readFileSync(file, 'utf8')).toBe('{"contacts": {oops') // never touched
  })

  it('refuses bad names and bad keys', async () => {
    const { env } = tempHome()
    for (const args of [['add', 'has space', 'a'.repeat(64)], ['add', 'ok', 'nope'], ['add', 'e'.repeat(64), 'a'.repeat(64)], ['remove', 'nobody']]) {
      const p = p2pchat(['contacts', ...args], env)
      expect((await p.exit()).code).toBe(2)
      expect(p.stderr.split('\n').filter((l) => l.startsWith('p2pchat: '))).toHaveLength(1)
    }
  })

  it('whoami prints hex and z32 of an identity', async () => {
    const { env, dir } = tempHome()
    const file = path.join(dir, 'me.json')
    const gen = p2pchat(['keygen', '--out', file], env)
    await gen.exit()
    const who = p2pchat(['whoami', '--identity', file], env)
    expect((await who.exit()).code).toBe(0)
    const [hex, z32] = who.stdout.trim().split('\n')
    expect(hex).toBe(gen.stdout.trim())
    expect(z32).toMatch(/^[a-z0-9]{52}$/)
    const none = p2pchat(['whoami', '--identity', path.join(dir, 'missing.json')], env)
    expect((await none.exit()).code).toBe(3)
  })
})
