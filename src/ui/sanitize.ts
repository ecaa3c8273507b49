/**
 * A peer controls the bytes it sends; it must not control the terminal.
 * The rule: whatever reaches a terminal is made safe, whatever the mode;
 * raw bytes only ever go to a stdout that is not a terminal.
 *
 * sanitize() turns a peer's line into text that is safe to print: every
 * control character becomes a visible symbol, so an escape sequence shows
 * as harmless text (`␛[2J`) instead of clearing the screen, and invalid
 * UTF-8 becomes U+FFFD.
 *
 * Covered: C0 controls (except tab) and DEL → Control Pictures (␛ ␇ ␈ …);
 * C1 controls U+0080–U+009F (8-bit CSI/OSC/DCS…) → ⟨U+009B⟩; Unicode bidi
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the
 * invisible marks that reorder text (U+200E, U+200F, U+061C) → ⟨U+202E⟩.
 */

import type { Line } from '../core/peer/framing.js'

// ignoreBOM: a TextDecoder drops a leading U+FEFF by default (the encoding's
// byte order mark); a peer's line is text, and a U+FEFF it starts with is part
// of it, as everywhere else in the line.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

/**
 * The one way p2pchat turns a peer's or the user's bytes into text: UTF-8,
 * invalid bytes as U+FFFD, every character kept (a leading U+FEFF too).
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

// One pass over everything unsafe; the replacement depends on the class.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

function visible(ch: string): string {
  const code = ch.charCodeAt(0)
  if (code < 0x20) return String.fromCharCode(0x2400 + code) // ␀…␟ (␛ for ESC)
  if (code === 0x7f) return '\u2421' // ␡
  return `\u27e8U+${code.toString(16).toUpperCase().padStart(4, '0')}\u27e9`
}

/** Decodes a peer's bytes (invalid UTF-8 → U+FFFD) and makes every control visible. */
export function sanitize(input: Uint8Array | string): string {
  const text = typeof input === 'string' ? input : decodeUtf8(input)
  return text.replace(UNSAFE, visible)
}

const CR = 0x0d

/**
 * A peer's line for a terminal. The wire keeps every `\r` (see
 * core/peer/framing.ts), so a line from a peer that ends its lines with
 * `\r\n` (Windows) ends in `\r`: that last `\r` of a whole line belongs to
 * its line end and is not shown. Every other `\r` (in the middle, a second
 * one, the last byte kept of a line cut at the length limit) shows as `␍`.
 */
export function sanitizeLine(line: Line): string {
  const { bytes } = line
  const crlf = line.droppedBytes === 0 && bytes.length > 0 && bytes[bytes.length - 1] === CR
  return sanitize(crlf ? bytes.subarray(0, bytes.length - 1) : bytes)
}

/** True when sanitize() would change nothing. */
export function isSafe(text: string): boolean {
  UNSAFE.lastIndex = 0
  return !UNSAFE.test(text)
}

/**
 * sanitize() for a line of our own that may quote a peer, a file or a user
 * (a notice, an error): every control is made visible, a newline too, so
 * whatever was quoted, it stays one line. Multi-line text of our own (a QR
 * code) goes through ChatUi.block() instead.
 */
export function sanitizeText(text: string): string {
  return sanitize(text)
}

// What JSON.stringify leaves raw and a terminal would act on or reorder by:
// DEL, C1 controls, bidi controls and marks, and the line and paragraph
// separators (which also end a string literal in older JavaScript); and
// U+FEFF, invisible, which some readers take for a byte order mark and drop.
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g

/**
 * JSON.stringify(value) with those characters written as \uXXXX: the same
 * JSON value (a parser reads the same text back), and harmless when the
 * JSON is shown on a terminal. They can only occur inside strings, so
 * replacing them in the whole text is exact.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
