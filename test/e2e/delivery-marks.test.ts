import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

// In a terminal, each of our lines ends with a mark: · until the peer's
// transport acknowledged it, then ✓, rewritten in place; ✗ when it was
// reported not delivered.

const net = useTestNetwork()

/** Braille spinner frames (ora's "dots"): a spinner drew something. */
const SPINNER_FRAME = /[\u2800-\u28ff]/

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The screen line that holds `text`, or undefined. */
async function lineWith(pty: PtyProc, text: string): Promise<string | undefined> {
  return (await pty.lines()).find((l) => l.includes(text))
}

describe('delivery marks in a terminal', () => {
  it('connect: a line shows · while the listener is frozen and turns ✓ in place once acknowledged, also after a repaint', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await pty.waitForScreen('type /help for commands', 20_000)

    pty.type('hello\r')
    await listener.waitFor('] hello\n', 'stdout')
    await pty.waitForScreen('you: hello ✓')

    // Frozen for about a second (well under the 3 s after which a path
    // without a sign of life while data waits is declared dead).
    const long = 'wrapping ' + 'z'.repeat(100) // two rows: the mark is on the second
    listener.kill('SIGSTOP')
    try {
      pty.type('while frozen\r')
      pty.type(`${long}\r`)
      await pty.waitForLine(`you: ${long} ·`)
      await sleep(800)
      expect(await lineWith(pty, 'while frozen')).toBe('you: while frozen ·')
      expect(await lineWith(pty, long)).toBe(`you: ${long} ·`)
    } finally {
      listener.kill('SIGCONT')
    }
    await listener.waitFor(`] ${long}\n`, 'stdout')
    await pty.waitForLine(`you: ${long} ✓`)
    await pty.waitUntilQuiet()
    // Rewritten in place: one line each, the cursor back after the prompt.
    expect((await pty.lines()).filter((l) => l.includes('while frozen') || l.includes('wrapping'))).toEqual(['you: while frozen ✓', `you: ${long} ✓`])
    expect(await pty.cursorRow()).toBe('> ')
    expect(pty.term.buffer.active.cursorX).toBe(2)

    // A repaint (a resize with a half-typed line that wraps) shows the current
    // marks, and a mark that changes after it is rewritten where it now is.
    listener.kill('SIGSTOP')
    const half = 'w'.repeat(70) // wraps at 60 columns, not at 100
    try {
      pty.type('before the resize\r')
      await pty.waitForScreen('you: before the resize ·')
      pty.type(half)
      await pty.waitForScreen(`> ${half}`)
      const before = pty.bytes().length
      await pty.resize(60, 30)
      await pty.waitUntil(() => pty.bytes().length > before, 'a repaint at 60 columns')
      await pty.waitUntilQuiet(200)
      expect(await lineWith(pty, 'before the resize')).toBe('you: before the resize ·')
    } finally {
      listener.kill('SIGCONT')
    }
    await listener.waitFor('] before the resize\n', 'stdout')
    await pty.waitForScreen('you: before the resize ✓')
    await pty.waitUntilQuiet()
    const lines = await pty.lines()
    expect(lines).toContain('you: hello ✓')
    expect(lines).toContain('you: while frozen ✓')
    expect(lines.filter((l) => l.includes('before the resize'))).toEqual(['you: before the resize ✓'])
    expect(lines.filter((l) => l.startsWith('> '))).toEqual([`> ${half}`])
    expect(pty.term.buffer.active.cursorX).toBe((2 + half.length) % 60)
    // Nothing to report: every line was acknowledged.
    expect(lines.join('\n')).not.toContain('not yet delivered')

    pty.type('\x15/quit\r') // Ctrl+U clears the half line
    expect((await pty.exit()).code).toBe(0)
  }, 60_000)

  it('a terminal nobody sized (0 columns) gets its marks too', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env, { size: null })
    await pty.waitForScreen('type /help for commands', 20_000)
    pty.type('hello from nowhere\r')
    await listener.waitFor('] hello from nowhere\n', 'stdout')
    await pty.waitForScreen('you: hello from nowhere ✓')
    await pty.waitUntilQuiet()
    expect(await pty.cursorRow()).toBe('> ')
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  })

  it('lines with a flag, a ZWJ family, CJK, combining marks, emoji: each shows exactly one mark, at its end, · then ✓, whatever width the terminal gives them', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await pty.waitForScreen(/type \/help for commands\n>/, 20_000)
    // xterm.js (this screen) draws 🇫🇷 2 columns wide, 👨‍👩‍👧 3, 😀 1: other widths than string-width's (2, 2, 2), as many terminals do.
    const texts = ['flag 🇫🇷 fr', 'family 👨‍👩‍👧 here', '日本語 cjk', 'cafe\u0301 combining', 'mixed 😀 and 👍🏽 and 1️⃣ end', 'long ' + 'y'.repeat(90) + ' 🇫🇷 wraps']
    const showAll = async (mark: string) => {
      for (const t of texts) await pty.waitForLine(`you: ${t} ${mark}`)
      await pty.waitUntilQuiet()
      const lines = await pty.lines()
      for (const t of texts) expect(lines.filter((l) => l.includes(t.slice(0, 8))), t).toEqual([`you: ${t} ${mark}`])
    }
    // Frozen: every line is printed with · first, and turns ✓ in place later.
    listener.kill('SIGSTOP')
    try {
      for (const t of texts) pty.type(`${t}\r`)
      await showAll('·')
    } finally {
      listener.kill('SIGCONT')
    }
    const before = pty.bytes().length
    for (const t of texts) await listener.waitFor(`] ${t}\n`, 'stdout')
    await showAll('✓')
    expect((await pty.lines()).join('\n')).not.toContain('·')
    // In place: no repaint of the screen was needed for these.
    expect(pty.bytes().subarray(before).includes('\x1b[H\x1b[J')).toBe(false)
    expect(await pty.cursorRow()).toBe('> ')

    // A line whose row count terminals disagree on (with its mark, 100 columns here: one row; 101 or more in others):
    // where the lines above it are is not known any more, so their marks are redrawn with them (a repaint), never guessed.
    const edge = 'edge ' + 'z'.repeat(83) + ' 🇫🇷 x'
    const edgeAt = pty.bytes().length
    listener.kill('SIGSTOP')
    try {
      pty.type('above the edge\r')
      pty.type(`${edge}\r`)
      await pty.waitForLine(`you: ${edge} ·`)
      await pty.waitForLine('you: above the edge ·')
    } finally {
      listener.kill('SIGCONT')
    }
    await listener.waitFor(`] ${edge}\n`, 'stdout')
    await pty.waitForLine(`you: ${edge} ✓`)
    await pty.waitForLine('you: above the edge ✓')
    await pty.waitUntilQuiet()
    const lines = await pty.lines()
    expect(lines.join('\n')).not.toContain('·')
    expect(lines.filter((l) => l.startsWith('you: ')).every((l) => l.endsWith(' ✓') && l.indexOf('✓') === l.length - 1)).toBe(true)
    expect(lines.filter((l) => l.includes('zzzz'))).toEqual([`you: ${edge} ✓`])
    expect(pty.bytes().subarray(edgeAt).includes('\x1b[H\x1b[J')).toBe(true)
    expect(await pty.cursorRow()).toBe('> ')
    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  }, 60_000)

  it('connect --reconnect: a line typed while the listener is dead stays ·, reaches the restarted listener and turns ✓; the reconnect shows its path and leaves the prompt as it was', async () => {
    const home = tempHome().env
    const first = p2pchat(['listen', '--bootstrap', net.flag], home)
    const key = (await first.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag, '--reconnect'], tempHome().env)
    await pty.waitForScreen('type /help for commands', 20_000)
    pty.type('before\r')
    await first.waitFor('] before\n', 'stdout')
    await pty.waitForScreen('you: before ✓')

    first.kill('SIGKILL')
    await first.exit()
    // Typed while the listener is dead but not yet known to be.
    pty.type('into the dead path\r')
    await pty.waitForScreen('you: into the dead path ·')
    await pty.waitForLine(/connection lost.*; reconnecting/, 30_000)
    const lostAt = pty.bytes().length
    pty.type('while away\r')
    await pty.waitForScreen('you (queued): while away ·')
    pty.type('half ')
    await pty.waitForScreen('> half ')

    const second = p2pchat(['listen', '--bootstrap', net.flag], home)
    await second.waitFor(`listening on ${key}`)
    await second.waitFor('] while away\n', 'stdout', 40_000)
    // Kept in the outbox and sent again first, in order.
    expect(second.stdout.indexOf('] into the dead path\n')).toBeGreaterThanOrEqual(0)
    expect(second.stdout.indexOf('] into the dead path\n')).toBeLessThan(second.stdout.indexOf('] while away\n'))
    await pty.waitForLine(new RegExp(`✔ reconnected to ${key} \\(direct, 127\\.0\\.0\\.1:\\d+, rtt (<1|\\d+) ms\\)`), 20_000)
    await pty.waitForScreen('you (queued): while away ✓')
    await pty.waitForScreen('you: into the dead path ✓')
    await pty.waitUntilQuiet()

    // Connected again as after the first connect: no spinner drawn since the
    // loss, stages were notices above the prompt, the half-typed line intact.
    expect(pty.bytes().subarray(lostAt).toString('utf8')).not.toMatch(SPINNER_FRAME)
    expect(await pty.cursorRow()).toBe('> half ')
    expect((await pty.lines()).filter((l) => l.startsWith('> '))).toEqual(['> half '])
    pty.type('typed after\r')
    await second.waitFor('] half typed after\n', 'stdout')
    await pty.waitForScreen('you: half typed after ✓')

    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  }, 90_000)

  it('listen: ✓ once every peer it went to acknowledged it (room lines and /send-to); ◒ for a room line one member never acknowledged, named in a notice; ✗ for a line that went to that member alone', async () => {
    const pty = new PtyProc(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = /listening on ([0-9a-f]{64})/.exec((await pty.waitForScreen(/listening on [0-9a-f]{64}/, 20_000)).join('\n'))![1]!
    await pty.waitForScreen('type /help for commands')
    const alice = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    const bob = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await alice.waitFor(`connected to ${key}`)
    await bob.waitFor(`connected to ${key}`)
    await pty.waitUntil(() => (pty.stdout.match(/joined/g) ?? []).length >= 2, 'two peers joined')
    alice.write('i am alice\n')
    bob.write('i am bob\n')
    const aliceName = /([0-9a-f]{8}): i am alice/.exec((await pty.waitForScreen(/[0-9a-f]{8}: i am alice/)).join('\n'))![1]!
    const bobName = /([0-9a-f]{8}): i am bob/.exec((await pty.waitForScreen(/[0-9a-f]{8}: i am bob/)).join('\n'))![1]!

    pty.type('to the room\r')
    await alice.waitFor('to the room\n', 'stdout')
    await bob.waitFor('to the room\n', 'stdout')
    await pty.waitForScreen('you: to the room ✓')

    // Alice vanishes before acknowledging: a room line reaches Bob only, a /send-to line nobody.
    alice.kill('SIGKILL')
    await alice.exit()
    pty.type('alice is gone\r')
    await bob.waitFor('alice is gone\n', 'stdout')
    pty.type(`/send-to ${aliceName} only for alice\r`)
    await pty.waitForScreen('you: alice is gone ·')
    await pty.waitForScreen(`you → ${aliceName}: only for alice ·`)
    await pty.waitForLine(new RegExp(`not delivered to ${aliceName}: 2 lines \\(#2 "alice is gone", #3 "only for alice"\\)`), 20_000)
    await pty.waitForScreen(`you → ${aliceName}: only for alice ✗`)
    await pty.waitForScreen('you: alice is gone ◒')
    await pty.waitUntilQuiet()
    const lines = await pty.lines()
    expect(lines).toContain('you: to the room ✓')
    expect(lines).toContain('you: alice is gone ◒')
    expect(lines.join('\n')).not.toContain('you: alice is gone ✗')

    pty.type(`/send-to ${bobName} just for you\r`)
    await bob.waitFor('just for you\n', 'stdout')
    await pty.waitForScreen(`you → ${bobName}: just for you ✓`)

    pty.type('/quit\r')
    expect((await pty.exit()).code).toBe(0)
  }, 60_000)

  it('a half-typed line is never dropped silently: the listener of a connect is killed, or a listener is stopped, while a line is typed but not entered', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const pty = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await pty.waitForScreen('type /help for commands', 20_000)
    pty.type('half typed, not entered')
    await pty.waitForScreen('> half typed, not entered')
    // Killed: the connection is lost (noticed by keep-alives), and without --reconnect the prompt goes.
    listener.kill('SIGKILL')
    await pty.waitForScreen('* not sent (you were typing): "half typed, not entered"', 20_000)
    expect((await pty.exit()).code).toBe(8)
    expect((await pty.screen()).filter((r) => r.startsWith('>'))).toEqual([])

    // A listener stopped (Ctrl+C) with a line half typed, longer than the notice quotes.
    const room = new PtyProc(['listen', '--bootstrap', net.flag], tempHome().env)
    await room.waitForScreen('type /help for commands', 20_000)
    const long = 'a long line ' + 'x'.repeat(80)
    room.type(long)
    await room.waitForLine(`> ${long}`)
    room.type('\x03')
    await room.waitForScreen(`* not sent (you were typing): "${long.slice(0, 59)}…"`)
    expect((await room.exit()).code).toBe(0)
  }, 60_000)
})
