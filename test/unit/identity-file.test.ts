import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import DHT from 'hyperdht'
import { afterAll, describe, expect, it } from 'vitest'
import { ChatError } from '../../src/core/errors.js'
import {
  defaultIdentityPath,
  generateIdentity,
  loadIdentity,
  loadOrCreateIdentity,
  serializeIdentity,
  writeIdentity
} from '../../src/core/identity.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pchat-id-'))
let n = 0
const fresh = () => path.join(root, `case-${n++}`, 'nested', 'identity.json')
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ChatError)
    expect((err as ChatError).exitCode).toBe(3)
    return (err as ChatError).code
  }
  throw new Error('expected an identity error')
}

describe('identity', () => {
  it('default path follows XDG_CONFIG_HOME, else ~/.config (a relative XDG value is ignored)', () => {
    expect(defaultIdentityPath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toBe('/x/cfg/p2pchat/identity.json')
    expect(defaultIdentityPath({}, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
    expect(defaultIdentityPath({ XDG_CONFIG_HOME: 'rel' }, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
  })

  it('generates the same key pair layout hyperdht derives from the seed', () => {
    const id = generateIdentity()
    expect(id.publicKey).toHaveLength(32)
    expect(id.secretKey).toHaveLength(64)
    const fromSeed = DHT.keyPair(id.secretKey.subarray(0, 32))
    expect(fromSeed.publicKey.equals(id.publicKey)).toBe(true)
    expect(fromSeed.secretKey.equals(id.secretKey)).toBe(true)
  })

  it('writes 0600 in a new 0700 directory, loads back, and leaves no temp file', async () => {
    const file = fresh()
    const id = generateIdentity()
    await writeIdentity(file, id)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).publicKey).toBe(id.publicKey.toString('hex'))
    const loaded = await loadIdentity(file)
    expect(loaded.secretKey.equals(id.secretKey)).toBe(true)
    expect(fs.readdirSync(path.dirname(file))).toEqual(['identity.json'])
  })

  it('never overwrites without force; force replaces', async () => {
    const file = fresh()
    await writeIdentity(file, generateIdentity())
    const before = fs.readFileSync(file)
    expect(await codeOf(writeIdentity(file, generateIdentity()))).toBe('IDENTITY_EXISTS')
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    const replacement = generateIdentity()
    await writeIdentity(file, replacement, { force: true })
    expect((await loadIdentity(file)).publicKey.equals(replacement.publicKey)).toBe(true)
    expect(fs.readdirSync(path.dirname(file))).toEqual(['identity.json'])
  })

  it('concurrent writers: exactly one wins and the file is whole', async () => {
    const file = fresh()
    const ids = Array.from({ length: 10 }, () => generateIdentity())
    const results = await Promise.allSettled(ids.map((id) => writeIdentity(file, id)))
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [ids[i]!] : []))
    expect(winners).toHaveLength(1)
    expect((await loadIdentity(file)).publicKey.equals(winners[0]!.publicKey)).toBe(true)
    expect(fs.readdirSync(path.dirname(file))).toEqual(['identity.json'])
  })

  it.each([0o644, 0o640, 0o604, 0o660])('refuses mode %s with a chmod 600 hint', async (mode) => {
    const file = fresh()
    await writeIdentity(file, generateIdentity())
    fs.chmodSync(file, mode)
    await expect(loadIdentity(file)).rejects.toThrow(`chmod 600 ${file}`)
    expect(await codeOf(loadIdentity(file))).toBe('IDENTITY_PERMISSIONS')
  })

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['missing secretKey', JSON.stringify({ publicKey: 'a'.repeat(64) })],
    ['short key', JSON.stringify({ publicKey: 'a'.repeat(62), secretKey: 'b'.repeat(128) })],
    ['mismatched pair', serializeIdentity({ ...generateIdentity(), publicKey: generateIdentity().publicKey }, new Date())]
  ])('refuses a corrupt file (%s)', async (_, content) => {
    const file = fresh()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content, { mode: 0o600 })
    expect(await codeOf(loadIdentity(file))).toBe('IDENTITY_CORRUPT')
  })

  it('reports a missing file and a directory clearly', async () => {
    expect(await codeOf(loadIdentity(fresh()))).toBe('IDENTITY_NOT_FOUND')
    const dir = fresh()
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    expect(await codeOf(loadIdentity(dir))).toBe('IDENTITY_UNREADABLE')
  })

  it('loadOrCreate creates once, then keeps the key', async () => {
    const file = fresh()
    const first = await loadOrCreateIdentity(file)
    const second = await loadOrCreateIdentity(file)
    expect(first.created).toBe(true)
    expect(second.created).toBe(false)
    expect(second.identity.publicKey.equals(first.identity.publicKey)).toBe(true)
  })
})
