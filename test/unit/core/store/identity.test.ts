import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import DHT from 'hyperdht'
import { afterEach, beforeEach, describe, it, expect } from 'vitest'
import { ChatError } from '../../../../src/core/errors.js'
import {
  defaultIdentityPath,
  generateIdentity,
  loadIdentity,
  loadOrCreateIdentity,
  parseIdentity,
  serializeIdentity,
  writeIdentity,
  type Identity
} from '../../../../src/core/store/identity.js'

let dir: string

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pchat-identity-test-'))
})

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

async function rejection(p: Promise<unknown>): Promise<ChatError> {
  const err = await p.then(
    () => {
      throw new Error('expected the promise to reject')
    },
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ChatError)
  return err as ChatError
}

async function modeOf(p: string): Promise<number> {
  return (await fs.stat(p)).mode & 0o777
}

/** Writes raw text as an identity file with safe permissions. */
async function writeRaw(file: string, text: string, mode = 0o600): Promise<void> {
  await fs.writeFile(file, text)
  await fs.chmod(file, mode)
}

function fileJson(identity: Identity, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    publicKey: identity.publicKey.toString('hex'),
    secretKey: identity.secretKey.toString('hex'),
    created: '2024-01-01T00:00:00.000Z',
    ...extra
  })
}

describe('defaultIdentityPath', () => {
  it('uses an absolute XDG_CONFIG_HOME', () => {
    expect(defaultIdentityPath({ XDG_CONFIG_HOME: '/xdg/cfg' }, '/home/u')).toBe('/xdg/cfg/p2pchat/identity.json')
  })

  it('falls back to ~/.config when XDG_CONFIG_HOME is unset', () => {
    expect(defaultIdentityPath({}, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
  })

  it('ignores an empty XDG_CONFIG_HOME', () => {
    expect(defaultIdentityPath({ XDG_CONFIG_HOME: '' }, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
  })

  it('ignores a relative XDG_CONFIG_HOME (per the XDG spec)', () => {
    expect(defaultIdentityPath({ XDG_CONFIG_HOME: 'relative/cfg' }, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
    expect(defaultIdentityPath({ XDG_CONFIG_HOME: './cfg' }, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
  })

  it('reads only the env it is given, not process.env', () => {
    const saved = process.env.XDG_CONFIG_HOME
    process.env.XDG_CONFIG_HOME = '/from/process/env'
    try {
      expect(defaultIdentityPath({}, '/home/u')).toBe('/home/u/.config/p2pchat/identity.json')
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME
      else process.env.XDG_CONFIG_HOME = saved
    }
  })
})

describe('generateIdentity', () => {
  it('gives a 32-byte public key and a 64-byte secret key ending in the public key', () => {
    const id = generateIdentity()
    expect(Buffer.isBuffer(id.publicKey)).toBe(true)
    expect(Buffer.isBuffer(id.secretKey)).toBe(true)
    expect(id.publicKey).toHaveLength(32)
    expect(id.secretKey).toHaveLength(64)
    expect(id.secretKey.subarray(32).equals(id.publicKey)).toBe(true)
  })

  it('matches hyperdht key derivation from the seed', () => {
    for (let i = 0; i < 5; i++) {
      const id = generateIdentity()
      const seed = Buffer.from(id.secretKey.subarray(0, 32))
      const kp = DHT.keyPair(seed)
      expect(kp.publicKey.equals(id.publicKey)).toBe(true)
      expect(kp.secretKey.equals(id.secretKey)).toBe(true)
    }
  })

  it('gives a different key every time', () => {
    const keys = new Set(Array.from({ length: 20 }, () => generateIdentity().publicKey.toString('hex')))
    expect(keys.size).toBe(20)
  })

  it('produces identities that parseIdentity accepts', () => {
    const id = generateIdentity()
    const back = parseIdentity(serializeIdentity(id, new Date()), 'x')
    expect(back.publicKey.equals(id.publicKey)).toBe(true)
    expect(back.secretKey.equals(id.secretKey)).toBe(true)
  })
})

describe('writeIdentity', () => {
  it('writes a 0600 file with the keys as hex JSON', async () => {
    const file = path.join(dir, 'identity.json')
    const id = generateIdentity()
    const now = new Date('2025-02-03T04:05:06.789Z')
    await writeIdentity(file, id, { now })
    expect(await modeOf(file)).toBe(0o600)
    const data = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
    expect(data).toEqual({
      version: 1,
      publicKey: id.publicKey.toString('hex'),
      secretKey: id.secretKey.toString('hex'),
      created: '2025-02-03T04:05:06.789Z'
    })
    expect(data.publicKey).toMatch(/^[0-9a-f]{64}$/)
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
  })

  it('creates missing nested parent directories with mode 0700', async () => {
    const file = path.join(dir, 'a', 'b', 'c', 'identity.json')
    await writeIdentity(file, generateIdentity())
    expect(await modeOf(path.join(dir, 'a'))).toBe(0o700)
    expect(await modeOf(path.join(dir, 'a', 'b'))).toBe(0o700)
    expect(await modeOf(path.join(dir, 'a', 'b', 'c'))).toBe(0o700)
    expect(await modeOf(file)).toBe(0o600)
    expect(await fs.readdir(path.join(dir, 'a', 'b', 'c'))).toEqual(['identity.json'])
  })

  it('does not change the mode of an existing parent directory', async () => {
    const parent = path.join(dir, 'existing')
    await fs.mkdir(parent)
    await fs.chmod(parent, 0o755)
    await writeIdentity(path.join(parent, 'identity.json'), generateIdentity())
    expect(await modeOf(parent)).toBe(0o755)
  })

  it('refuses to overwrite an existing identity without force, leaving it byte-identical', async () => {
    const file = path.join(dir, 'identity.json')
    const first = generateIdentity()
    await writeIdentity(file, first)
    const before = await fs.readFile(file)
    const statBefore = await fs.stat(file)

    const e = await rejection(writeIdentity(file, generateIdentity()))
    expect(e.code).toBe('IDENTITY_EXISTS')
    expect(e.exitCode).toBe(3)
    expect(e.message).toContain(file)

    expect((await fs.readFile(file)).equals(before)).toBe(true)
    expect((await fs.stat(file)).ino).toBe(statBefore.ino)
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
    expect((await loadIdentity(file)).publicKey.equals(first.publicKey)).toBe(true)
  })

  it('refuses to overwrite any existing file (even one that is not an identity)', async () => {
    const file = path.join(dir, 'identity.json')
    await fs.writeFile(file, 'precious data\n')
    await fs.chmod(file, 0o644)
    const e = await rejection(writeIdentity(file, generateIdentity(), { force: false }))
    expect(e.code).toBe('IDENTITY_EXISTS')
    expect(await fs.readFile(file, 'utf8')).toBe('precious data\n')
    expect(await modeOf(file)).toBe(0o644)
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
  })

  it('overwrites with force: true, and the result is 0600 even if the old file was not', async () => {
    const file = path.join(dir, 'identity.json')
    await writeIdentity(file, generateIdentity())
    await fs.chmod(file, 0o644)
    const second = generateIdentity()
    await writeIdentity(file, second, { force: true })
    expect(await modeOf(file)).toBe(0o600)
    const loaded = await loadIdentity(file)
    expect(loaded.publicKey.equals(second.publicKey)).toBe(true)
    expect(loaded.secretKey.equals(second.secretKey)).toBe(true)
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
  })

  it('with force: true also writes when no file exists yet', async () => {
    const file = path.join(dir, 'new', 'identity.json')
    const id = generateIdentity()
    await writeIdentity(file, id, { force: true })
    expect((await loadIdentity(file)).publicKey.equals(id.publicKey)).toBe(true)
    expect(await fs.readdir(path.join(dir, 'new'))).toEqual(['identity.json'])
  })

  it('leaves other files in the directory alone', async () => {
    await fs.writeFile(path.join(dir, 'other.txt'), 'x')
    const file = path.join(dir, 'identity.json')
    await writeIdentity(file, generateIdentity())
    await rejection(writeIdentity(file, generateIdentity()))
    await writeIdentity(file, generateIdentity(), { force: true })
    expect((await fs.readdir(dir)).sort()).toEqual(['identity.json', 'other.txt'])
    expect(await fs.readFile(path.join(dir, 'other.txt'), 'utf8')).toBe('x')
  })

  it('fails with a ChatError (exit 3) when the parent path is a file', async () => {
    const blocker = path.join(dir, 'blocker')
    await fs.writeFile(blocker, 'x')
    const e = await rejection(writeIdentity(path.join(blocker, 'identity.json'), generateIdentity()))
    expect(e.exitCode).toBe(3)
    expect(e.code).toMatch(/^IDENTITY_/)
    expect(await fs.readFile(blocker, 'utf8')).toBe('x')
  })

  it('under 10 concurrent writers without force, exactly one wins and the file is whole', async () => {
    const file = path.join(dir, 'identity.json')
    const ids = Array.from({ length: 10 }, () => generateIdentity())
    const results = await Promise.allSettled(ids.map((id) => writeIdentity(file, id)))

    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
    expect(winners).toHaveLength(1)
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(losers).toHaveLength(9)
    for (const r of losers) {
      expect(r.reason).toBeInstanceOf(ChatError)
      expect((r.reason as ChatError).code).toBe('IDENTITY_EXISTS')
    }

    const winner = ids[winners[0]!]!
    const loaded = await loadIdentity(file)
    expect(loaded.publicKey.equals(winner.publicKey)).toBe(true)
    expect(loaded.secretKey.equals(winner.secretKey)).toBe(true)
    expect(await modeOf(file)).toBe(0o600)
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
  })

  it('under concurrent forced writers, the file is always one whole identity', async () => {
    const file = path.join(dir, 'identity.json')
    const ids = Array.from({ length: 10 }, () => generateIdentity())
    await Promise.all(ids.map((id) => writeIdentity(file, id, { force: true })))
    const loaded = await loadIdentity(file)
    expect(ids.some((id) => id.publicKey.equals(loaded.publicKey) && id.secretKey.equals(loaded.secretKey))).toBe(true)
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
  })
})

describe('loadIdentity', () => {
  it('round-trips what writeIdentity wrote', async () => {
    const file = path.join(dir, 'identity.json')
    const id = generateIdentity()
    await writeIdentity(file, id)
    const loaded = await loadIdentity(file)
    expect(Buffer.isBuffer(loaded.publicKey)).toBe(true)
    expect(loaded.publicKey.equals(id.publicKey)).toBe(true)
    expect(loaded.secretKey.equals(id.secretKey)).toBe(true)
  })

  it('accepts upper-case hex and extra fields', async () => {
    const file = path.join(dir, 'identity.json')
    const id = generateIdentity()
    await writeRaw(
      file,
      JSON.stringify({ publicKey: id.publicKey.toString('hex').toUpperCase(), secretKey: id.secretKey.toString('hex').toUpperCase(), note: 'hi' })
    )
    const loaded = await loadIdentity(file)
    expect(loaded.publicKey.equals(id.publicKey)).toBe(true)
  })

  it('accepts owner-only modes 0400 and 0700', async () => {
    const file = path.join(dir, 'identity.json')
    const id = generateIdentity()
    await writeRaw(file, fileJson(id), 0o400)
    expect((await loadIdentity(file)).publicKey.equals(id.publicKey)).toBe(true)
    await fs.chmod(file, 0o700)
    expect((await loadIdentity(file)).publicKey.equals(id.publicKey)).toBe(true)
  })

  const unsafeModes = [0o644, 0o640, 0o604, 0o660, 0o606, 0o666, 0o610, 0o601].map((m) => [m.toString(8).padStart(4, '0'), m] as const)

  it.each(unsafeModes)('refuses mode %s (IDENTITY_PERMISSIONS)', async (label, mode) => {
    const file = path.join(dir, 'identity.json')
    await writeRaw(file, fileJson(generateIdentity()), mode)
    const e = await rejection(loadIdentity(file))
    expect(e.code).toBe('IDENTITY_PERMISSIONS')
    expect(e.exitCode).toBe(3)
    expect(e.message).toContain('chmod 600')
    expect(e.message).toContain(file)
    expect(e.message).toContain(label)
    // Loading never "fixes" the mode behind the user's back.
    expect(await modeOf(file)).toBe(mode)
  })

  it('checks permissions before content (a 0644 corrupt file reports permissions)', async () => {
    const file = path.join(dir, 'identity.json')
    await writeRaw(file, 'garbage', 0o644)
    const e = await rejection(loadIdentity(file))
    expect(e.code).toBe('IDENTITY_PERMISSIONS')
  })

  it('shell-quotes a path with spaces in the chmod hint', async () => {
    const sub = path.join(dir, 'my dir')
    await fs.mkdir(sub)
    const file = path.join(sub, 'identity.json')
    await writeRaw(file, fileJson(generateIdentity()), 0o644)
    const e = await rejection(loadIdentity(file))
    expect(e.message).toContain(`chmod 600 '${file}'`)
  })

  it('reports a missing file as IDENTITY_NOT_FOUND', async () => {
    const file = path.join(dir, 'nope.json')
    const e = await rejection(loadIdentity(file))
    expect(e.code).toBe('IDENTITY_NOT_FOUND')
    expect(e.exitCode).toBe(3)
    expect(e.message).toContain(file)
    expect(e.message).toContain('keygen')
  })

  it('reports a file in a missing directory as IDENTITY_NOT_FOUND', async () => {
    const e = await rejection(loadIdentity(path.join(dir, 'missing', 'dir', 'identity.json')))
    expect(e.code).toBe('IDENTITY_NOT_FOUND')
  })

  describe('corrupt content → IDENTITY_CORRUPT', () => {
    const a = generateIdentity()
    const b = generateIdentity()
    const pubHex = a.publicKey.toString('hex')
    const secHex = a.secretKey.toString('hex')
    const cases: Array<[string, string]> = [
      ['empty file', ''],
      ['not JSON', 'this is not json'],
      ['truncated JSON', fileJson(a).slice(0, 60)],
      ['JSON array', JSON.stringify([pubHex, secHex])],
      ['JSON null', 'null'],
      ['JSON string', JSON.stringify(pubHex)],
      ['JSON number', '42'],
      ['empty object', '{}'],
      ['missing secretKey', JSON.stringify({ publicKey: pubHex })],
      ['missing publicKey', JSON.stringify({ secretKey: secHex })],
      ['publicKey not a string', JSON.stringify({ publicKey: 5, secretKey: secHex })],
      ['publicKey 62 hex', JSON.stringify({ publicKey: pubHex.slice(2), secretKey: secHex })],
      ['publicKey 66 hex', JSON.stringify({ publicKey: pubHex + '00', secretKey: secHex })],
      ['publicKey non-hex', JSON.stringify({ publicKey: 'zz' + pubHex.slice(2), secretKey: secHex })],
      ['secretKey 126 hex', JSON.stringify({ publicKey: pubHex, secretKey: secHex.slice(2) })],
      ['secretKey 64 hex (seed only)', JSON.stringify({ publicKey: pubHex, secretKey: secHex.slice(0, 64) })],
      ['secretKey non-hex', JSON.stringify({ publicKey: pubHex, secretKey: 'g' + secHex.slice(1) })],
      ['secretKey of another identity', JSON.stringify({ publicKey: pubHex, secretKey: b.secretKey.toString('hex') })],
      [
        'secretKey with the right public half but a foreign seed',
        JSON.stringify({ publicKey: pubHex, secretKey: b.secretKey.subarray(0, 32).toString('hex') + pubHex })
      ],
      [
        'secretKey with the right seed but a foreign public half',
        JSON.stringify({ publicKey: pubHex, secretKey: a.secretKey.subarray(0, 32).toString('hex') + b.publicKey.toString('hex') })
      ],
      [
        'publicKey of another identity',
        JSON.stringify({ publicKey: b.publicKey.toString('hex'), secretKey: secHex })
      ],
      ['too large to be an identity', fileJson(a, { padding: 'x'.repeat(70 * 1024) })]
    ]

    it.each(cases)('%s', async (_name, text) => {
      const file = path.join(dir, 'identity.json')
      await writeRaw(file, text)
      const e = await rejection(loadIdentity(file))
      expect(e.code).toBe('IDENTITY_CORRUPT')
      expect(e.exitCode).toBe(3)
      expect(e.message).toContain(file)
    })
  })

  it('reports a directory as IDENTITY_UNREADABLE', async () => {
    const sub = path.join(dir, 'identity.json')
    await fs.mkdir(sub, { mode: 0o700 })
    const e = await rejection(loadIdentity(sub))
    expect(e.code).toBe('IDENTITY_UNREADABLE')
    expect(e.exitCode).toBe(3)
    expect(e.message).toContain(sub)
  })

  it('reports a directory as IDENTITY_UNREADABLE even when its mode is group/world readable', async () => {
    const sub = path.join(dir, 'identity.json')
    await fs.mkdir(sub)
    await fs.chmod(sub, 0o755)
    const e = await rejection(loadIdentity(sub))
    expect(e.code).toBe('IDENTITY_UNREADABLE')
    expect(e.message).toContain('not a regular file')
  })

  it.skipIf(process.getuid?.() === 0)('reports an unreadable file (mode 000) as IDENTITY_UNREADABLE', async () => {
    const file = path.join(dir, 'identity.json')
    await writeRaw(file, fileJson(generateIdentity()), 0o000)
    const e = await rejection(loadIdentity(file))
    expect(e.code).toBe('IDENTITY_UNREADABLE')
    expect(e.exitCode).toBe(3)
  })
})

describe('loadOrCreateIdentity', () => {
  it('creates an identity on first use and returns the same one afterwards', async () => {
    const file = path.join(dir, 'cfg', 'p2pchat', 'identity.json')
    const first = await loadOrCreateIdentity(file)
    expect(first.created).toBe(true)
    expect(first.identity.publicKey).toHaveLength(32)
    expect(await modeOf(file)).toBe(0o600)
    expect(await modeOf(path.dirname(file))).toBe(0o700)

    const second = await loadOrCreateIdentity(file)
    expect(second.created).toBe(false)
    expect(second.identity.publicKey.equals(first.identity.publicKey)).toBe(true)
    expect(second.identity.secretKey.equals(first.identity.secretKey)).toBe(true)
  })

  it('loads an existing identity without rewriting it', async () => {
    const file = path.join(dir, 'identity.json')
    const id = generateIdentity()
    await writeIdentity(file, id)
    const before = await fs.readFile(file)
    const r = await loadOrCreateIdentity(file)
    expect(r.created).toBe(false)
    expect(r.identity.publicKey.equals(id.publicKey)).toBe(true)
    expect((await fs.readFile(file)).equals(before)).toBe(true)
  })

  it('does not replace a corrupt identity file', async () => {
    const file = path.join(dir, 'identity.json')
    await writeRaw(file, 'not json')
    const e = await rejection(loadOrCreateIdentity(file))
    expect(e.code).toBe('IDENTITY_CORRUPT')
    expect(await fs.readFile(file, 'utf8')).toBe('not json')
  })

  it('does not replace an identity file with unsafe permissions', async () => {
    const file = path.join(dir, 'identity.json')
    const text = fileJson(generateIdentity())
    await writeRaw(file, text, 0o644)
    const e = await rejection(loadOrCreateIdentity(file))
    expect(e.code).toBe('IDENTITY_PERMISSIONS')
    expect(await fs.readFile(file, 'utf8')).toBe(text)
    expect(await modeOf(file)).toBe(0o644)
  })

  it('under concurrent first use, everyone ends up with the same single identity', async () => {
    const file = path.join(dir, 'identity.json')
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateIdentity(file)))
    expect(results.filter((r) => r.created)).toHaveLength(1)
    const keys = new Set(results.map((r) => r.identity.publicKey.toString('hex')))
    expect(keys.size).toBe(1)
    expect((await loadIdentity(file)).publicKey.toString('hex')).toBe([...keys][0])
    expect(await fs.readdir(dir)).toEqual(['identity.json'])
  })
})
