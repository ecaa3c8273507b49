import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import { ChatError, EXIT } from './errors.js'
import type { Contacts } from './contacts.js'
import { toHex } from './keys.js'

/**
 * Parses an allow file: one key (hex or z32) or contact name per line, `#`
 * comments, blank lines ignored. Throws naming the first bad line.
 */
export function parseAllowFile(text: string, file: string, contacts: Contacts): Set<string> {
  const keys = new Set<string>()
  text.split('\n').forEach((raw, i) => {
    const entry = raw.replace(/#.*/, '').trim()
    if (!entry) return
    try {
      keys.add(toHex(contacts.resolve(entry)))
    } catch {
      throw new ChatError('ALLOW_FILE_INVALID', `allow file ${file}, line ${i + 1}: ${JSON.stringify(entry)} is not a key or a contact name`, EXIT.USAGE)
    }
  })
  return keys
}

export interface AllowListEvents {
  reloaded: [count: number]
  error: [error: ChatError]
}

/**
 * Who may connect: keys from --allow plus the keys in --allow-file, which is
 * re-read when it changes (a bad edit keeps the previous list and reports an
 * error). An empty file means nobody.
 */
export class AllowList extends EventEmitter<AllowListEvents> {
  private fileKeys = new Set<string>()
  private watching = false

  constructor(
    private readonly fixed: Set<string>,
    private readonly file: string | undefined,
    private readonly contacts: Contacts,
    private readonly pollMs = 250
  ) {
    super()
  }

  /** Reads the file once; throws if it is missing or bad (at startup that is fatal). */
  load(): void {
    if (!this.file) return
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch (err) {
      throw new ChatError('ALLOW_FILE_UNREADABLE', `cannot read allow file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.USAGE)
    }
    this.fileKeys = parseAllowFile(text, this.file, this.contacts)
  }

  /** Starts re-reading the file when it changes (polling: works across editors' rename-on-save). */
  watch(): void {
    if (!this.file || this.watching) return
    this.watching = true
    fs.watchFile(this.file, { interval: this.pollMs, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return
      try {
        this.load()
        this.emit('reloaded', this.fileKeys.size)
      } catch (err) {
        this.emit('error', err as ChatError)
      }
    })
  }

  close(): void {
    if (this.file && this.watching) fs.unwatchFile(this.file)
    this.watching = false
  }

  /** How many distinct keys are allowed now. */
  get size(): number {
    let n = this.fixed.size
    for (const key of this.fileKeys) if (!this.fixed.has(key)) n++
    return n
  }

  allows(keyHex: string): boolean {
    return this.fixed.has(keyHex) || this.fileKeys.has(keyHex)
  }
}
