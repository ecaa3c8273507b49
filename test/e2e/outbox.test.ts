import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { type Proc, p2pchat, jsonEvents, type JsonEvent } from '../helpers/proc.js'

// Issue 10: nothing typed is lost. Lines written while the peer is dead but
// not yet known to be dead are kept and re-sent (--reconnect), or reported
// line by line; a dead path is noticed within seconds while data waits.

const net = useTestNetwork()

type Event = JsonEvent

const events = jsonEvents

/** Texts of the `message` events a --json process printed, in order. */
function messages(proc: Proc): string[] {
  return events(proc, 'message').map((e) => e.text as string)
}

/** The highest `delivered` upTo reported for `key` (0: none). */
function deliveredUpTo(proc: Proc, key: string): number {
  return Math.max(0, ...events(proc, 'delivered').filter((e) => e.key === key).map((e) => e.upTo as number))
}

/** A fresh identity file in a temp home: a listener restarted with it keeps its key. */
async function identityFile(): Promise<{ file: string; key: string }> {
  const { dir, env } = tempHome()
  const file = path.join(dir, 'listener.json')
  const gen = p2pchat(['keygen', '--out', file], env)
  expect((await gen.exit()).code).toBe(0)
  return { file, key: gen.stdout.trim() }
}

function jsonListener(identity: string): Proc {
  return p2pchat(['listen', '--json', '--identity', identity, '--bootstrap', net.flag], tempHome().env)
}

/** A `--json` listener on a fresh identity file, announced. */
async function readyListener(): Promise<{ file: string; key: string; listener: Proc }> {
  const { file, key } = await identityFile()
  const listener = jsonListener(file)
  await listener.waitFor('"type":"ready"', 'stdout')
  return { file, key, listener }
}

const lines = (tag: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${tag} ${from + i}`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the outbox across a lost connection (connect --reconnect)', () => {
  it('listener SIGKILLed and restarted with the same identity: 5 lines typed before the loss was noticed and 5 after all arrive, in order, once, and are reported delivered', async () => {
    const { file, key, listener: first } = await readyListener()
    const client = p2pchat(['connect', key, '--reconnect', '--json', '--bootstrap', net.flag], tempHome().env)
    await client.waitFor('"type":"connected"', 'stdout')
    client.write('before\n')
    await first.waitUntil(() => messages(first).includes('before'), 'the first line')
    await sleep(200) // and its acknowledgement is back

    first.kill('SIGKILL')
    // The window: the peer is dead, the connector does not know it yet.
    const early = lines('early', 2, 6)
    for (const l of early) client.write(`${l}\n`)
    await client.waitFor(/"type":"notice"[^\n]*connection lost/, 'stdout', 15_000)
    expect(client.child.exitCode).toBeNull()

    const second = jsonListener(file)
    const late = lines('late', 7, 11)
    for (const l of late) client.write(`${l}\n`)
    await second.waitFor('"type":"ready"', 'stdout', 20_000)
    await second.waitUntil(() => messages(second).length >= 10, '10 lines at the new listener', 40_000)
    await client.waitUntil(() => deliveredUpTo(client, key) >= 11, 'lines 2..11 delivered')
    await sleep(300) // anything more (a duplicate) would show by now
    // Nothing the dead listener could have acknowledged: exactly once, in order.
    expect(messages(second)).toEqual([...early, ...late])
    expect(deliveredUpTo(client, key)).toBe(11)
    expect(events(client, 'sent').map((e) => [e.seq, e.text])).toEqual(['before', ...early, ...late].map((t, i) => [i + 1, t]))
    // The lost connection's lines were said to be kept, not lost.
    const undelivered = events(client, 'undelivered')
    expect(undelivered.every((e) => e.kept === true)).toBe(true)
    expect(undelivered.flatMap((e) => e.seqs as number[])).toEqual(expect.arrayContaining([2, 3, 4, 5, 6]))
    expect(events(client, 'connected').map((e) => e.reconnect)).toEqual([false, true])
  }, 60_000)
})

describe('a listener frozen for 20 s (SIGSTOP, then SIGCONT), connect --reconnect', () => {
  it('lines typed during the freeze arrive late, in order, none missing, and are all reported delivered', async () => {
    const { key, listener } = await readyListener()
    const client = p2pchat(['connect', key, '--reconnect', '--json', '--bootstrap', net.flag], tempHome().env)
    await client.waitFor('"type":"connected"', 'stdout')
    client.write('before\n')
    await listener.waitUntil(() => messages(listener).includes('before'), 'the first line')

    listener.kill('SIGSTOP')
    const frozeAt = Date.now()
    const typed = lines('frozen', 2, 6)
    try {
      for (const l of typed) client.write(`${l}\n`)
      // A freeze this long is a dead path: the connector says so, and redials.
      await client.waitFor(/"type":"notice"[^\n]*connection lost/, 'stdout', 15_000)
      const more = lines('meanwhile', 7, 11)
      for (const l of more) client.write(`${l}\n`)
      typed.push(...more)
      await sleep(Math.max(0, frozeAt + 20_000 - Date.now()))
    } finally {
      listener.kill('SIGCONT')
    }
    await listener.waitUntil(() => typed.every((t) => messages(listener).includes(t)), 'every line at the listener', 40_000)
    await client.waitUntil(() => deliveredUpTo(client, key) >= 11, 'lines 2..11 delivered')
    // At least once: a line the old stream delivered after SIGCONT may come again on the new one.
    const got = messages(listener)
    const firsts = got.filter((t, i) => got.indexOf(t) === i)
    expect(firsts).toEqual(['before', ...typed])
    expect(events(client, 'undelivered').every((e) => e.kept === true)).toBe(true)
    expect(client.child.exitCode).toBeNull()
  }, 90_000)
})

describe('the listener reports, per peer, what a dead connector did not acknowledge', () => {
  it('connector SIGKILLed mid-flow: `undelivered` with its key and the seqs within 5 s; the peer still there gets every line', async () => {
    const { key, listener } = await readyListener()
    const doomed = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await doomed.waitFor('"type":"connected"', 'stdout')
    await listener.waitUntil(() => events(listener, 'peer-joined').length === 1, 'the first peer')
    const doomedKey = events(listener, 'peer-joined')[0]!.key as string
    const staying = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await staying.waitFor('"type":"connected"', 'stdout')
    await listener.waitUntil(() => events(listener, 'peer-joined').length === 2, 'the second peer')
    const stayingKey = events(listener, 'peer-joined')[1]!.key as string

    // A line every 50 ms, before and after the kill, until the listener reports.
    let n = 0
    const feeder = setInterval(() => listener.write(`flow ${++n}\n`), 50)
    let took: number
    try {
      await doomed.waitUntil(() => doomed.stdout.includes('"text":"flow 10"'), 'lines flowing')
      doomed.kill('SIGKILL')
      const killedAt = Date.now()
      await listener.waitFor('"type":"undelivered"', 'stdout', 15_000)
      took = Date.now() - killedAt
    } finally {
      clearInterval(feeder)
    }
    console.log(`connector SIGKILL -> listener's undelivered: ${took} ms`)
    const reports = events(listener, 'undelivered')
    expect(reports).toHaveLength(1)
    expect(reports[0]!.key).toBe(doomedKey)
    expect(reports[0]!.kept).toBe(false)
    // Exactly the lines sent to it after the last one it acknowledged, in order.
    const sentTo = (peer: string) =>
      events(listener, 'sent')
        .filter((e) => (e.to as string[]).includes(peer))
        .map((e) => e.seq as number)
    const acked = deliveredUpTo(listener, doomedKey)
    const seqs = reports[0]!.seqs as number[]
    expect(seqs.length).toBeGreaterThan(0)
    expect(seqs).toEqual(sentTo(doomedKey).filter((s) => s > acked))
    expect(took).toBeLessThan(5000)

    // The other peer: every line, all acknowledged, nothing reported.
    await staying.waitUntil(() => messages(staying).includes(`flow ${n}`), 'the last line at the peer still there')
    // (Besides the room's own lines: "* in the room: …", "* … left".)
    expect(messages(staying).filter((t) => t.startsWith('flow '))).toEqual(lines('flow', 1, n))
    await listener.waitUntil(() => deliveredUpTo(listener, stayingKey) === Math.max(...sentTo(stayingKey)), 'every line delivered to it')
    expect(events(listener).filter((e) => (e.type === 'pending' || e.type === 'undelivered') && e.key === stayingKey)).toEqual([])
  }, 30_000)
})

describe('a dead path is noticed while a line waits', () => {
  it('listener SIGKILLed, lines written: "connection lost" well before the 12 s idle limit; without --reconnect the connector names every line not delivered and exits 8', async () => {
    const { key, listener } = await readyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    client.write('one\n')
    await listener.waitUntil(() => messages(listener).includes('one'), 'the first line')
    await sleep(200) // its acknowledgement is back

    listener.kill('SIGKILL')
    const killedAt = Date.now()
    client.write('two\n')
    client.write('three\n')
    await client.waitFor(/connection lost|no data from the peer/, 'stderr', 15_000)
    const took = Date.now() - killedAt
    console.log(`listener SIGKILL -> "connection lost" with a line pending: ${took} ms`)
    const { code } = await client.exit()
    expect(code).toBe(8)
    expect(took).toBeLessThan(8000)
    expect(client.stderr).toContain('* not delivered to')
    expect(client.stderr).toMatch(/not delivered to [0-9a-f]{8}: 2 lines \(#2 "two", #3 "three"\)\n/)
    expect(client.stderr).not.toContain('#1')
  }, 30_000)
})

describe('input ended and a lost connection: the error that ended it gives the exit code (8), in either order', () => {
  it('input ends, then the path dies while the line waits: exit 8 (connection lost), the line named', async () => {
    const { key, listener } = await readyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    listener.kill('SIGSTOP')
    try {
      client.end('x\n')
      const { code } = await client.exit(20_000)
      expect(client.stderr).toMatch(/p2pchat: connection lost: the peer acknowledged nothing for/)
      expect(client.stderr).toMatch(/not delivered to [0-9a-f]{8}: 1 line \(#1 "x"\)/)
      expect(code).toBe(8)
    } finally {
      listener.kill('SIGCONT')
    }
  }, 30_000)

  it('the path dies while a line waits, input still open: exit 8 as well, the line named', async () => {
    const { key, listener } = await readyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    listener.kill('SIGSTOP')
    try {
      client.write('x\n')
      const { code } = await client.exit(20_000)
      expect(client.stderr).toMatch(/p2pchat: connection lost: the peer acknowledged nothing for/)
      expect(client.stderr).toMatch(/not delivered to [0-9a-f]{8}: 1 line \(#1 "x"\)/)
      expect(code).toBe(8)
    } finally {
      listener.kill('SIGCONT')
    }
  }, 30_000)
})

describe('a piped connect to a frozen listener', () => {
  it('frozen before we connect: non-zero exit, the line named as not delivered', async () => {
    const { key, listener } = await readyListener()
    listener.kill('SIGSTOP')
    try {
      const client = p2pchat(['connect', key, '--timeout', '5', '--bootstrap', net.flag], tempHome().env)
      client.end('x\n')
      const { code } = await client.exit(20_000)
      expect(code).not.toBe(0)
      expect(client.stderr).toMatch(/not delivered to [0-9a-f]{8}: 1 line \(#1 "x"\)/)
    } finally {
      listener.kill('SIGCONT')
    }
  }, 30_000)

  it('frozen once the connection is up: non-zero exit, the line named as not delivered', async () => {
    const { key, listener } = await readyListener()
    const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
    await client.waitFor(`connected to ${key}`)
    listener.kill('SIGSTOP')
    try {
      client.end('x\n')
      const { code } = await client.exit(20_000)
      expect(code).not.toBe(0)
      expect(client.stderr).toMatch(/not delivered to [0-9a-f]{8}: 1 line \(#1 "x"\)/)
    } finally {
      listener.kill('SIGCONT')
    }
  }, 30_000)
})

// The one slow test of this file: a minute of silence.
describe('an idle chat', () => {
  it('survives 60 s of silence (keep-alives), then a line each way arrives', async () => {
    const { key, listener } = await readyListener()
    const client = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    await client.waitFor('"type":"connected"', 'stdout')
    await listener.waitFor('"type":"peer-joined"', 'stdout')
    const clientKey = events(listener, 'peer-joined')[0]!.key as string

    await sleep(62_000)
    client.write('still there?\n')
    listener.write('yes\n')
    await listener.waitUntil(() => messages(listener).includes('still there?'), 'the connector line')
    await client.waitUntil(() => messages(client).includes('yes'), 'the listener line')
    for (const proc of [client, listener]) {
      expect(proc.stdout).not.toMatch(/connection lost|"type":"peer-left"|"type":"undelivered"|"type":"pending"/)
      expect(proc.child.exitCode).toBeNull()
    }
    await client.waitUntil(() => deliveredUpTo(client, key) === 1, 'the connector line delivered')
    await listener.waitUntil(() => deliveredUpTo(listener, clientKey) === 1, 'the listener line delivered')
  }, 90_000)
})
