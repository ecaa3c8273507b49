import readline from 'node:readline'
import { PassThrough, Writable } from 'node:stream'
import xterm from '@xterm/headless'
import { describe, expect, it } from 'vitest'
import { KeyInput } from '../../../../src/ui/interactive/keys.js'
import { setPromptRows } from '../../../../src/ui/interactive/screen.js'

// readline over KeyInput, as the interactive view sets it up, drawing into a
// headless xterm: what is sent (the 'line') and what the screen shows. These
// fail loudly if Node's readline stops reading its input the way KeyInput
// relies on (see keys.ts), whatever the Node version: run them on each.

const HOME = '\x1b[H'
const LEFT = '\x1b[D'

function setup() {
  const source = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode: (raw: boolean) => void (source.isRaw = raw) })
  const term = new xterm.Terminal({ cols: 80, rows: 5, allowProposedApi: true })
  let drawn = Promise.resolve()
  let bytes = ''
  const output = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.toString('utf8')
        drawn = drawn.then(() => new Promise<void>((r) => term.write(chunk, r)))
        cb()
      }
    }),
    { isTTY: true, columns: 80, rows: 5 }
  )
  const keys = new KeyInput(source)
  const rl = readline.createInterface({ input: keys as unknown as NodeJS.ReadableStream, output, terminal: true, prompt: '> ' })
  keys.insert = (text) => rl.write(text)
  rl.once('close', () => keys.detach())
  const lines: string[] = []
  rl.on('line', (l) => lines.push(l))
  rl.prompt()
  const tick = () => new Promise((r) => setImmediate(r))
  return {
    source,
    rl,
    lines,
    /** Each argument arrives as one chunk, as a terminal delivers a keypress or a paste. */
    async send(...chunks: string[]) {
      for (const c of chunks) {
        source.write(c)
        await tick()
      }
    },
    /** The prompt's row as shown, and the cursor's column. */
    async shown(): Promise<{ row: string; cursor: number }> {
      await tick()
      await drawn
      const buf = term.buffer.active
      return { row: buf.getLine(buf.cursorY)!.translateToString(true), cursor: buf.cursorX }
    },
    close: () => rl.close(),
    /** What readline wrote from now on. */
    since(): () => string {
      const from = bytes.length
      return () => bytes.slice(from)
    }
  }
}

describe('pasting into the middle of a line (KeyInput under readline)', () => {
  it.each([
    ['Home (CSI H), then a paste', ['abc', HOME, 'XYZ'], 'XYZabc', 3],
    ['Home (CSI 1~), then a paste', ['abc', '\x1b[1~', 'XYZ'], 'XYZabc', 3],
    ['Ctrl+A, then a paste', ['abc', '\x01', 'XYZ'], 'XYZabc', 3],
    ['a paste in the middle', ['abc', LEFT + LEFT, 'XYZ'], 'aXYZbc', 4],
    ['a bracketed paste at the start', ['abc', HOME, '\x1b[200~XYZ\x1b[201~'], 'XYZabc', 3],
    ['keys and paste in one chunk', ['abc' + HOME + 'XYZ'], 'XYZabc', 3],
    ['CJK pasted mid-line (IME commit)', ['abc', LEFT + LEFT, '日本語'], 'a日本語bc', 7],
    ['an escape sequence split across chunks', ['abc', '\x1b[', 'D', 'XY'], 'abXYc', 4],
    // readline counts a flag 4 columns wide, the terminal here 2: where it puts the cursor is its own arithmetic.
    ['emoji and combining marks mid-line', ['ab', LEFT, '🇫🇷e\u0301'], 'a🇫🇷e\u0301b', null],
    ['a paste at the end', ['abc', 'XYZ'], 'abcXYZ', 6]
  ])('%s: the line sent is what the screen shows', async (_, chunks, expected, cursor) => {
    const t = setup()
    await t.send(...chunks)
    expect(t.rl.line).toBe(expected)
    const shown = await t.shown()
    // What the screen shows is what will be sent, the cursor after what was inserted.
    expect(shown.row).toBe(`> ${expected}`)
    if (cursor !== null) expect(shown.cursor).toBe(2 + cursor)
    await t.send('\r')
    expect(t.lines).toEqual([expected])
    t.close()
  })

  it('a paste of several lines sends each; the last stays typed', async () => {
    const t = setup()
    await t.send('x', HOME, 'one\rtwo\rthr')
    expect(t.lines).toEqual(['onex', 'two'])
    expect(t.rl.line).toBe('thr')
    t.close()
  })

  it('a lone Escape is a key once its timeout passes, and what follows is typed as usual', async () => {
    const t = setup()
    await t.send('abc', '\x1b')
    await new Promise((r) => setTimeout(r, 600))
    await t.send(HOME, 'XY')
    expect(t.rl.line).toBe('XYabc')
    t.close()
  })

  it('Ctrl+D on an empty line still closes, and nothing is inserted after close', async () => {
    const t = setup()
    let closed = false
    t.rl.on('close', () => (closed = true))
    await t.send('\x04more text')
    expect(closed).toBe(true)
    expect(t.lines).toEqual([])
  })
})

describe("readline's prevRows (setPromptRows in screen.ts)", () => {
  it('says how many rows below the prompt the cursor is, and readline moves up that many to redraw: 0 means "the prompt starts on the cursor\'s row"', async () => {
    const t = setup()
    await t.send('w'.repeat(100)) // 102 columns with the prompt: two rows of 80
    expect((t.rl as unknown as { prevRows: number }).prevRows).toBe(1)
    let out = t.since()
    t.rl.prompt(true)
    expect(out()).toContain('\x1b[1A')
    setPromptRows(t.rl, 0)
    out = t.since()
    t.rl.prompt(true)
    expect(out()).not.toMatch(/\x1b\[\d*A/)
    t.close()
  })
})
