import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, rawPeer, startListener, type Proc } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

const net = useTestNetwork()

// OSC 52 clipboard write, clear screen, an 8-bit CSI (U+009B) that clears it too, a bidi override.
const HOSTILE = Buffer.from('a\x1b]52;c;aGk=\x07b\x1b[2Jc\u009b2Jd\u202ee\n')
const HOSTILE_SHOWN = 'a␛]52;c;aGk=␇b␛[2Jc⟨U+009B⟩2Jd⟨U+202E⟩e'

/** Fails if the terminal received any of the hostile bytes as they are. */
function expectNoRawControls(bytes: Buffer): void {
  expect(bytes.includes('\x1b]52')).toBe(false)
  expect(bytes.includes('\x1b[2J')).toBe(false)
  expect(bytes.includes(Buffer.from('\u009b'))).toBe(false)
  expect(bytes.includes(Buffer.from('\u202e'))).toBe(false)
}

async function rawListener(): Promise<{ raw: Proc; key: string }> {
  const raw = rawPeer(['listen', net.flag])
  return { raw, key: (await raw.waitFor(/listening ([0-9a-f]{64})/))[1]! }
}

async function ptyListener(extra: string[] = [], reflowCursorLine = false): Promise<{ pty: PtyProc; key: string }> {
  const pty = new PtyProc(['listen', '--bootstrap', net.flag, ...extra], tempHome().env, { reflowCursorLine })
  const rows = await pty.waitForScreen(/listening on [0-9a-f]{64}/, 20_000)
  const key = /listening on ([0-9a-f]{64})/.exec(rows.join('\n'))![1]!
  await pty.waitForScreen('type /help for commands')
  return { pty, key }
}

/** Braille spinner frames (ora's "dots"): a spinner drew something. */
const SPINNER_FRAME = /[\u2800-\u28ff]/

const INVITE_CODE = /invite code: (\d+-[a-z]+-[a-z]+-[a-z]+) /

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a peer never drives the terminal, whatever the mode', () => {
  it('connect with stdin piped and stdout a terminal shows a peer\'s controls, not obeys them', async () => {
    const { raw, key } = await rawListener()
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env, { pipedStdin: true })
    await pty.waitForScreen(`connected to ${key}`, 20_000)
    // stdin is a pipe: what is typed is piped input, sent as is (pipe mode, no prompt).
    pty.type('from the pipe\r')
    await raw.waitFor('from the pipe\n', 'stdout')
    raw.write(HOSTILE)
    const rows = await pty.waitForScreen(HOSTILE_SHOWN)
    // Not cleared: the notice from before is still on screen.
    expect(rows.join('\n')).toContain(`connected to ${key}`)
    expectNoRawControls(pty.bytes())
  })

  it('a piped listener on a terminal shows a peer\'s controls, not obeys them', async () => {
    const pty = new PtyProc(['listen', '--bootstrap', net.flag], tempHome().env, { pipedStdin: true })
    const key = /listening on ([0-9a-f]{64})/.exec((await pty.waitForScreen(/listening on [0-9a-f]{64}/, 20_000)).join('\n'))![1]!
    const raw = rawPeer(['connect', net.flag, key])
    await raw.waitFor('open')
    const short = /([0-9a-f]{8}) joined/.exec((await pty.waitForScreen(/[0-9a-f]{8} joined/)).join('\n'))![1]!
    raw.write(HOSTILE)
    const rows = await pty.waitForScreen(`[${short}] ${HOSTILE_SHOWN}`)
    expect(rows.join('\n')).toContain(`listening on ${key}`)
    expectNoRawControls(pty.bytes())
  })

  it('--json on a terminal escapes C1, bidi and DEL, so the JSON is safe to look at', async () => {
    const { raw, key } = await rawListener()
    const pty = new PtyProc(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env, { pipedStdin: true })
    await pty.waitForScreen('"type":"connected"', 20_000)
    raw.write(Buffer.from('a\x1b]52;c;aGk=\x07b\x1b[2Jc\u009b2Jd\u202ee\x7ff\u2028g\n'))
    const rows = await pty.waitForScreen('"type":"message"')
    expect(rows.join('')).toContain('"text":"a\\u001b]52;c;aGk=\\u0007b\\u001b[2Jc\\u009b2Jd\\u202ee\\u007ff\\u2028g"')
    expect(rows.join('\n')).toContain('"type":"connected"')
    expectNoRawControls(pty.bytes())
  })
})

describe('terminal geometry', () => {
  it('a terminal nobody sized (0 columns) gets a spinner that ends and then the chat, not an endless redraw', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const started = Date.now()
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env, { size: null })
    await pty.waitForScreen(`connected to ${key}`, 20_000)
    await pty.waitForScreen('type /help for commands')
    pty.type('hello from nowhere\r')
    await listener.waitFor('] hello from nowhere\n', 'stdout')
    await pty.waitForScreen('you: hello from nowhere')
    await pty.waitUntilQuiet()
    // A spinner redrawing a 0-wide terminal wrote about 1 MB/s; its frames are ~2 kB/s.
    const seconds = (Date.now() - started) / 1000
    expect(pty.bytes().length).toBeLessThan(4_000 + 4_000 * seconds)
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })

  it('a message arriving while a half-typed line wraps is printed whole above it', async () => {
    const { pty, key } = await ptyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const short = /([0-9a-f]{8}) joined/.exec((await pty.waitForScreen(/[0-9a-f]{8} joined/)).join('\n'))![1]!
    const half = 'wrap'.repeat(35) // 140 characters: two rows of 100
    pty.type(half)
    await pty.waitForScreen(half.slice(-50))
    client.write('one\ntwo\n')
    await pty.waitForScreen(`${short}: two`)
    const lines = await pty.lines()
    expect(lines.filter((l) => l.includes(`${short}: one`))).toEqual([`${short}: one`])
    expect(lines.filter((l) => l.includes('wrapwrap'))).toEqual([`> ${half}`])
    pty.type('\r')
    await client.waitFor(`${half}\n`, 'stdout')
    const after = await pty.waitForScreen(`you: ${half.slice(0, 50)}`)
    expect(after.join('\n')).toContain(`${short}: two`)
  })

  it.each([
    ['does not rewrap the cursor\'s row (xterm.js)', false],
    ['rewraps every row (tmux, VTE, kitty)', true]
  ])('resizing with a half-typed line, in a terminal that %s, keeps messages whole and one prompt', async (_, reflow) => {
    const { pty, key } = await ptyListener([], reflow)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const short = /([0-9a-f]{8}) joined/.exec((await pty.waitForScreen(/[0-9a-f]{8} joined/)).join('\n'))![1]!
    const half = 'halfline' + 'x'.repeat(62) // 72 columns with the prompt
    pty.type(half)
    await pty.waitForScreen(`> ${half}`)

    const resize = async (cols: number) => {
      const before = pty.bytes().length
      await pty.resize(cols, 30)
      // p2pchat redraws on SIGWINCH: wait for it, then for the screen to settle.
      await pty.waitUntil(() => pty.bytes().length > before, `a redraw at ${cols} columns`)
      await pty.waitUntilQuiet()
    }
    const check = async (message: string) => {
      client.write(`${message}\n`)
      await pty.waitForScreen(`${short}: ${message.slice(0, 10)}`)
      // Let every redraw land before reading the screen.
      await pty.waitUntilQuiet()
      const lines = await pty.lines()
      expect(lines.filter((l) => l.includes(message.slice(0, 10)))).toEqual([`${short}: ${message}`])
      expect(lines.filter((l) => l.includes('halfline') || l.startsWith('> '))).toEqual([`> ${half}`])
      // The prompt is the last thing on screen, the cursor at the end of the half line.
      expect(lines.filter((l) => l !== '').at(-1)).toBe(`> ${half}`)
    }
    await resize(40) // the line now wraps
    await check('first after narrowing, long enough to wrap at forty columns')
    await resize(100)
    await check('second after widening')
    await resize(90) // still one row: redrawn in place
    await check('third after a small change')

    pty.type('\r')
    await client.waitFor(`${half}\n`, 'stdout')
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })
})

describe('the prompt', () => {
  it('after connect --reconnect resumes: no spinner over the prompt, the half-typed line is kept, the path is shown', async () => {
    const home = tempHome().env
    const first = p2pchat(['listen', '--bootstrap', net.flag], home)
    const key = (await first.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag, '--reconnect'], tempHome().env)
    await pty.waitForScreen(`connected to ${key}`, 20_000)
    await pty.waitForScreen('type /help for commands')
    first.kill('SIGKILL')
    await first.exit()
    // Typed while the peer is dead but not yet known to be.
    pty.type('half ')
    await pty.waitForScreen('> half ')
    await pty.waitForLine(/connection lost.*; reconnecting/, 30_000)
    const lostAt = pty.bytes().length
    // The redial starts at once: its stage notice follows; read the prompt once the screen is still.
    await pty.waitUntilQuiet()
    expect(await pty.cursorRow()).toBe('> half ')
    // A line finished while disconnected waits for the connection, and says so.
    pty.type('while away\r')
    await pty.waitForScreen('you (queued): half while away')
    pty.type('half ')
    await pty.waitForScreen('> half ')

    const second = p2pchat(['listen', '--bootstrap', net.flag], home)
    await second.waitFor(`listening on ${key}`)
    await second.waitFor('] half while away\n', 'stdout', 40_000)
    await pty.waitForLine(new RegExp(`reconnected to ${key} \\(direct, 127\\.0\\.0\\.1:\\d+, rtt (<1|\\d+) ms\\)`), 40_000)
    // The stages were notices above the prompt, never a spinner drawn over it.
    await pty.waitForScreen(/\* connecting to [0-9a-f]{8}/)
    expect(pty.bytes().subarray(lostAt).toString('utf8')).not.toMatch(SPINNER_FRAME)
    expect(await pty.cursorRow()).toBe('> half ')
    pty.type('typed after')
    await pty.waitForScreen('> half typed after')
    expect(await pty.cursorRow()).toBe('> half typed after')
    pty.type('\r')
    await second.waitFor('] half typed after\n', 'stdout')
    await pty.waitForScreen('you: half typed after')
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  }, 90_000)

  it('listen --invite and connect CODE: the prompt comes up after the code is shown, what is typed shows on it, and no spinner stays over it (not even its 5 s stall hint)', async () => {
    const listener = new PtyProc(['listen', '--bootstrap', net.flag, '--invite'], tempHome().env)
    const code = INVITE_CODE.exec((await listener.waitForLine(INVITE_CODE, 20_000)).join('\n'))![1]!
    // Typed once the terminal is in raw mode (else its line discipline echoes it), while a spinner would still run over the prompt.
    await sleep(300)
    listener.type('typed at once')
    const codeShownAt = listener.bytes().length
    // Past the stage's stall timer (5 s), which used to rewrite the spinner's text.
    await sleep(5_500)
    const shown = (await listener.lines()).join('\n')
    expect(listener.bytes().subarray(codeShownAt).toString('utf8'), shown).not.toMatch(SPINNER_FRAME)
    await listener.waitUntilQuiet()
    expect(shown).not.toContain('opening an invite code')
    expect(shown).not.toContain('still ')
    expect(await listener.cursorRow()).toBe('> typed at once')
    expect(listener.term.buffer.active.cursorX).toBe('> typed at once'.length)

    // The joiner: stages (joining, pairing, connecting) up to "connected", then the prompt, never a spinner after it.
    const joiner = new PtyProc(['connect', code, '--bootstrap', net.flag], tempHome().env)
    await joiner.waitForLine(/✔ connected to \S+ \(/, 20_000)
    const connectedAt = joiner.bytes().indexOf('connected to')
    joiner.type('hello inviter')
    await joiner.waitForScreen('> hello inviter')
    await joiner.waitUntilQuiet()
    expect(joiner.bytes().subarray(connectedAt).toString('utf8')).not.toMatch(SPINNER_FRAME)
    expect(await joiner.cursorRow()).toBe('> hello inviter')
    joiner.type('\r')
    await listener.waitForLine(/[0-9a-f]{8}: hello inviter|\w+: hello inviter/)
    await joiner.waitForScreen('you: hello inviter ✓')
    joiner.type('/quit\r')
    expect((await joiner.exit()).code).toBe(0)

    // The listener's half-typed line is still there, below what was printed since.
    await listener.waitUntilQuiet()
    expect(await listener.cursorRow()).toBe('> typed at once')
    listener.type('\x15/quit\r') // Ctrl+U clears it
    expect((await listener.exit()).code).toBe(0)
  }, 60_000)

  it('Ctrl+D on an empty line leaves, as /quit does, and says so (listen and connect)', async () => {
    const { pty, key } = await ptyListener()
    const connector = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await connector.waitForScreen(`connected to ${key}`, 20_000)
    // The prompt, not the hint line before it: a Ctrl+D typed before readline
    // has put the terminal in raw mode is an EOF the line discipline swallows.
    await connector.waitForScreen(/type \/help for commands\n>/)
    connector.type('\x04')
    await connector.waitForScreen('* Ctrl+D: leaving')
    expect((await connector.exit()).code).toBe(0)

    await pty.waitForScreen(/type \/help for commands\n(?:.*\n)*>/)
    pty.type('\x04')
    await pty.waitForScreen('* Ctrl+D: leaving')
    await pty.waitForScreen('* listener stopped')
    expect((await pty.exit()).code).toBe(0)
  })

  it('notices at the end take the prompt\'s place instead of printing onto it', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await pty.waitForScreen(`connected to ${key}`, 20_000)
    await pty.waitForScreen('type /help for commands')
    pty.type('half typed')
    await pty.waitForScreen('> half typed')
    pty.type('\x03')
    expect((await pty.exit()).code).toBe(0)
    const rows = await pty.screen()
    expect(rows).toContain('* disconnected')
    expect(rows.filter((r) => r.startsWith('>'))).toEqual([])
    listener.kill('SIGINT')
  })

  it('a line typed with no peer connected is shown as not sent, not as sent', async () => {
    const { pty } = await ptyListener()
    pty.type('anyone there?\r')
    const rows = await pty.waitForScreen('* not sent (no peers connected): anyone there?')
    expect(rows.join('\n')).not.toContain('you: anyone there?')
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })

  it('--no-color: no colour at all on the terminal, spinner symbols included', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    // NO_COLOR removed (not emptied: Node reads an empty NO_COLOR as set), so only the flag turns colour off.
    const env = { ...tempHome().env, NO_COLOR: undefined }
    const pty = new PtyProc(['--no-color', 'connect', key, '--bootstrap', net.flag], env)
    await pty.waitForScreen(`✔ connected to ${key}`, 20_000)
    await pty.waitForScreen('type /help for commands')
    const failing = new PtyProc(['--no-color', 'connect', 'b'.repeat(64), '--bootstrap', net.flag], env)
    await failing.waitForScreen('p2pchat: peer not found', 20_000)
    expect((await failing.exit()).code).toBe(4)
    for (const p of [pty, failing]) expect(p.bytes().toString('utf8')).not.toMatch(/\x1b\[[0-9;]*m/)
    // Without the flag the same terminal gets colour (the check above can fail).
    const coloured = new PtyProc(['connect', key, '--bootstrap', net.flag], env)
    await coloured.waitForScreen(`✔ connected to ${key}`, 20_000)
    expect(coloured.bytes().toString('utf8')).toMatch(/\x1b\[32m✔/)
    listener.kill('SIGINT')
  })
})
