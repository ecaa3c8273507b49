import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import path from 'node:path'
import { ChatError } from '../errors.js'
import { explainFsError, FileError, readRegularFile, shellQuote, writeFileAtomic } from './fsutil.js'
import { toHex } from './keys.js'

/** An ed25519 key pair in libsodium layout (secretKey = seed ‖ publicKey), as hyperdht uses. */
export interface Identity {
  publicKey: Buffer
  secretKey: Buffer
}

export interface IdentityFile {
  version: 1
  publicKey: string
  secretKey: string
  created: string
}

/** `$XDG_CONFIG_HOME/p2pchat/identity.json`, else `~/.config/p2pchat/identity.json`. */
export function defaultIdentityPath(env: NodeJS.ProcessEnv, homeDir: string): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homeDir, '.config')
  return path.join(base, 'p2pchat', 'identity.json')
}

// PKCS#8 prefix of a raw ed25519 seed: lets node:crypto derive the public key
// without loading libsodium (keygen stays fast).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

function publicKeyFromSeed(seed: Buffer): Buffer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  return Buffer.from(jwk.x as string, 'base64url')
}

export function generateIdentity(): Identity {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' })
  const seed = Buffer.from(jwk.d as string, 'base64url')
  const publicKey = Buffer.from(jwk.x as string, 'base64url')
  return { publicKey, secretKey: Buffer.concat([seed, publicKey]) }
}

export function serializeIdentity(identity: Identity, now: Date): string {
  const file: IdentityFile = {
    version: 1,
    publicKey: toHex(identity.publicKey),
    secretKey: toHex(identity.secretKey),
    created: now.toISOString()
  }
  return JSON.stringify(file, null, 2) + '\n'
}

/**
 * How to get a working identity file at a path again, named in errors: the
 * command that (re)creates it. Default: `p2pchat keygen --out FILE`.
 */
export interface IdentityHints {
  /** Completes "move it away and …", e.g. "rerun 'p2pchat relay', which creates a new one". */
  recreate?: string
}

/** A relay's own identity is recreated by running the relay again (its key then changes). */
export const RELAY_IDENTITY_HINTS: IdentityHints = { recreate: "rerun 'p2pchat relay', which creates a new one; peers must then use its new key" }

function recreateHint(file: string, hints: IdentityHints): string {
  return hints.recreate ?? `run 'p2pchat keygen --out ${shellQuote(file)}' to make a new one`
}

/** Validates the JSON text of an identity file; throws IDENTITY_CORRUPT with the reason. */
export function parseIdentity(text: string, file: string, hints: IdentityHints = {}): Identity {
  const corrupt = (why: string) => ChatError.identityCorrupt(file, why, recreateHint(file, hints))
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt('it is not JSON')
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw corrupt('expected a JSON object')
  const { publicKey, secretKey } = data as Record<string, unknown>
  if (typeof publicKey !== 'string' || !/^[0-9a-f]{64}$/i.test(publicKey)) throw corrupt('"publicKey" must be 64 hex characters')
  if (typeof secretKey !== 'string' || !/^[0-9a-f]{128}$/i.test(secretKey)) throw corrupt('"secretKey" must be 128 hex characters')
  const pub = Buffer.from(publicKey, 'hex')
  const sec = Buffer.from(secretKey, 'hex')
  let derived: Buffer
  try {
    derived = publicKeyFromSeed(sec.subarray(0, 32))
  } catch {
    throw corrupt('"secretKey" is not an ed25519 key')
  }
  if (!derived.equals(pub) || !sec.subarray(32).equals(pub)) throw corrupt('"secretKey" does not belong to "publicKey"')
  return { publicKey: pub, secretKey: sec }
}

const MAX_IDENTITY_BYTES = 64 * 1024

/**
 * Loads an identity, refusing (like ssh) a file that group or others may
 * access, and anything that is not a regular file (a FIFO never blocks it).
 * Throws IDENTITY_NOT_FOUND when the file does not exist.
 */
export async function loadIdentity(file: string, hints: IdentityHints = {}): Promise<Identity> {
  let text: string
  try {
    ;({ text } = await readRegularFile(file, {
      maxBytes: MAX_IDENTITY_BYTES,
      check: (stat) => {
        const mode = stat.mode & 0o777
        if ((mode & 0o077) !== 0) {
          throw ChatError.identityPermissions(file, mode, `chmod 600 ${shellQuote(file)}`)
        }
      }
    }))
  } catch (err) {
    if (err instanceof ChatError) throw err
    if (err instanceof FileError && err.code === 'EFBIG') {
      throw ChatError.identityCorrupt(file, 'it is too large to be an identity', recreateHint(file, hints))
    }
    throw identityIoError(err, file, 'read')
  }
  return parseIdentity(text, file, hints)
}

/**
 * Writes a new identity atomically: a 0600 temp file, fsynced, then linked
 * (or, with force, renamed) into place. A crash leaves either no file or a
 * whole one, and without force an existing file is never replaced.
 */
export async function writeIdentity(file: string, identity: Identity, opts: { force?: boolean; now?: Date } = {}): Promise<void> {
  try {
    await writeFileAtomic(file, serializeIdentity(identity, opts.now ?? new Date()), { overwrite: opts.force === true })
  } catch (err) {
    if (err instanceof FileError && err.code === 'EEXIST') {
      throw ChatError.identityExists(file)
    }
    throw identityIoError(err, file, 'write')
  }
}

/**
 * Loads the identity, creating it on first use. `created` says which happened.
 * Only for a default path: a path the user named must exist (loadIdentity).
 */
export async function loadOrCreateIdentity(file: string, hints: IdentityHints = {}): Promise<{ identity: Identity; created: boolean }> {
  try {
    return { identity: await loadIdentity(file, hints), created: false }
  } catch (err) {
    if (!(err instanceof ChatError) || err.code !== 'IDENTITY_NOT_FOUND') throw err
  }
  const identity = generateIdentity()
  try {
    await writeIdentity(file, identity)
    return { identity, created: true }
  } catch (err) {
    // Another process created it in between: use theirs.
    if (err instanceof ChatError && err.code === 'IDENTITY_EXISTS') return { identity: await loadIdentity(file, hints), created: false }
    throw err
  }
}

function identityIoError(err: unknown, file: string, action: 'read' | 'write'): ChatError {
  const e = explainFsError(err, file)
  if (e.code === 'ENOENT' && action === 'read') {
    return ChatError.identityNotFound(file, `p2pchat keygen --out ${shellQuote(file)}`, err)
  }
  const reason = e.code === 'EISDIR' && action === 'write' ? `${e.reason} (e.g. ${path.join(file, 'identity.json')})` : e.reason
  return ChatError.identityIo(file, action, reason, err)
}
