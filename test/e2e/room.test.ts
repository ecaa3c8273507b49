import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { hostilePeer } from '../helpers/hostile.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat, startListener, type Proc } from '../helpers/proc.js'

// A room forwards each member's lines to the others. What one member sends
// must never cost the others: not their connection, not their lines, not
// the length of their lines.

const net = useTestNetwork()

/**
 * Resolves with the time `text` appears on `proc`'s stdout from now on. Only
 * new chunks are searched, as bytes: `text` must not rely on what came
 * before (a newline ending the previous line may be in an earlier chunk).
 */
function seenOn(proc: Proc, text: string, timeoutMs = 15_000): Promise<number> {
  const wanted = Buffer.from(text)
  return new Promise((resolve, reject) => {
    let tail = Buffer.alloc(0)
    let seen = 0
    const stop = () => {
      clearTimeout(timer)
      proc.child.stdout.off('data', ondata)
    }
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`${JSON.stringify(text)} never reached the member (${seen} bytes came on its stdout meanwhile, ending ${JSON.stringify(tail.toString().slice(-80))})\n--- its stderr ---\n${proc.stderr}`))
    }, timeoutMs)
    const ondata = (d: Buffer) => {
      seen += d.byteLength
      const s = tail.byteLength > 0 ? Buffer.concat([tail, d]) : d
      if (s.includes(wanted)) {
        stop()
        resolve(Date.now())
      } else tail = Buffer.from(s.subarray(Math.max(0, s.byteLength - wanted.byteLength)))
    }
    proc.child.stdout.on('data', ondata)
    void proc.exited.then(() => {
      stop()
      reject(new Error(`the member exited before ${JSON.stringify(text)} reached it\n--- its stderr ---\n${proc.stderr}`))
    })
  })
}

/**
 * A flood puts tens of megabytes on a member's stdout: Proc stops keeping it
 * (seenOn still sees it), so that collecting it does not load the machine
 * the test measures on.
 */
function forgetStdout(proc: Proc): void {
  proc.child.stdout.removeAllListeners('data')
  proc.child.stdout.resume()
}

/** A p2pchat member of the room; resolves once the listener shows it joined, with the name the room gives it. */
async function member(listener: Proc, key: string, env = tempHome().env): Promise<{ proc: Proc; name: string }> {
  const joinedBefore = listener.stderr.split(' joined (').length
  const proc = p2pchat(['connect', key, '--bootstrap', net.flag, '--no-relay'], env)
  await proc.waitFor('connected to')
  await listener.waitUntil(() => listener.stderr.split(' joined (').length > joinedBefore, 'the member to join')
  const name = [...listener.stderr.matchAll(/\* (\S+) joined \(/g)].pop()![1]!
  return { proc, name }
}

describe('the longest line', () => {
  it('a member\'s maximal line (65 536 bytes) reaches the other member whole, after its [name] prefix (a 32-character contact name), with no "too long" notice anywhere', async () => {
    // The longest prefix there is: the listener knows the sender by a 32-character contact name.
    const aHome = tempHome()
    expect((await p2pchat(['keygen'], aHome.env).exit()).code).toBe(0)
    const aKey = (JSON.parse(fs.readFileSync(path.join(aHome.dir, 'config', 'p2pchat', 'identity.json'), 'utf8')) as { publicKey: string }).publicKey
    const longName = 'a-member-with-a-32-character-nam'
    expect(longName).toHaveLength(32)
    const listenerHome = tempHome()
    expect((await p2pchat(['contacts', 'add', longName, aKey], listenerHome.env).exit()).code).toBe(0)
    const { proc: listener, key } = await startListener(net.flag, [], listenerHome.env)
    const a = await member(listener, key, aHome.env)
    expect(a.name).toBe(longName)
    const b = await member(listener, key)
    const text = 'm'.repeat(65_535) + 'Z'
    a.proc.write(`${text}\nafter the long line\n`)
    await b.proc.waitFor(`[${longName}] after the long line\n`, 'stdout')
    expect(b.proc.stdout).toContain(`\n[${longName}] ${text}\n[${longName}] after the long line\n`)
    expect(listener.stdout).toContain(`[${longName}] ${text}\n`)
    for (const p of [listener, a.proc, b.proc]) expect(p.stderr).not.toContain('too long')
  })
})

describe('a room under a flooding member', () => {
  it('a member flooding 1 KiB lines costs only itself: the good members stay, the listener\'s line reaches them within 1 s, another member\'s line too, the excess is dropped and the flooder is disconnected after its grace', async () => {
    const { proc: listener, key } = await startListener(net.flag, ['--flood-grace', '4'], tempHome().env)
    const a = await member(listener, key)
    const b = await member(listener, key)
    for (const p of [listener, a.proc, b.proc]) forgetStdout(p)
    const floodReached = seenOn(a.proc, '] flood line ')
    const aTold = seenOn(a.proc, ' not forwarded to you: sent faster than your connection could take them\n')
    // Awaited later: an earlier failure must not leave it rejected unhandled.
    aTold.catch(() => {})
    const flooder = hostilePeer(net.flag, key, ['flood', '1024'])
    await flooder.waitFor('open')
    const floodName = (await listener.waitFor(new RegExp(`(?!${a.name}|${b.name})([0-9a-f]{8}) joined \\(`)))[1]!
    await floodReached
    // In the middle of the flood: the sender is over its rate limit by now.
    await listener.waitFor(/is sending too fast: over its rate limit, \d+ lines? dropped/)

    const fromHost = seenOn(a.proc, 'from the host during the flood\n')
    const typed = Date.now()
    listener.write('from the host during the flood\n')
    expect((await fromHost) - typed).toBeLessThan(1000)

    const fromB = seenOn(a.proc, `[${b.name}] from b during the flood\n`)
    b.proc.write('from b during the flood\n')
    await fromB

    // What the good members could not take was dropped for them, counted; the listener and they are told.
    await listener.waitFor(new RegExp(`\\d+ lines? from ${floodName} (were|was) not forwarded to [^\\n]*${a.name} \\(\\d+\\)`))
    await aTold
    await listener.waitFor(/left \(disconnected for flooding/, 'stderr', 15_000)
    await flooder.waitFor('closed')
    expect(listener.stderr).not.toMatch(new RegExp(`(${a.name}|${b.name}) left`))
    expect(a.proc.child.exitCode).toBeNull()
    expect(b.proc.child.exitCode).toBeNull()

    // After the flood, the room works as before for both.
    const afterA = seenOn(a.proc, 'after the flood\n')
    const afterB = seenOn(b.proc, 'after the flood\n')
    listener.write('after the flood\n')
    await Promise.all([afterA, afterB])
  }, 60_000)
})
