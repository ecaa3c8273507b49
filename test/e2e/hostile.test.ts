import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { hostilePeer } from '../helpers/hostile.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener, type Proc } from '../helpers/proc.js'

// Each case: a raw hyperdht peer misbehaves; the listener must say what
// happened, stay up, and go on serving an ordinary peer.

const net = useTestNetwork()

const listener = (extra: string[] = [], env = tempHome().env) => startListener(net.flag, extra, env)

/** An ordinary peer sends a line; it must reach the listener within a second. */
async function assertServing(proc: Proc, key: string, label = 'still serving'): Promise<number> {
  const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
  await client.waitFor('connected to')
  const sent = Date.now()
  client.write(`${label}\n`)
  await proc.waitFor(`] ${label}\n`, 'stdout')
  const latency = Date.now() - sent
  expect(latency).toBeLessThan(1000)
  client.end()
  expect((await client.exit()).code).toBe(0)
  expect(proc.child.exitCode).toBeNull()
  return latency
}

describe('hostile peers', () => {
  it('flood: over-limit lines are dropped with a notice, the flooder is disconnected after the grace period, others keep sub-second latency', async () => {
    const { proc, key } = await listener(['--rate-lines', '100', '--flood-grace', '3'])
    const flooder = hostilePeer(net.flag, key, ['flood'])
    await proc.waitFor(/is sending too fast: over its rate limit, \d+ lines? dropped/)
    await assertServing(proc, key, 'during the flood')
    await proc.waitFor(/left \(disconnected for flooding/, 'stderr', 10_000)
    await flooder.waitFor('closed')
    await assertServing(proc, key)
  })

  it('a 10 MB line is cut to 64 KiB with a notice', async () => {
    const { proc, key } = await listener()
    hostilePeer(net.flag, key, ['bigline', String(10 * 1024 * 1024)])
    await proc.waitFor(/line too long: kept the first 65536 bytes, dropped 10420224/, 'stderr', 20_000)
    await proc.waitFor('] after the big line\n', 'stdout')
    await assertServing(proc, key)
  })

  it.each([
    ['CSI clear screen', '\x1b[2J\x1b[Hgotcha', '␛[2J␛[Hgotcha'],
    ['OSC 52 clipboard write', '\x1b]52;c;cm0gLXJmIH4=\x07', '␛]52;c;cm0gLXJmIH4=␇'],
    ['OSC 8 hyperlink', '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\', '␛]8;;https://evil.example␛\\click␛]8;;␛\\'],
    ['bell and backspaces', 'ding\x07\x08\x08\x08', 'ding␇␈␈␈'],
    ['C1 8-bit CSI', 'a\u009b31mb', 'a⟨U+009B⟩31mb'],
    ['bidi override', 'invoice\u202egnp.exe', 'invoice⟨U+202E⟩gnp.exe'],
    ['NUL bytes', 'nul\x00in\x00line', 'nul␀in␀line'],
    ['carriage return overwrite', 'safe text\rEVIL', 'safe text␍EVIL'],
    // The \r that ends a line (CRLF) is not shown; a second one is.
    ['a line ending in CR CR LF', 'windows\r\r', 'windows␍']
  ])('%s is made visible with --sanitize, and the raw bytes are kept without it', async (_, payload, visible) => {
    const plain = await listener()
    const sanitized = await listener(['--sanitize'])
    for (const { proc, key } of [plain, sanitized]) {
      const peer = hostilePeer(net.flag, key, ['stdin'])
      await peer.waitFor('open')
      peer.write(payload + '\n')
    }
    await sanitized.proc.waitFor(`] ${visible}\n`, 'stdout')
    await plain.proc.waitFor(/\n/, 'stdout')
    expect(Buffer.concat(plain.proc.stdoutBytes).toString('utf8')).toMatch(new RegExp(`^\\[[0-9a-f]{8}\\] ${escapeRegExp(payload)}\\n$`))
    await assertServing(sanitized.proc, sanitized.key)
  })

  it('invalid UTF-8 becomes U+FFFD in --json', async () => {
    const proc = p2pchat(['listen', '--json', '--bootstrap', net.flag], tempHome().env)
    const key = (await proc.waitFor(/"publicKey":"([0-9a-f]{64})"/, 'stdout'))[1]!
    const peer = hostilePeer(net.flag, key, ['stdin'])
    await peer.waitFor('open')
    peer.write(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0xc3, 0x28, 0x0a]))
    await proc.waitFor('"type":"message"', 'stdout')
    const msg = proc.stdout.split('\n').map((l) => (l ? JSON.parse(l) : null)).find((e) => e?.type === 'message')
    expect(msg.text).toBe('bad\ufffd\ufffd\ufffd(')
  })

  it('binary garbage (64 KiB of random bytes) is survived', async () => {
    const { proc, key } = await listener()
    const peer = hostilePeer(net.flag, key, ['stdin'])
    await peer.waitFor('open')
    const garbage = Buffer.alloc(64 * 1024)
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 2654435761) >>> 24
    peer.write(garbage)
    peer.write('\nend of garbage\n')
    await proc.waitFor('] end of garbage\n', 'stdout')
    await assertServing(proc, key)
  })

  it('a silent peer stays connected and harms nobody', async () => {
    const { proc, key } = await listener()
    const silent = hostilePeer(net.flag, key, ['silent'])
    await silent.waitFor('open')
    await proc.waitFor('joined')
    await new Promise((r) => setTimeout(r, 3000))
    expect(proc.stderr).not.toContain('left')
    await assertServing(proc, key)
    expect(silent.child.exitCode).toBeNull()
  })

  it('a half-closing peer: its last line arrives and it is shown as gone', async () => {
    const { proc, key } = await listener()
    const peer = hostilePeer(net.flag, key, ['stdin'])
    await peer.waitFor('open')
    peer.end('goodbye without newline')
    await proc.waitFor('] goodbye without newline\n', 'stdout')
    await proc.waitFor(/[0-9a-f]{8} left\n/)
    await peer.waitFor('closed')
    await assertServing(proc, key)
  })

  it('a peer killed with SIGKILL is noticed within the keep-alive window: the unacknowledged keep-alive is the dead path', async () => {
    const { proc, key } = await listener()
    const peer = hostilePeer(net.flag, key, ['silent'])
    await peer.waitFor('open')
    await proc.waitFor('joined')
    const killedAt = Date.now()
    peer.kill('SIGKILL')
    // The next keep-alive (every 5 s) goes unacknowledged: dead after 3 s more, before the 12 s idle limit.
    await proc.waitFor(/left \(connection lost: the peer acknowledged nothing for/, 'stderr', 20_000)
    expect(Date.now() - killedAt).toBeLessThan(12_000)
    await assertServing(proc, key)
  }, 40_000)

  it('1 000 connects in a row: every one comes and goes, and the listener still serves', async () => {
    const { proc, key } = await listener()
    const churn = hostilePeer(net.flag, key, ['churn', '1000', '20'])
    const m = await churn.waitFor(/churned (\d+) (\d+)/, 'stderr', 60_000)
    expect(Number(m[1])).toBe(1000)
    await assertServing(proc, key)
    const count = (word: string) => proc.stderr.split(word).length - 1
    const joined = count(' joined (')
    expect(joined).toBeGreaterThanOrEqual(1001)
    await proc.waitUntil(() => count(' left') >= joined, 'every peer to be shown as left', 20_000)
  }, 90_000)

  it('a peer asking to be relayed through the listener itself is refused at once: the listener never dials itself, never joins its own room', async () => {
    const { proc, key } = await listener()
    const peer = hostilePeer(net.flag, key, ['--relay-through', key, 'stdin'])
    await proc.waitFor(/refused [0-9a-f]{8} \([0-9a-f]{64}\) at \S+: it asked to be relayed through this listener itself, through its own key or through a member \(chat keys are never relays\); refused so far: 1\n/)
    // Answered with an error, not silence.
    await peer.waitFor(/error \S+/)
    expect(peer.stderr).not.toContain('open')
    expect(proc.stderr).not.toContain(`joined (${key})`)
    expect(proc.stderr).not.toContain(' joined (')
    await assertServing(proc, key)
    expect(proc.stderr).not.toContain(`joined (${key})`)
  })

  it('a peer that never reads does not delay the others', async () => {
    const { proc, key } = await listener()
    const stuck = hostilePeer(net.flag, key, ['stdin', '--no-read'])
    await stuck.waitFor('open')
    const talker = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await talker.waitFor('connected to')
    // 4 MB forwarded towards the stuck peer.
    const line = 'z'.repeat(1000)
    for (let i = 0; i < 4000; i++) proc.write(`${line}\n`)
    // After the room's greeting line.
    await talker.waitUntil(() => talker.stdout.length - talker.stdout.indexOf('\n') - 1 >= 4000 * 1001, '4000 forwarded lines', 20_000)
    expect(talker.stdout).toMatch(/^\* in the room: [0-9a-f]{8} \(1 other\)\n/)
    expect(talker.stdout.replace(/^.*\n/, '')).toBe(`${line}\n`.repeat(4000))
    await assertServing(proc, key)
  })
})

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
