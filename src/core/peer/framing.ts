/**
 * Line framing for the wire format: UTF-8 text, one message per line,
 * terminated by `\n`. Nothing else is on the wire, so a peer that pipes raw
 * stdin into the stream interoperates.
 *
 * A line is every byte before its `\n`, a `\r` included: `\r` is a byte like
 * any other, never dropped or added here, so what was sent arrives byte for
 * byte whatever the packets (`\r\n` from a Windows peer arrives as `\r\n`;
 * a terminal view hides a line's last `\r`, see ui/sanitize.ts). The only
 * thing that decides a line is the byte 0x0A, so where chunks are cut cannot
 * change the result.
 *
 * Lines are split on the byte 0x0A, which never occurs inside a multibyte
 * UTF-8 sequence, so a character split across chunks is reassembled simply by
 * keeping bytes until the newline arrives. Lines stay bytes here; the UI
 * decides how to decode and render them.
 */

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024

const NEWLINE = 0x0a

export interface Line {
  /** The line's bytes without the terminator. */
  bytes: Buffer
  /** Bytes dropped because the line exceeded the limit (0 for a whole line). */
  droppedBytes: number
}

export class LineDecoder {
  readonly maxLineBytes: number
  private pending: Buffer[] = []
  private pendingBytes = 0
  // The current line overflowed: the rest of it is skipped until its newline.
  private discarding = false
  private dropped = 0

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    if (!(maxLineBytes > 0)) throw new RangeError('maxLineBytes must be positive')
    this.maxLineBytes = maxLineBytes
  }

  /**
   * Feeds a chunk; returns the lines it completed (possibly none). A line that
   * lies within one chunk is a view of that chunk, so callers must not reuse
   * a chunk's memory afterwards (UDX and stdin hand over fresh buffers).
   */
  push(chunk: Uint8Array): Line[] {
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const lines: Line[] = []
    let start = 0
    while (start < data.length) {
      const nl = data.indexOf(NEWLINE, start)
      const end = nl === -1 ? data.length : nl
      this.append(data, start, end)
      if (nl === -1) break
      lines.push(this.take())
      start = nl + 1
    }
    return lines
  }

  /** The stream ended: a final line without `\n` is delivered. */
  end(): Line[] {
    if (this.pendingBytes === 0 && !this.discarding) return []
    return [this.take()]
  }

  private append(data: Buffer, start: number, end: number): void {
    if (end === start) return
    if (this.discarding) {
      this.dropped += end - start
      return
    }
    const room = this.maxLineBytes - this.pendingBytes
    if (end - start <= room) {
      this.pending.push(data.subarray(start, end))
      this.pendingBytes += end - start
      return
    }
    // Overflow: keep what fits, drop the rest of this line until its newline.
    // Memory stays bounded by maxLineBytes.
    if (room > 0) {
      this.pending.push(data.subarray(start, start + room))
      this.pendingBytes += room
    }
    this.discarding = true
    this.dropped += end - start - room
  }

  private take(): Line {
    let bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes)
    if (this.discarding && this.dropped > 0) {
      // The cut may have split a character: drop its orphaned first bytes.
      const whole = completeUtf8Length(bytes)
      this.dropped += bytes.length - whole
      bytes = bytes.subarray(0, whole)
    }
    // A line inside one chunk is a view of it, not a copy: lines are consumed
    // (printed, forwarded) at once, so no chunk stays pinned.
    const line: Line = { bytes, droppedBytes: this.dropped }
    this.pending = []
    this.pendingBytes = 0
    this.discarding = false
    this.dropped = 0
    return line
  }
}

/** Length of `buf` without a trailing, incomplete UTF-8 sequence. */
export function completeUtf8Length(buf: Uint8Array): number {
  const len = buf.length
  // A sequence is at most 4 bytes: look back at most 3 for its lead byte.
  for (let back = 1; back <= Math.min(4, len); back++) {
    const b = buf[len - back]!
    if ((b & 0xc0) === 0x80) continue // continuation byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    return need > back ? len - back : len
  }
  return len
}

/** Encodes one message for the wire. Embedded newlines would split it, so they are refused by callers. */
export function encodeLine(text: string | Uint8Array): Buffer {
  if (typeof text === 'string') return Buffer.from(text + '\n', 'utf8')
  const out = Buffer.allocUnsafe(text.byteLength + 1)
  out.set(text, 0)
  out[text.byteLength] = NEWLINE
  return out
}

/** Encodes many messages into one buffer: one write, one encryption, far fewer packets. */
export function encodeLines(lines: Uint8Array[]): Buffer {
  let total = 0
  for (const l of lines) total += l.byteLength + 1
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const l of lines) {
    out.set(l, at)
    at += l.byteLength
    out[at++] = NEWLINE
  }
  return out
}
