import { EventEmitter } from 'node:events'
import { ChatError } from '../errors.js'
import { Contacts } from './contacts.js'
import { explainFsError, readRegularFile, watchFile } from './fsutil.js'
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
    } catch (err) {
      // A name, with the address book unusable: that is what to fix, not the line.
      if (err instanceof ChatError && Contacts.UNREADABLE_CODES.has(err.code)) throw err
      throw ChatError.allowFileInvalid(file, i + 1, entry)
    }
  })
  return keys
}

const MAX_ALLOW_FILE_BYTES = 4 * 1024 * 1024

export interface AllowListEvents {
  reloaded: [count: number]
  error: [error: ChatError]
}

/**
 * Who may connect: keys from --allow plus the keys in --allow-file, which is
 * re-read when it changes (a bad edit keeps the previous list and reports an
 * error). An empty file means nobody. Contact names in the file are resolved
 * with the address book as it is when the file is read (`contacts()`).
 */
export class AllowList extends EventEmitter<AllowListEvents> {
  private fileKeys = new Set<string>()
  private unwatch: (() => void) | null = null

  constructor(
    private readonly fixed: Set<string>,
    private readonly file: string | undefined,
    private readonly contacts: () => Contacts,
    private readonly pollMs = 250
  ) {
    super()
  }

  /** Reads the file once; throws if it is missing, not a regular file, or bad (at startup that is fatal). */
  async load(): Promise<void> {
    if (!this.file) return
    let text: string
    try {
      ;({ text } = await readRegularFile(this.file, { maxBytes: MAX_ALLOW_FILE_BYTES }))
    } catch (err) {
      throw ChatError.allowFileUnreadable(this.file, explainFsError(err, this.file).reason)
    }
    this.fileKeys = parseAllowFile(text, this.file, this.contacts())
  }

  /** Starts re-reading the file when it changes. */
  watch(): void {
    if (!this.file || this.unwatch) return
    this.unwatch = watchFile(this.file, () => this.reload(), this.pollMs)
  }

  private reloading: Promise<void> = Promise.resolve()

  /**
   * Re-reads the file (it changed, or the contacts its names refer to did); a
   * bad file keeps the previous list. Calls run one after another, in order,
   * whoever triggers them, so an older read never wins over a newer one.
   */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce())
    return this.reloading
  }

  private async reloadOnce(): Promise<void> {
    if (!this.file) return
    try {
      await this.load()
      this.emit('reloaded', this.fileKeys.size)
    } catch (err) {
      this.emit('error', err as ChatError)
    }
  }

  close(): void {
    this.unwatch?.()
    this.unwatch = null
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
