import type { Line } from '../core/framing.js'
import type { PeerInfo } from '../core/session.js'

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

/** `direct` / `relayed through abcd1234`. */
export function formatPath(peer: PeerInfo): string {
  if (peer.path === 'relayed') return `relayed through ${peer.relay!.slice(0, 8)}`
  return peer.path ?? 'path ?'
}

export function formatRtt(rttMs: number | null): string {
  return rttMs === null ? 'rtt ?' : rttMs < 1 ? 'rtt <1 ms' : `rtt ${rttMs} ms`
}

/** `direct, 1.2.3.4:5, rtt 3 ms`: the path indicator shown on connect and in /peers. */
export function formatPathSummary(peer: PeerInfo): string {
  return `${formatPath(peer)}, ${peer.address ?? 'address ?'}, ${formatRtt(peer.rttMs)}`
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

export const HELP_TEXT = [
  'commands:',
  '  /help                 this help',
  '  /peers                connected peers: key, time connected, address, round-trip time',
  '  /send-to <peer> text  send to one peer only (listener; <peer> is a name or key prefix)',
  '  /clear                clear the screen',
  '  /quit                 leave (same as Ctrl+C)',
  '  //text                send a line that starts with "/"'
].join('\n')

export type SlashCommand =
  | { kind: 'text'; text: string }
  | { kind: 'help' }
  | { kind: 'peers' }
  | { kind: 'quit' }
  | { kind: 'clear' }
  | { kind: 'send-to'; target: string; text: string }
  | { kind: 'unknown'; name: string }
  | { kind: 'usage'; message: string }

/** Parses a typed line: plain text, `//literal`, or a slash command. */
export function parseInput(line: string): SlashCommand {
  if (!line.startsWith('/')) return { kind: 'text', text: line }
  if (line.startsWith('//')) return { kind: 'text', text: line.slice(1) }
  const match = /^\/(\S*)\s*([^]*)$/.exec(line)!
  const name = match[1]!.toLowerCase()
  const rest = match[2]!
  switch (name) {
    case 'help':
    case '?':
      return { kind: 'help' }
    case 'peers':
      return { kind: 'peers' }
    case 'quit':
    case 'exit':
      return { kind: 'quit' }
    case 'clear':
      return { kind: 'clear' }
    case 'send-to': {
      const m = /^(\S+)\s+([^]+)$/.exec(rest)
      if (!m) return { kind: 'usage', message: 'usage: /send-to <peer> text' }
      return { kind: 'send-to', target: m[1]!, text: m[2]! }
    }
    default:
      return { kind: 'unknown', name: '/' + name }
  }
}
