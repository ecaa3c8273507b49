import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_LINE_BYTES, completeUtf8Length } from '../../src/core/peer/framing.js'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, rawPeer, startListener, type Proc } from '../helpers/proc.js'
import { seeded } from '../helpers/splits.js'

const net = useTestNetwork()

const HOSTILE = Buffer.concat([Buffer.from('x\x1b[31mred\x1b]8;;http://evil\x07link\x1b]8;;\x07\x07\u202eabc'), Buffer.from([0xc3, 0x28, 0x00]), Buffer.from('\n')])

async function rawListener(): Promise<{ raw: Proc; key: string }> {
  const raw = rawPeer(['listen', net.flag])
  const m = await raw.waitFor(/listening ([0-9a-f]{64})/)
  return { raw, key: m[1]! }
}

type Event = Record<string, unknown> & { type: string; time: string }

function events(proc: Proc): Event[] {
  return proc.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Event)
}

async function waitForEvent(proc: Proc, type: string, match: (e: Event) => boolean = () => true): Promise<Event> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const found = events(proc).find((e) => e.type === type && match(e))
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no ${type} event in:\n${proc.stdout}\n${proc.stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('pipe mode', () => {
  it('connect > file captures exactly the bytes the peer sent; notices go to stderr', async () => {
    const { raw, key } = await rawListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    raw.write(HOSTILE)
    raw.write('second line\n')
    await client.waitFor('second line\n', 'stdout')
    expect(Buffer.concat(client.stdoutBytes).equals(Buffer.concat([HOSTILE, Buffer.from('second line\n')]))).toBe(true)
    expect(client.stderr).toContain('connected to')
    expect(client.stderr).not.toMatch(/\x1b/) // NO_COLOR in tests: plain notices
    client.end()
    expect((await client.exit()).code).toBe(0)
  })

  it('lines piped into a room that everyone left are reported, counted, a few notices at most', async () => {
    const { proc, key } = await startListener(net.flag, [], tempHome().env)
    // Before the first peer, piped lines wait for it (see below): here the room was joined and left.
    const peer = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await peer.waitFor(`connected to ${key}`)
    peer.end()
    expect((await peer.exit()).code).toBe(0)
    await proc.waitFor(/left/)
    // 40 chunks over ~1.2 s: one notice per chunk would be 40 notices.
    for (let i = 0; i < 40; i++) {
      proc.write(`line ${i}\n`)
      await new Promise((r) => setTimeout(r, 30))
    }
    proc.end()
    const counted = () =>
      [...proc.stderr.matchAll(/no peers connected: (?:(\d+) lines|line) not sent/g)].reduce((n, m) => n + (m[1] ? Number(m[1]) : 1), 0)
    await proc.waitUntil(() => counted() === 40, 'all 40 lines reported as not sent')
    expect(proc.stderr.match(/not sent/g)!.length).toBeLessThanOrEqual(3)
  })

  it('lines piped into a listener before anyone joined wait for the first peer, as with nc -l (seq 1 50 | p2pchat listen)', async () => {
    const { proc, key } = await startListener(net.flag, [], tempHome().env)
    proc.end(Array.from({ length: 50 }, (_, i) => `${i + 1}\n`).join(''))
    await proc.waitFor('no peer has joined yet: piped lines wait for the first one')
    // Input has ended, and the listener keeps serving: the first peer gets every line, in order.
    await new Promise((r) => setTimeout(r, 500))
    const peer = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await peer.waitUntil(() => peer.stdout.split('\n').includes('50'), 'the 50th line at the first peer')
    expect(peer.stdout).toBe(Array.from({ length: 50 }, (_, i) => `${i + 1}\n`).join(''))
    expect(proc.stderr).not.toMatch(/not sent/)
    peer.end()
    expect((await peer.exit()).code).toBe(0)
  })

  it('lines held for a first peer that never came are named when the listener stops, never dropped silently', async () => {
    const { proc } = await startListener(net.flag, [], tempHome().env)
    proc.write('one\ntwo\nthree\n')
    await proc.waitFor('no peer has joined yet: piped lines wait for the first one')
    proc.kill('SIGINT')
    expect((await proc.exit()).code).toBe(0)
    expect(proc.stderr).toMatch(/no peer joined: 3 lines \(#1 "one", #2 "two", #3 "three"\) not sent/)
  })

  it('--sanitize makes control characters visible in pipe mode', async () => {
    const { raw, key } = await rawListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag, '--sanitize'], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    raw.write(HOSTILE)
    await client.waitFor('\n', 'stdout')
    expect(client.stdout).toBe('x␛[31mred␛]8;;http://evil␇link␛]8;;␇␇⟨U+202E⟩abc\ufffd(␀\n')
    client.end()
  })

  it('a piped listener prefixes each line with the sender and keeps the bytes', async () => {
    const listener = p2pchat(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = (await listener.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const raw = rawPeer(['connect', net.flag, key])
    await raw.waitFor('open')
    const short = (await listener.waitFor(/([0-9a-f]{8}) joined/))[1]!
    raw.write(HOSTILE)
    await listener.waitFor(/\n/, 'stdout')
    expect(Buffer.concat(listener.stdoutBytes).equals(Buffer.concat([Buffer.from(`[${short}] `), HOSTILE]))).toBe(true)
  })

  it('colour: none when piped, FORCE_COLOR forces it, --no-color wins over FORCE_COLOR', async () => {
    const { env } = tempHome()
    const forced = p2pchat(['connect', 'a'.repeat(64), '--bootstrap', net.flag], { ...env, NO_COLOR: '', FORCE_COLOR: '1' })
    forced.end()
    await forced.exit(20_000)
    expect(forced.stderr).toMatch(/\x1b\[/)
    const off = p2pchat(['--no-color', 'connect', 'a'.repeat(64), '--bootstrap', net.flag], { ...env, NO_COLOR: '', FORCE_COLOR: '1' })
    off.end()
    await off.exit(20_000)
    expect(off.stderr).not.toMatch(/\x1b\[/)
    const plain = p2pchat(['connect', 'a'.repeat(64), '--bootstrap', net.flag], { ...env, NO_COLOR: '', FORCE_COLOR: '' })
    plain.end()
    await plain.exit(20_000)
    expect(plain.stderr).not.toMatch(/\x1b\[/)
  })
})

/** 256 KiB of random bytes, with CRLF, lone CRs and CR CR LF planted (a CR just before a LF is otherwise rare). */
function randomLines(seed: number, extra: Buffer[] = []): Buffer {
  const data = randomBytes(256 * 1024)
  const random = seeded(seed)
  for (let n = 0; n < 600; n++) {
    const at = Math.floor(random() * (data.length - 3))
    const kind = Math.floor(random() * 3)
    if (kind === 0) data.set([0x0d, 0x0a], at)
    else if (kind === 1) data[at] = 0x0d
    else data.set([0x0d, 0x0d, 0x0a], at)
  }
  return Buffer.concat([data, ...extra])
}

/** The lines of `data` by the wire's rule: every byte before each \n (a \r too), cut at the length limit. */
function wireLines(data: Buffer): Buffer[] {
  const out: Buffer[] = []
  let start = 0
  for (;;) {
    const nl = data.indexOf(0x0a, start)
    const line = data.subarray(start, nl === -1 ? data.length : nl)
    if (nl === -1 && line.length === 0) break
    out.push(line.length <= DEFAULT_MAX_LINE_BYTES ? line : line.subarray(0, completeUtf8Length(line.subarray(0, DEFAULT_MAX_LINE_BYTES))))
    if (nl === -1) break
    start = nl + 1
  }
  return out
}

/** Writes `data` in chunks of random sizes, now and then after a pause: the reader sees other boundaries each run. */
async function writeInPieces(proc: Proc, data: Buffer, seed: number): Promise<void> {
  const random = seeded(seed)
  for (let at = 0; at < data.length; ) {
    const n = 1 + Math.floor(random() * 6000)
    proc.write(data.subarray(at, at + n))
    at += n
    if (random() < 0.1) await new Promise((r) => setTimeout(r, 5))
  }
}

const firstDifference = (a: Buffer, b: Buffer) => {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return `lengths ${a.length} and ${b.length}, first difference at byte ${i}: …${a.subarray(Math.max(0, i - 8), i + 8).toString('hex')} vs …${b.subarray(Math.max(0, i - 8), i + 8).toString('hex')}`
}

describe('pipe mode: bytes pass exactly, whatever the packets (issue 19, point 18)', () => {
  it('256 KiB of random bytes, CRs included, both ways between connect and a piped listener', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    const short = (await listener.waitFor(/([0-9a-f]{8}) joined/))[1]!

    // Listener's stdin → connect's stdout: exactly the bytes typed, nothing added or lost.
    const down = randomLines(1, [Buffer.from('\r\nend of the way down\r\n')])
    await writeInPieces(listener, down, 2)
    await client.waitUntil(() => client.stdout.endsWith('end of the way down\r\n') || client.stdout.endsWith('end of the way down\n'), "the last line on connect's stdout", 30_000)
    const gotDown = Buffer.concat(client.stdoutBytes)
    expect(gotDown.equals(down), firstDifference(gotDown, down)).toBe(true)

    // connect's stdin → the listener's stdout: each line as sent, after its sender. A line
    // over the limit (ending in CR LF), and a last line that ends in CR without LF.
    const up = randomLines(3, [Buffer.from('\n' + 'z'.repeat(DEFAULT_MAX_LINE_BYTES) + '\r\n'), Buffer.from('tail\r')])
    const expected = Buffer.concat(wireLines(up).flatMap((line) => [Buffer.from(`[${short}] `), line, Buffer.from('\n')]))
    await writeInPieces(client, up, 4)
    client.end()
    expect((await client.exit(30_000)).code).toBe(0)
    await listener.waitUntil(() => /\] tail\r?\n$/.test(listener.stdout), "the last line on the listener's stdout", 30_000)
    const gotUp = Buffer.concat(listener.stdoutBytes)
    expect(gotUp.equals(expected), firstDifference(gotUp, expected)).toBe(true)
    expect(client.stderr).toContain(`line too long: sent the first ${DEFAULT_MAX_LINE_BYTES} bytes, dropped 1`)
  }, 90_000)
})

describe('--json', () => {
  it('listen and connect emit one parseable event per line with stable fields', async () => {
    const listener = p2pchat(['listen', '--json', '--bootstrap', net.flag], tempHome().env)
    const ready = await waitForEvent(listener, 'ready')
    const key = ready.publicKey as string
    expect(key).toMatch(/^[0-9a-f]{64}$/)
    expect(ready.z32).toMatch(/^[a-z0-9]{52}$/)

    const client = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    const connected = await waitForEvent(client, 'connected')
    expect(connected.remoteKey).toBe(key)
    expect(connected.address).toMatch(/^127\.0\.0\.1:\d+$/)

    const joined = await waitForEvent(listener, 'peer-joined')
    expect(joined.key).toMatch(/^[0-9a-f]{64}$/)
    // The same peer fields in both events: the path indicator, whole.
    for (const [event, peerKey] of [[connected, key], [joined, joined.key]] as const) {
      expect(event).toMatchObject({ key: peerKey, name: (peerKey as string).slice(0, 8), path: 'direct', relay: null })
      expect(event.address).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(typeof event.rttMs).toBe('number')
    }
    expect(connected.reconnect).toBe(false)

    client.write('hello "json" \\ world\n')
    const msg = await waitForEvent(listener, 'message')
    expect(msg).toMatchObject({ from: joined.key, text: 'hello "json" \\ world' })
    expect(Date.parse(msg.time)).not.toBeNaN()

    listener.write('back at you\n')
    expect(await waitForEvent(client, 'message')).toMatchObject({ from: key, text: 'back at you' })

    client.end()
    expect((await client.exit()).code).toBe(0)
    await waitForEvent(client, 'closed')
    expect(await waitForEvent(listener, 'peer-left')).toMatchObject({ key: joined.key, reason: null })

    listener.kill('SIGINT')
    expect((await listener.exit()).code).toBe(0)
    await waitForEvent(listener, 'closed')
    // Every line of stdout was an event.
    for (const p of [listener, client]) for (const e of events(p)) expect(typeof e.type).toBe('string')
  })

  it('connect --reconnect reports the new connection as a connected event with reconnect: true', async () => {
    const home = tempHome().env
    const first = p2pchat(['listen', '--bootstrap', net.flag], home)
    const key = (await first.waitFor(/listening on ([0-9a-f]{64})/))[1]!
    const client = p2pchat(['connect', key, '--json', '--reconnect', '--bootstrap', net.flag], tempHome().env)
    expect(await waitForEvent(client, 'connected')).toMatchObject({ key, reconnect: false })
    first.kill('SIGINT')
    await first.exit()
    const second = p2pchat(['listen', '--bootstrap', net.flag], home)
    await second.waitFor(`listening on ${key}`)
    const again = await waitForEvent(client, 'connected', (e) => e.reconnect === true)
    expect(again).toMatchObject({ key, remoteKey: key, path: 'direct', relay: null })
    expect(typeof again.rttMs).toBe('number')
    client.end()
    expect((await client.exit()).code).toBe(0)
  }, 40_000)

  it('a peer\'s DEL, C1, bidi and separator characters are escaped, and parse back to the same text', async () => {
    const { raw, key } = await rawListener()
    const client = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await waitForEvent(client, 'connected')
    const text = 'a\x7fb\u009bc\u0085d\u202ee\u2066f\u200fg\u2028h\u2029i\x1b[2J'
    raw.write(`${text}\n`)
    const msg = await waitForEvent(client, 'message')
    expect(msg.text).toBe(text)
    const line = Buffer.concat(client.stdoutBytes).toString('utf8').split('\n').find((l) => l.includes('"message"'))!
    expect(line).toContain('"text":"a\\u007fb\\u009bc\\u0085d\\u202ee\\u2066f\\u200fg\\u2028h\\u2029i\\u001b[2J"')
    expect(line).not.toMatch(/[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/)
    client.end()
  })

  it('a U+FEFF in a line is kept: at its start, alone, in the middle, between invalid bytes; both ways, message and sent (issue 19, point 21)', async () => {
    const listener = p2pchat(['listen', '--json', '--bootstrap', net.flag], tempHome().env)
    const key = (await waitForEvent(listener, 'ready')).publicKey as string
    const client = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await waitForEvent(client, 'connected')
    await waitForEvent(listener, 'peer-joined')
    const BOM = Buffer.from([0xef, 0xbb, 0xbf])
    const lines: Array<[Buffer, string]> = [
      [Buffer.concat([BOM, Buffer.from('starts with a BOM')]), '\ufeffstarts with a BOM'],
      [BOM, '\ufeff'],
      [Buffer.concat([Buffer.from('mid'), BOM, Buffer.from('dle')]), 'mid\ufeffdle'],
      [Buffer.concat([Buffer.from([0xff]), BOM, Buffer.from([0x78, 0xc3])]), '\ufffd\ufeffx\ufffd']
    ]
    const wire = Buffer.concat(lines.flatMap(([bytes]) => [bytes, Buffer.from('\n')]))
    const texts = lines.map(([, text]) => text)
    // Parsed from the bytes, not from text decoded chunk by chunk.
    const all = (proc: Proc, type: string) =>
      Buffer.concat(proc.stdoutBytes).toString('utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event).filter((e) => e.type === type)
    const textsOf = (proc: Proc, type: string) => all(proc, type).map((e) => e.text)
    for (const [from, to] of [[client, listener], [listener, client]] as const) {
      from.write(wire)
      await to.waitUntil(() => all(to, 'message').length >= lines.length, `${lines.length} messages`)
      expect(textsOf(to, 'message')).toEqual(texts)
      await from.waitUntil(() => all(from, 'sent').length >= lines.length, `${lines.length} sent events`)
      expect(textsOf(from, 'sent')).toEqual(texts)
    }
    client.end()
    expect((await client.exit()).code).toBe(0)
  })

  it('a failure is an error event with its code, and the exit code matches', async () => {
    const client = p2pchat(['connect', 'a'.repeat(64), '--json', '--bootstrap', net.flag], tempHome().env)
    client.end()
    const { code } = await client.exit(20_000)
    expect(code).toBe(4)
    expect(await waitForEvent(client, 'error')).toMatchObject({ code: 'PEER_NOT_FOUND', exitCode: 4 })
  })
})
