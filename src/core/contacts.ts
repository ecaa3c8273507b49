import fs from 'node:fs/promises'
import path from 'node:path'
import { ChatError, EXIT } from './errors.js'
import { writeFileAtomic } from './fsutil.js'
import { isKey, parseKey } from './keys.js'

/** An address book: names for public keys. Stored as JSON, 0600, next to the identity. */
export class Contacts {
  private readonly byName: Map<string, string>
  private readonly byKey: Map<string, string>

  constructor(entries: Iterable<[name: string, keyHex: string]> = []) {
    this.byName = new Map(entries)
    this.byKey = new Map([...this.byName].map(([n, k]) => [k, n]))
  }

  get size(): number {
    return this.byName.size
  }

  list(): Array<{ name: string; key: string }> {
    return [...this.byName].map(([name, key]) => ({ name, key })).sort((a, b) => a.name.localeCompare(b.name))
  }

  keyOf(name: string): string | undefined {
    return this.byName.get(name)
  }

  nameOf(keyHex: string): string | undefined {
    return this.byKey.get(keyHex)
  }

  /** The contact name for a key, else its short key: what the UI shows. */
  displayName(keyHex: string): string {
    return this.byKey.get(keyHex) ?? keyHex.slice(0, 8)
  }

  /** A key given as hex, z32 or a contact name. Throws INVALID_KEY for anything else. */
  resolve(keyOrName: string): Buffer {
    const trimmed = keyOrName.trim()
    const key = this.byName.get(trimmed)
    if (key) return Buffer.from(key, 'hex')
    if (isKey(trimmed) || !NAME.test(trimmed)) return parseKey(trimmed)
    throw new ChatError(
      'UNKNOWN_CONTACT',
      `invalid key ${JSON.stringify(trimmed)}: no contact has that name, and a key is 64 hex characters or 52 z-base-32 characters (see 'p2pchat contacts list')`,
      EXIT.USAGE
    )
  }

  with(name: string, keyHex: string): Contacts {
    return new Contacts([...[...this.byName].filter(([n]) => n !== name), [name, keyHex]])
  }

  without(name: string): Contacts {
    return new Contacts([...this.byName].filter(([n]) => n !== name))
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/

export function validateContactName(name: string): void {
  if (!NAME.test(name)) {
    throw ChatError.usage(`invalid contact name ${JSON.stringify(name)}: use 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  if (isKey(name)) throw ChatError.usage(`invalid contact name ${JSON.stringify(name)}: it looks like a key`)
}

export function defaultContactsPath(identityDir: string): string {
  return path.join(identityDir, 'contacts.json')
}

export async function loadContacts(file: string): Promise<Contacts> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Contacts()
    throw new ChatError('CONTACTS_UNREADABLE', `cannot read contacts ${file}: ${(err as Error).message}`, EXIT.IDENTITY)
  }
  const corrupt = (why: string) => new ChatError('CONTACTS_CORRUPT', `contacts file ${file} is not valid: ${why}`, EXIT.IDENTITY)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt('it is not JSON')
  }
  const contacts = (data as { contacts?: unknown } | null)?.contacts
  if (typeof contacts !== 'object' || contacts === null || Array.isArray(contacts)) throw corrupt('expected {"contacts": {name: key}}')
  const entries: Array<[string, string]> = []
  for (const [name, key] of Object.entries(contacts)) {
    if (!NAME.test(name) || typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) throw corrupt(`bad entry ${JSON.stringify(name)}`)
    entries.push([name, key])
  }
  return new Contacts(entries)
}

export async function saveContacts(file: string, contacts: Contacts): Promise<void> {
  const data = { version: 1, contacts: Object.fromEntries(contacts.list().map((c) => [c.name, c.key])) }
  await writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n', { overwrite: true })
}

