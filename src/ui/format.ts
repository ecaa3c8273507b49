import type { Line } from '../core/peer/framing.js'
import type { PeerInfo } from '../core/peer/connection.js'
import { decodeUtf8 } from './sanitize.js'

/*
 * Formatting shared by every view: times, sizes, paths, safety words, and
 * how our own lines are described in notices. Pure functions of their input.
 */

/** A notice for a line that was cut, or null for a whole line. */
export function lineNotice(line: Line, verb: 'kept' | 'sent' = 'kept'): string | null {
  if (line.droppedBytes === 0) return null
  return `line too long: ${verb} the first ${line.bytes.length} bytes, dropped ${line.droppedBytes}`
}

/** `HH:MM:SS` in local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

/** `1h 02m`, `3m 04s`, `12s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`
  return `${sec}s`
}

/** `12 B`, `3.4 KiB`, `5.6 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** `direct` / `relayed through abcd1234` / `relayed through abcd1234 (alice's relay)`. */
export function formatPath(peer: PeerInfo): string {
  if (peer.path === 'relayed') return `relayed through ${peer.relay!.slice(0, 8)}${peer.relayName ? ` (${peer.relayName})` : ''}`
  return peer.path ?? 'path ?'
}

export function formatRtt(rttMs: number | null): string {
  return rttMs === null ? 'rtt ?' : rttMs < 1 ? 'rtt <1 ms' : `rtt ${rttMs} ms`
}

/** `direct, 1.2.3.4:5, rtt 3 ms`: the path indicator shown on connect and in /peers. */
export function formatPathSummary(peer: PeerInfo): string {
  return `${formatPath(peer)}, ${peer.address ?? 'address ?'}, ${formatRtt(peer.rttMs)}`
}

/**
 * What connect says when it reaches the peer, in every mode: the contact's
 * name with the key beside it (`connected to alice (3b0f…, direct, …)`), or
 * the key alone for a peer that is no contact.
 */
export function connectedText(peer: PeerInfo, reconnect: boolean): string {
  const who = peer.name !== peer.shortKey ? `${peer.name} (${peer.key}, ` : `${peer.key} (`
  return `${reconnect ? 'reconnected' : 'connected'} to ${who}${formatPathSummary(peer)})`
}

/** One entry of /peers: a summary line, then the full key (too long to share a line). */
export function formatPeerRow(peer: PeerInfo, name: string, now: number): string {
  return `${name}  connected ${formatDuration(now - peer.connectedAt)}  ${formatPath(peer)}  ${peer.address ?? 'address ?'}  ${formatRtt(peer.rttMs)}\n    key ${peer.key}`
}

// Colours that read on dark and light backgrounds (ANSI 256 indexes).
const PEER_COLORS = [33, 35, 37, 69, 75, 98, 129, 135, 166, 172, 178, 203, 208, 214, 41, 43]

/** A stable colour for a key: the same peer always gets the same one. */
export function peerColor(keyHex: string): number {
  let h = 2166136261
  for (let i = 0; i < keyHex.length; i++) h = Math.imul(h ^ keyHex.charCodeAt(i), 16777619)
  return PEER_COLORS[(h >>> 0) % PEER_COLORS.length]!
}

/**
 * The safety words of a connection, as shown when it opens: `who` names the
 * peer (a listener has several), `verify` is the command that shows them
 * again (only where commands are typed: interactive mode).
 */
export function formatSafetyWords(words: readonly string[], who: string | null, verify: string | null): string {
  return `safety words${who ? ` with ${who}` : ''}: ${words.join(' ')} (compare them with the peer's to rule out anyone in the middle${verify ? `; ${verify} shows them again` : ''})`
}

/** One peer's row of /verify. */
export function formatVerifyRow(words: readonly string[] | null | undefined, who: string): string {
  return `safety words with ${who}: ${words ? words.join(' ') : 'not known yet (the connection is not open)'}`
}

/** `#4–#9` style ranges of sequence numbers. */
export function seqRanges(seqs: number[]): string {
  const parts: string[] = []
  let i = 0
  while (i < seqs.length) {
    let j = i
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++
    parts.push(i === j ? `#${seqs[i]}` : `#${seqs[i]}–#${seqs[j]}`)
    i = j + 1
  }
  return parts.join(', ')
}

const QUOTED_MAX = 40

/**
 * Which of our lines, for a notice: `2 lines (#4 "hi", #5 "yo")`, or, for
 * many, their numbers and the first few texts. Raw text: notices are
 * sanitized where they are printed.
 */
export function describeLines(lines: { seq: number; bytes: Uint8Array }[], shown = 3): string {
  const quote = (b: Uint8Array) => {
    const text = decodeUtf8(b.byteLength > QUOTED_MAX * 4 ? b.subarray(0, QUOTED_MAX * 4) : b)
    return JSON.stringify(text.length > QUOTED_MAX ? text.slice(0, QUOTED_MAX - 1) + '…' : text)
  }
  const count = lines.length === 1 ? '1 line' : `${lines.length} lines`
  if (lines.length <= shown) return `${count} (${lines.map((l) => `#${l.seq} ${quote(l.bytes)}`).join(', ')})`
  const first = lines.slice(0, shown).map((l) => quote(l.bytes))
  return `${count} (${seqRanges(lines.map((l) => l.seq))}: ${first.join(', ')}, …)`
}

/**
 * Where one of our lines stands: sent and not yet acknowledged, delivered
 * (to every peer it was sent to), delivered to some of them but reported not
 * delivered to others (a room member left first), or reported not delivered
 * to any.
 */
export type DeliveryState = 'pending' | 'delivered' | 'partial' | 'lost'

/**
 * The mark after each of our lines in a terminal: one column wide whatever
 * the state (and East Asian "neutral", never "ambiguous", but for the ·
 * people know), so the line never moves when it changes. ◒: half delivered.
 */
export const DELIVERY_MARKS: Record<DeliveryState, string> = { pending: '·', delivered: '✓', partial: '◒', lost: '✗' }
