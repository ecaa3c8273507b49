import { EventEmitter } from 'node:events'
import { StringDecoder } from 'node:string_decoder'

type Source = NodeJS.ReadableStream & { isRaw?: boolean; setRawMode?: (raw: boolean) => unknown }

/**
 * What readline reads instead of the terminal: the same keys, handed over
 * one character at a time, except that text typed or pasted in one piece is
 * inserted at the cursor in one piece.
 *
 * Why. Node's readline (nodejs/node#60446, a regression from #59857, in Node
 * 20.20 and the 22.x and 24.x of late 2025) inserts every character of a
 * multi-character chunk but the last at the END of the line, whatever the
 * cursor: `abc`, Home, a paste of `XYZ` became `abZcXY`, and IME input (a
 * word committed in one chunk) the same. Versions with the fix (#60470)
 * still write those characters without redrawing the rest of the line, so a
 * chunk whose last character is not text (a bracketed paste's `ESC[201~`)
 * leaves the screen showing something other than the line that is sent.
 * Both come from one shortcut readline takes for every character of a chunk
 * but the last. Here readline never gets a chunk of more than one character;
 * a run of text (no control character, not inside an escape sequence) goes
 * through `rl.write()`, the public way to insert text as if typed, which
 * inserts at the cursor and redraws the line. Same on every Node version, so
 * nothing depends on which readline has which bug.
 *
 * Where a key ends is told by readline itself: a character that completes a
 * key makes readline's key decoder emit 'keypress' on this stream (the
 * documented emitKeypressEvents); until one does, the next characters are
 * part of an escape sequence and are handed over one by one.
 *
 * readline uses its input through on/removeListener ('data', 'end',
 * 'error', 'keypress'), pause(), resume(), isRaw and setRawMode() (Node
 * 20–24); test/unit/ui/interactive/keys.test.ts fails if that changes.
 */
export class KeyInput extends EventEmitter {
  readonly isTTY = true
  private readonly decoder = new StringDecoder('utf8')
  private paused = false
  private detached = false
  /** The last character handed to readline completed a key (else an escape sequence is under way). */
  private atKey = true
  private readonly onData = (chunk: Buffer | string) => this.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk))
  private readonly onEnd = () => {
    this.feed(this.decoder.end())
    this.emit('end')
  }
  private readonly onError = (err: Error) => {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else throw err
  }

  /**
   * `insert(text)`: puts text at the cursor as if typed (rl.write); null
   * until readline is up. Reading starts at once.
   */
  constructor(
    private readonly source: Source,
    public insert: ((text: string) => void) | null = null
  ) {
    super()
    this.on('keypress', () => {
      this.atKey = true
    })
    source.on('data', this.onData)
    source.on('end', this.onEnd)
    source.on('error', this.onError)
  }

  get isRaw(): boolean | undefined {
    return this.source.isRaw
  }

  setRawMode(raw: boolean): this {
    this.source.setRawMode?.(raw)
    return this
  }

  pause(): this {
    this.paused = true
    this.source.pause()
    return this
  }

  resume(): this {
    if (this.detached) return this
    this.paused = false
    this.source.resume()
    return this
  }

  /** readline closed: stop reading the terminal. */
  detach(): void {
    this.detached = true
    this.insert = null
    this.source.off('data', this.onData)
    this.source.off('end', this.onEnd)
    this.source.off('error', this.onError)
  }

  private feed(text: string): void {
    const chars = Array.from(text) // code points: a surrogate pair stays whole
    let i = 0
    while (i < chars.length && !this.detached) {
      // A run of two or more text characters at a key boundary: inserted in one piece.
      // Not while paused: rl.write() would resume reading.
      if (this.atKey && this.insert && !this.paused && isText(chars[i]!) && i + 1 < chars.length && isText(chars[i + 1]!)) {
        let end = i + 2
        while (end < chars.length && isText(chars[end]!)) end++
        this.insert(chars.slice(i, end).join(''))
        i = end
        continue
      }
      this.atKey = false
      this.emit('data', chars[i]!)
      i++
    }
  }
}

/** A character readline inserts as it is: not a C0 or C1 control, not DEL (ESC, CR, Tab, Ctrl+A… are keys). */
function isText(ch: string): boolean {
  const code = ch.codePointAt(0)!
  return code >= 0x20 && !(code >= 0x7f && code <= 0x9f)
}
