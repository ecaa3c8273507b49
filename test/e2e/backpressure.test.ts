import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { hostilePeer } from '../helpers/hostile.js'
import { useTestNetwork } from '../helpers/net.js'
import { rawPeer, startListener, type Proc } from '../helpers/proc.js'

// The listener's memory stays bounded however much is piped into it and
// however its peers read: a peer's queue is capped, stdin waits for the peers.

const net = useTestNetwork()

const MIB = 1024 * 1024
const PIPED_MIB = 200
const LINE_BYTES = 1024
/** Without backpressure the listener passed 250 MB here; it idles at about 65 MB. */
const RSS_LIMIT_MB = 150

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)
  return m ? Number(m[1]) / 1024 : 0
}

/** Samples a process's RSS every 100 ms; stop() returns the highest seen. */
function watchRss(pid: number): { stop(): number } {
  let max = rssMb(pid)
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssMb(pid))
    } catch {
      // exited
    }
  }, 100)
  return {
    stop: () => {
      clearInterval(timer)
      return max
    }
  }
}

/** Pipes `mib` MiB of 1 KiB lines, made by a child process, into `proc`'s stdin; resolves when all were taken. */
function pipeLines(proc: Proc, mib: number): Promise<void> {
  const script = `
    const buf = Buffer.from(('x'.repeat(${LINE_BYTES - 1}) + '\\n').repeat(64))
    let left = ${(mib * MIB) / (64 * LINE_BYTES)}
    const pump = () => {
      while (left > 0) {
        left--
        if (!process.stdout.write(buf)) return process.stdout.once('drain', pump)
      }
      process.stdout.end()
    }
    pump()`
  const gen = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  gen.stdout.pipe(proc.child.stdin)
  return new Promise((resolve) => proc.child.stdin.once('finish', resolve))
}

/** A raw hyperdht peer that reads everything and reports how much arrived. */
async function countingPeer(key: string): Promise<{ peer: Proc; received: () => { bytes: number; lines: number } }> {
  const peer = hostilePeer(net.flag, key, ['count'])
  await peer.waitFor('open')
  return {
    peer,
    received: () => {
      const all = [...peer.stderr.matchAll(/count (\d+) (\d+)/g)]
      const last = all[all.length - 1]
      return { bytes: Number(last?.[1] ?? 0), lines: Number(last?.[2] ?? 0) }
    }
  }
}

describe('listener memory under load', () => {
  it('a peer that stopped reading is dropped ("did not read") while 200 MiB are broadcast; RSS stays bounded and a reading peer gets everything', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const stuck = rawPeer(['connect', net.flag, key])
    await stuck.waitFor('open')
    const stuckName = (await listener.waitFor(/([0-9a-f]{8}) joined/))[1]!
    const reader = await countingPeer(key)
    await listener.waitUntil(() => listener.stderr.split(' joined (').length === 3, 'both peers joined')
    stuck.kill('SIGSTOP')

    const rss = watchRss(listener.child.pid!)
    const piped = pipeLines(listener, PIPED_MIB)
    // A stopped process acknowledges nothing either: whichever rule fires first.
    await listener.waitFor(/left \((disconnected: did not read its messages|connection lost: the peer acknowledged nothing)/, 'stderr', 30_000)
    await piped
    // Everything piped, plus the room's greeting (the stuck peer was there) and its notice that the stuck peer left.
    const extra = `* in the room: ${stuckName} (1 other)\n* ${stuckName} left\n`
    const expected = (PIPED_MIB * MIB) / LINE_BYTES + 2
    await reader.peer.waitUntil(() => reader.received().lines >= expected, `${PIPED_MIB} MiB at the reading peer`, 30_000)
    const maxRss = rss.stop()
    expect(reader.received()).toEqual({ bytes: PIPED_MIB * MIB + extra.length, lines: expected })
    expect(maxRss).toBeLessThan(RSS_LIMIT_MB)
  }, 90_000)

  it('200 MiB piped into listen with a fast reader: stdin waits for the peer, RSS stays bounded, every line arrives', async () => {
    const { proc: listener, key } = await startListener(net.flag, [], tempHome().env)
    const reader = await countingPeer(key)
    await listener.waitFor('joined')

    const rss = watchRss(listener.child.pid!)
    await pipeLines(listener, PIPED_MIB)
    await reader.peer.waitUntil(() => reader.received().bytes >= PIPED_MIB * MIB, `${PIPED_MIB} MiB at the peer`, 30_000)
    const maxRss = rss.stop()
    expect(reader.received()).toEqual({ bytes: PIPED_MIB * MIB, lines: (PIPED_MIB * MIB) / LINE_BYTES })
    expect(maxRss).toBeLessThan(RSS_LIMIT_MB)
    expect(listener.stderr).not.toContain(' left')
  }, 90_000)
})
