import { describe, expect, it } from 'vitest'
import { BIP39_ENGLISH } from '../../src/core/wordlist.js'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener, type Proc, jsonEvents, type JsonEvent } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

// Safety words (issue 12 point 3): both ends of a connection derive 4 BIP39 words from its Noise
// handshake hash. Equal on both ends of one connection, new for every connection.

const net = useTestNetwork()

type Event = JsonEvent

const events = jsonEvents

async function nthEvent(proc: Proc, type: string, n = 1, timeoutMs = 15_000): Promise<Event> {
  await proc.waitUntil(() => events(proc, type).length >= n, `${n} ${type} event(s)`, timeoutMs)
  return events(proc, type)[n - 1]!
}

function expectWords(words: unknown): string[] {
  expect(Array.isArray(words)).toBe(true)
  const list = words as string[]
  expect(list).toHaveLength(4)
  for (const w of list) expect(BIP39_ENGLISH).toContain(w)
  return list
}

const WORDS = '((?:[a-z]+ ){3}[a-z]+)'

describe('safety words', () => {
  it('--json: connect\'s connected event and the listener\'s peer-joined event carry the same 4 BIP39 words', async () => {
    const listener = p2pchat(['listen', '--json', '--bootstrap', net.flag], tempHome().env)
    const key = (await nthEvent(listener, 'ready')).publicKey as string
    const client = p2pchat(['connect', key, '--json', '--bootstrap', net.flag], tempHome().env)
    const connected = await nthEvent(client, 'connected')
    const joined = await nthEvent(listener, 'peer-joined')
    const words = expectWords(connected.safetyWords)
    expect(joined.safetyWords).toEqual(words)
    client.end()
    expect((await client.exit()).code).toBe(0)
  })

  it('pipe mode: the words are a notice on stderr on both sides, and a second connection gets other words', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const seen: string[][] = []
    for (const n of [1, 2]) {
      const client = p2pchat(['connect', key, '--bootstrap', net.flag], tempHome().env)
      await client.waitFor(`connected to ${key}`)
      const mine = (await client.waitFor(new RegExp(`\\* safety words: ${WORDS} \\(compare them with the peer's to rule out anyone in the middle\\)\\n`)))[1]!
      // The listener names the peer in its notice; its n-th notice is for this connection.
      await listener.waitUntil(() => (listener.stderr.match(/safety words with /g) ?? []).length >= n, `safety words notice ${n}`)
      const theirs = [...listener.stderr.matchAll(new RegExp(`safety words with [0-9a-f]{8}: ${WORDS} \\(compare them with the peer's to rule out anyone in the middle\\)`, 'g'))][n - 1]![1]!
      expect(theirs).toBe(mine)
      seen.push(expectWords(mine.split(' ')))
      client.end()
      expect((await client.exit()).code).toBe(0)
    }
    // 44 bits: two connections give the same words with a chance of 2^-44.
    expect(seen[1]).not.toEqual(seen[0])
  })

  it('connect --reconnect: the new connection shows new words, the same as the restarted listener\'s', async () => {
    const home = tempHome().env
    const first = p2pchat(['listen', '--json', '--bootstrap', net.flag], home)
    const key = (await nthEvent(first, 'ready')).publicKey as string
    const client = p2pchat(['connect', key, '--json', '--reconnect', '--bootstrap', net.flag], tempHome().env)
    const before = expectWords((await nthEvent(client, 'connected')).safetyWords)
    expect((await nthEvent(first, 'peer-joined')).safetyWords).toEqual(before)
    // A clean stop unannounces the key: the same identity can listen again at once.
    first.kill('SIGINT')
    await first.exit()
    const second = p2pchat(['listen', '--json', '--bootstrap', net.flag], home)
    const again = await nthEvent(client, 'connected', 2, 30_000)
    expect(again.reconnect).toBe(true)
    const after = expectWords(again.safetyWords)
    expect(after).not.toEqual(before)
    expect((await nthEvent(second, 'peer-joined')).safetyWords).toEqual(after)
    client.end()
    expect((await client.exit()).code).toBe(0)
  }, 45_000)

  it('interactive: both ends show the words on connect, and /verify shows the same words again', async () => {
    const listener = new PtyProc(['listen', '--bootstrap', net.flag], tempHome().env)
    const key = /listening on ([0-9a-f]{64})/.exec((await listener.waitForScreen(/listening on [0-9a-f]{64}/)).join('\n'))![1]!
    await listener.waitForScreen('type /help for commands')
    const client = new PtyProc(['connect', key, '--bootstrap', net.flag], tempHome().env)
    const connectLines = (await client.waitForLine(/\* safety words: .*\/verify shows them again\)/)).join('\n')
    const words = new RegExp(`\\* safety words: ${WORDS} \\(compare them with the peer's to rule out anyone in the middle; /verify shows them again\\)`).exec(connectLines)![1]!
    expectWords(words.split(' '))
    const joinLines = (await listener.waitForLine(/\* safety words with [0-9a-f]{8}: /)).join('\n')
    const [, short, listenerWords] = new RegExp(`\\* safety words with ([0-9a-f]{8}): ${WORDS} \\(compare them with the peer's to rule out anyone in the middle; /verify \\1 shows them again\\)`).exec(joinLines)!
    expect(listenerWords).toBe(words)

    client.type('/verify\r')
    await client.waitForLine(new RegExp(`^\\* safety words with ${key.slice(0, 8)}: ${words}$`, 'm'))
    // A /verify row is the words alone (the join notice goes on with its hint).
    const row = `* safety words with ${short}: ${words}`
    const rows = async (n: number) => {
      const count = async () => (await listener.lines()).filter((l) => l === row).length
      for (const deadline = Date.now() + 10_000; (await count()) < n && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50))
      return count()
    }
    listener.type('/verify\r')
    expect(await rows(1)).toBe(1)
    listener.type(`/verify ${short!.slice(0, 4)}\r`)
    expect(await rows(2)).toBe(2)
    listener.type('/verify nobody\r')
    await listener.waitForLine('* no connected peer matches "nobody"')
    listener.type('/help\r')
    await listener.waitForLine('/verify [peer]')

    client.type('/quit\r')
    expect((await client.exit()).code).toBe(0)
    listener.type('/quit\r')
    expect((await listener.exit()).code).toBe(0)
  })
})
