import { stripVTControlCharacters } from 'node:util'
import type { Line } from '../core/peer/framing.js'
import type { PeerInfo } from '../core/peer/connection.js'

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

export const HELP_TEXT = [
  'commands:',
  '  /help                 this help',
  '  /peers                connected peers: key, time connected, address, round-trip time',
  '  /send-to <peer> text  send to one peer only (listener; <peer> is a name or key prefix)',
  '  /verify [peer]        the safety words to compare with the peer (listener: every peer, or one)',
  '  /invite               a new one-time invite code that pairs someone with you (listener)',
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
  | { kind: 'verify'; target: string | null }
  | { kind: 'invite' }
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
    case 'verify': {
      const target = rest.trim()
      if (/\s/.test(target)) return { kind: 'usage', message: 'usage: /verify [peer]' }
      return { kind: 'verify', target: target || null }
    }
    case 'invite':
      if (rest.trim()) return { kind: 'usage', message: 'usage: /invite (it takes no arguments: --invite-uses and --invite-expires set the codes)' }
      return { kind: 'invite' }
    default:
      return { kind: 'unknown', name: '/' + name }
  }
}

// Terminal geometry, counted as readline counts it (its own helper is not
// exported; this agrees with it on all but a few rare symbols): wide East
// Asian characters and emoji take 2 columns, combining marks and format
// characters 0. Used to find where a printed line or the prompt starts, so
// it must agree with readline for what people type.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]$/u
const EMOJI = /^\p{Emoji_Presentation}$/u

function isWide(code: number, ch: string): boolean {
  return (
    (code >= 0x1100 &&
      (code <= 0x115f ||
        code === 0x2329 ||
        code === 0x232a ||
        (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) ||
        (code >= 0x3250 && code <= 0x4dff) ||
        (code >= 0x4e00 && code <= 0xa4c6) ||
        (code >= 0xa960 && code <= 0xa97c) ||
        (code >= 0xac00 && code <= 0xd7a3) ||
        (code >= 0xf900 && code <= 0xfaff) ||
        (code >= 0xfe10 && code <= 0xfe19) ||
        (code >= 0xfe30 && code <= 0xfe6b) ||
        (code >= 0xff01 && code <= 0xff60) ||
        (code >= 0xffe0 && code <= 0xffe6) ||
        (code >= 0x17000 && code <= 0x18cd5) ||
        (code >= 0x1b000 && code <= 0x1b2fb) ||
        (code >= 0x1d300 && code <= 0x1d376) ||
        (code >= 0x1f200 && code <= 0x1f251) ||
        (code >= 0x20000 && code <= 0x3fffd))) ||
    EMOJI.test(ch)
  )
}

/**
 * Where the cursor is after writing `text` (one line, escape sequences
 * allowed) from column 0 of a terminal `columns` wide: rows below the start
 * and column. A row filled to the last column counts as moving to the next,
 * as readline counts it.
 */
export function displayPos(text: string, columns: number): { rows: number; cols: number } {
  const width = Math.max(1, columns)
  let offset = 0
  for (const ch of stripVTControlCharacters(text)) {
    if (ch === '\t') {
      offset += 8 - (offset % 8) // to the next tab stop, as readline counts it
    } else if (ZERO_WIDTH.test(ch) && ch !== '\u00ad') {
      // nothing: combining and format characters (a soft hyphen shows)
    } else if (isWide(ch.codePointAt(0)!, ch)) {
      if ((offset + 1) % width === 0) offset++ // a wide character never straddles the edge
      offset += 2
    } else {
      offset += 1
    }
  }
  const cols = offset % width
  return { rows: (offset - cols) / width, cols }
}

/** How many terminal rows a line of text occupies once printed with its newline. */
export function rowsOf(text: string, columns: number): number {
  const { rows, cols } = displayPos(text, columns)
  return cols === 0 && rows > 0 ? rows : rows + 1
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
  const decoder = new TextDecoder()
  const quote = (b: Uint8Array) => {
    const text = decoder.decode(b.byteLength > QUOTED_MAX * 4 ? b.subarray(0, QUOTED_MAX * 4) : b)
    return JSON.stringify(text.length > QUOTED_MAX ? text.slice(0, QUOTED_MAX - 1) + '…' : text)
  }
  const count = lines.length === 1 ? '1 line' : `${lines.length} lines`
  if (lines.length <= shown) return `${count} (${lines.map((l) => `#${l.seq} ${quote(l.bytes)}`).join(', ')})`
  const first = lines.slice(0, shown).map((l) => quote(l.bytes))
  return `${count} (${seqRanges(lines.map((l) => l.seq))}: ${first.join(', ')}, …)`
}

/** Where one of our lines stands: sent and not yet acknowledged, delivered, or reported not delivered. */
export type DeliveryState = 'pending' | 'delivered' | 'lost'

/** The mark after each of our lines in a terminal: one column wide whatever the state, so the line never moves when it changes. */
export const DELIVERY_MARKS: Record<DeliveryState, string> = { pending: '·', delivered: '✓', lost: '✗' }

/** How many terminal rows a block of text (lines separated by \n) occupies once printed with its newline. */
export function blockRows(text: string, columns: number): number {
  let rows = 0
  for (const line of text.split('\n')) rows += rowsOf(line, columns)
  return rows
}

/**
 * The escape sequence that writes `text` (one column wide) at column `col`
 * of the row `up` rows above the cursor, then puts the cursor back on its
 * row at column `backCol`. Relative moves only (they never scroll), so the
 * cursor ends exactly where it was whatever the terminal's size.
 */
export function writeAbove(up: number, col: number, text: string, backCol: number): string {
  if (up < 1) return '' // CSI 0 A means one row: never write on the cursor's own row
  return `\x1b[${up}A\x1b[${col + 1}G${text}\x1b[${up}B\x1b[${backCol + 1}G`
}

/**
 * Where printed lines are on the screen, in rows counted from where the
 * prompt first stood, so a line can be rewritten in place (its delivery mark)
 * while it is still on the screen.
 *
 * Once the screen has scrolled, its last row is the lowest row ever written
 * (a terminal scrolls only when written past its last row), so a row is
 * still on the screen when it is fewer than the screen's height above the
 * lowest row written. Before any scroll, every row written since is on the
 * screen anyway. A resize may rewrap what is on the screen (or push it into
 * the scrollback), which nothing tells: rows printed before it belong to an
 * older `generation` and are never written again, unless the screen is
 * repainted (then the repainted rows are counted anew).
 */
export class ScreenRows {
  /** The row where the prompt starts. */
  promptRow = 0
  /** Bumped when the rows printed so far can no longer be found. */
  generation = 0
  /** The lowest row written since the last restart. */
  private lowest = 0

  /** `rows` rows were printed where the prompt stood; the prompt moves below them. Returns the first row. */
  printed(rows: number): number {
    const top = this.promptRow
    this.promptRow += rows
    this.reach(0)
    return top
  }

  /** Something (the prompt, a half-typed line, the cursor) was written down to `below` rows below the prompt's start. */
  reach(below: number): void {
    this.lowest = Math.max(this.lowest, this.promptRow + below)
  }

  /** Forget where everything printed so far is; `cleared`: the screen was cleared and the prompt is now on its first row. */
  restart(cleared: boolean): void {
    this.generation++
    if (cleared) this.promptRow = 0
    this.lowest = this.promptRow
  }

  /** A row printed in generation `generation` can still be written: it was not lost to a resize and has not scrolled off a screen `height` rows high. */
  onScreen(row: number, generation: number, height: number): boolean {
    return generation === this.generation && row < this.promptRow && this.lowest - row < Math.max(1, height)
  }
}
