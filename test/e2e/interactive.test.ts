import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

const net = useTestNetwork()

async function ptyListener(extra: string[] = []): Promise<{ pty: PtyProc; key: string }> {
  const pty = new PtyProc(['listen', '--bootstrap', net.flag, ...extra], tempHome().env)
  const rows = await pty.waitForScreen(/listening on [0-9a-f]{64}/)
  const key = /listening on ([0-9a-f]{64})/.exec(rows.join('\n'))![1]!
  await pty.waitForScreen('type /help for commands')
  return { pty, key }
}

describe('interactive mode in a real terminal', () => {
  it('prints a message above a half-typed line and keeps the line intact; /peers; /quit exits 0', async () => {
    const { pty, key } = await ptyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const short = (await pty.waitForScreen(/([0-9a-f]{8}) joined/)).join('\n').match(/([0-9a-f]{8}) joined/)![1]!

    pty.type('half a li')
    await pty.waitForScreen('> half a li')
    client.write('incoming while typing\n')
    const rows = await pty.waitForScreen(`${short}: incoming while typing`)
    // The message is above the prompt, and the prompt still holds the half line, cursor after it.
    const msgRow = rows.findIndex((r) => r.includes('incoming while typing'))
    const promptRow = rows.findIndex((r) => r.startsWith('> half a li'))
    expect(promptRow).toBeGreaterThan(msgRow)
    expect(await pty.cursorRow()).toBe('> half a li')
    expect(pty.term.buffer.active.cursorX).toBe('> half a li'.length)

    // Finishing the line sends it whole.
    pty.type('ne\r')
    await client.waitFor('half a line\n', 'stdout')
    await pty.waitForScreen('you: half a line')

    pty.type('/peers\r')
    const peers = (await pty.waitForScreen(/connected \d+s\s+direct\s+127\.0\.0\.1:\d+\s+rtt (<1|\d+) ms/)).join('\n')
    expect(peers).toMatch(new RegExp(`${short}  connected`))
    expect(peers).toMatch(new RegExp(`key ${short}[0-9a-f]{56}`))

    pty.type('/nonsense\r')
    await pty.waitForScreen('unknown command /nonsense')
    await pty.waitForScreen('/send-to <peer> text')

    pty.type('//starts with a slash\r')
    await client.waitFor('/starts with a slash\n', 'stdout')

    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
    expect((await client.exit()).code).toBe(0)
  })

  it('a paste anywhere in a half-typed line sends exactly what the screen shows: at its start (Home, ESC[1~, Ctrl+A), in its middle, bracketed, CJK', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    // The prompt itself: keys typed before readline's raw mode would go through the line discipline.
    await pty.waitForScreen(/type \/help for commands\n>/, 20_000)
    const HOME = '\x1b[H'
    const LEFT2 = '\x1b[D\x1b[D'
    const cases: [string[], string][] = [
      [['abc', HOME, 'XYZ'], 'XYZabc'],
      [['def', '\x1b[1~', 'UVW'], 'UVWdef'],
      [['ghi', '\x01', 'RST'], 'RSTghi'],
      [['jkl', LEFT2, 'XYZ'], 'jXYZkl'],
      [['mno', HOME, '\x1b[200~PQ R\x1b[201~'], 'PQ Rmno'],
      [['pqr', LEFT2, '日本語'], 'p日本語qr'],
      [['stu', HOME + 'NOP'], 'NOPstu']
    ]
    for (const [writes, expected] of cases) {
      // Each is one write, as a terminal sends a key or a paste; the next waits until it is drawn.
      for (const w of writes) {
        pty.type(w)
        await pty.waitUntilQuiet(150)
      }
      expect(await pty.cursorRow(), JSON.stringify(writes)).toBe(`> ${expected}`)
      pty.type('\r')
      await listener.waitFor(`] ${expected}\n`, 'stdout')
      await pty.waitForScreen(`you: ${expected} ✓`)
    }
    // Nothing else was sent: exactly the lines shown, in order.
    expect(listener.stdout.split('\n').filter((l) => l).map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual(cases.map(([, e]) => e))
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  }, 60_000)

  it('never lets a peer drive the terminal: escapes, bell, bidi and bad UTF-8 are shown, not obeyed', async () => {
    const { pty, key } = await ptyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    await pty.waitForScreen('joined')
    const before = (await pty.screen()).join('\n')
    // clear screen + home, bell, OSC 52 clipboard write, RTL override, invalid UTF-8
    client.write(Buffer.concat([Buffer.from('a\x1b[2J\x1b[Hb\x07c\x1b]52;c;aGk=\x07d\u202ee'), Buffer.from([0xff, 0x0a])]))
    const rows = await pty.waitForScreen('␛[2J␛[Hb␇c␛]52;c;aGk=␇d⟨U+202E⟩e\ufffd')
    // The screen was not cleared: what was there before is still there.
    expect(rows.join('\n')).toContain(before.split('\n').find((l) => l.includes('listening on'))!)
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })

  it('/send-to reaches only the chosen peer', async () => {
    const { pty, key } = await ptyListener()
    const a = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    const b = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await Promise.all([a.waitFor('connected to'), b.waitFor('connected to')])
    await pty.waitForScreen(/joined[^]*joined/)
    a.write('i am a\n')
    const rows = await pty.waitForScreen('i am a')
    const shortA = /([0-9a-f]{8}): i am a/.exec(rows.join('\n'))![1]!
    pty.type(`/send-to ${shortA} only for a\r`)
    await a.waitFor('only for a\n', 'stdout')
    pty.type('for everyone\r')
    await b.waitFor('for everyone\n', 'stdout')
    expect(b.stdout).not.toContain('only for a')
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })

  it('connect shows its stages, then "connected", and Ctrl+C leaves with 0', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await pty.waitForScreen(`connected to ${key}`)
    pty.type('hi from a terminal\r')
    await listener.waitFor(/\] hi from a terminal\n/, 'stdout')
    pty.type('\x03')
    expect((await pty.exit()).code).toBe(0)
  })

  it('a failed connect clears the spinner and says the one error line, as in every mode (issue 19 point 12)', async () => {
    const pty = new PtyProc(['connect', 'b'.repeat(64), '--bootstrap', net.flag], tempHome().env)
    expect((await pty.exit()).code).toBe(4)
    const lines = (await pty.lines()).filter((l) => l.trim() !== '')
    expect(lines.at(-1)).toMatch(/^p2pchat: peer not found: nobody is listening on that key/)
    // No spinner frame, ✖ or `error:` left over: the line is all there is of the failure.
    expect(lines.join('\n')).not.toMatch(/✖|^error:|[\u2800-\u28ff]|\n\s+at /m)
    expect(lines.filter((l) => l.includes('peer not found'))).toHaveLength(1)
  })

  it('an error once the prompt is up is the same one line, the prompt taken away first (issue 19 point 12)', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await pty.waitForScreen('type /help for commands', 20_000)
    // The listener vanishes: the dead-path rule ends the connection (exit 8) within seconds.
    listener.kill('SIGKILL')
    pty.type('anyone?\r')
    expect((await pty.exit(20_000)).code).toBe(8)
    const lines = (await pty.lines()).filter((l) => l.trim() !== '')
    expect(lines.at(-1)).toMatch(/^p2pchat: connection lost: /)
    expect(lines.join('\n')).not.toMatch(/✖|^error:|^> /m)
  })

  it('a slow stage says what it is waiting for', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    listener.kill('SIGSTOP')
    try {
      const pty = new PtyProc(['connect', key, '--bootstrap', net.flag, '--timeout', '8'], tempHome().env)
      await pty.waitForScreen('looking up the key, hole punching')
      await pty.waitForScreen('still connecting: looking up the key and hole punching (is the peer online', 10_000)
      await pty.waitForScreen(/^p2pchat: timed out after 8 s/m, 10_000)
      expect((await pty.exit()).code).toBe(7)
    } finally {
      listener.kill('SIGCONT')
    }
  })

  it('--timestamps prefixes messages with the time', async () => {
    const { pty, key } = await ptyListener(['--timestamps'])
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    client.end('what time is it\n')
    await pty.waitForScreen(/\[\d\d:\d\d:\d\d\] [0-9a-f]{8}: what time is it/)
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })

  it('listen --qr draws the key as a QR code', async () => {
    const { pty } = await ptyListener(['--qr'])
    await pty.waitForScreen('scan to get the key')
    const qrRowsOf = (rows: string[]) => rows.filter((r) => /^[ █▀▄]{20,}$/.test(r.trim()) && /[█▀▄]/.test(r))
    // The code follows the notice as a block of its own.
    const deadline = Date.now() + 10_000
    while (qrRowsOf(await pty.screen()).length <= 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(qrRowsOf(await pty.screen()).length).toBeGreaterThan(10)
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })
})
