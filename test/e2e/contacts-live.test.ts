import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener, type Proc } from '../helpers/proc.js'

const net = useTestNetwork()

/** A home with a permanent identity; returns its env and public key. */
async function homeWithKey(): Promise<{ env: NodeJS.ProcessEnv; key: string }> {
  const { env } = tempHome()
  const gen = p2pchat(['keygen'], env)
  expect((await gen.exit()).code).toBe(0)
  return { env, key: gen.stdout.trim() }
}

/** Sends numbered lines until the listener shows one under `name` (the reload is polled, so it takes a moment). */
async function sendUntilShownAs(client: Proc, listener: Proc, name: string): Promise<void> {
  let n = 0
  const timer = setInterval(() => client.write(`ping ${n++}\n`), 300)
  try {
    await listener.waitFor(new RegExp(`^\\[${name}\\] ping \\d+$`, 'm'), 'stdout', 10_000)
  } finally {
    clearInterval(timer)
  }
}

describe('a running listener follows the address book', () => {
  it('contacts add while a peer is connected: its next lines (and the room) show the new name', async () => {
    const listenerHome = tempHome().env
    const { proc: listener, key } = await startListener(net.flag, [], listenerHome)
    const alice = await homeWithKey()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], alice.env)
    await client.waitFor(`connected to ${key}`)
    const short = alice.key.slice(0, 8)
    await listener.waitFor(`${short} joined`)
    client.write('before\n')
    await listener.waitFor(`[${short}] before\n`, 'stdout')

    const add = p2pchat(['contacts', 'add', 'alice', alice.key], listenerHome)
    expect((await add.exit()).code).toBe(0)
    await sendUntilShownAs(client, listener, 'alice')

    // Removing the contact brings the short key back.
    const remove = p2pchat(['contacts', 'remove', 'alice'], listenerHome)
    expect((await remove.exit()).code).toBe(0)
    await sendUntilShownAs(client, listener, short)
  }, 40_000)

  it('a new join after contacts add is shown by name', async () => {
    const listenerHome = tempHome().env
    const { proc: listener, key } = await startListener(net.flag, [], listenerHome)
    const bob = await homeWithKey()
    const add = p2pchat(['contacts', 'add', 'bob', bob.key], listenerHome)
    expect((await add.exit()).code).toBe(0)
    await listener.waitFor('contacts reloaded: 1 name')
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], bob.env)
    await client.waitFor(`connected to ${key}`)
    await listener.waitFor(`bob joined (${bob.key})`)
  }, 30_000)

  it('a broken contacts file keeps the previous names and says so', async () => {
    const listenerHome = tempHome()
    const { proc: listener } = await startListener(net.flag, [], listenerHome.env)
    const file = path.join(listenerHome.dir, 'config', 'p2pchat', 'contacts.json')
    fs.writeFileSync(file, '{broken', { mode: 0o600 })
    await listener.waitFor(/contacts not reloaded, keeping the previous names: contacts file .* is not valid/)
  })

  it('an allow-file entry naming a contact added later admits that peer after the contacts change', async () => {
    const listenerHome = tempHome()
    const allow = path.join(listenerHome.dir, 'allow.txt')
    const carol = await homeWithKey()
    fs.writeFileSync(allow, '# nobody yet\n')
    const { proc: listener, key } = await startListener(net.flag, ['--allow-file', allow], listenerHome.env)
    const add = p2pchat(['contacts', 'add', 'carol', carol.key], listenerHome.env)
    expect((await add.exit()).code).toBe(0)
    fs.writeFileSync(allow, 'carol\n')
    await listener.waitFor('allow file reloaded: 1 key')
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], carol.env)
    await client.waitFor(`connected to ${key}`)
    await listener.waitFor(`carol joined (${carol.key})`)
  }, 30_000)
})

describe('connect without an identity', () => {
  it('says it uses a throwaway key, and how to get a permanent one', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.end('hi\n')
    expect((await client.exit()).code).toBe(0)
    expect(client.stderr).toContain(
      "* no identity: using a throwaway key for this session; the listener's --allow and contact names cannot recognise it; run 'p2pchat keygen' to get a permanent one"
    )
    await listener.waitFor('] hi\n', 'stdout')

    // With a permanent identity it says nothing of the kind.
    const me = await homeWithKey()
    const known = p2pchat(['connect', key, '--bootstrap', net.flag], me.env)
    known.end('hi again\n')
    expect((await known.exit()).code).toBe(0)
    expect(known.stderr).not.toContain('throwaway')
    await listener.waitFor(`[${me.key.slice(0, 8)}] hi again\n`, 'stdout')
  })
})
