import { DEFAULT_MAX_LINE_BYTES, completeUtf8Length, type Line } from './framing.js'

/*
 * The room's plain-text lines toward peers. A listener forwards each
 * member's lines to the others and tells them who comes and goes, in plain
 * UTF-8 lines, so that the plain HyperDHT example peer reads a room too.
 */

/** Most names listed in the "who is in the room" line sent to a new peer. */
const ROOM_NAMES_SHOWN = 10

/**
 * The longest name a room puts before a forwarded line, in bytes: a contact
 * name (or a name offered by invite) is at most 32 ASCII characters, a short
 * key 8 (see store/contacts.ts).
 */
export const MAX_ROOM_NAME_BYTES = 32
/** The most a listener adds to a member's line when it forwards it: `[name] `. */
export const MAX_SENDER_PREFIX_BYTES = MAX_ROOM_NAME_BYTES + 3
/**
 * The longest line a room member receives: the longest line a member may
 * send (DEFAULT_MAX_LINE_BYTES, what the listener keeps of it) with its
 * sender's prefix. A member's decoder takes this much, so a line within the
 * limit reaches every member whole.
 */
export const ROOM_LINE_MAX_BYTES = DEFAULT_MAX_LINE_BYTES + MAX_SENDER_PREFIX_BYTES

/** What goes before each forwarded line: its sender (never more than MAX_SENDER_PREFIX_BYTES). */
export function senderPrefix(name: string): string {
  let bytes = Buffer.from(name)
  // Names are validated where they come from; should a longer one ever get here, it is cut, not the line.
  if (bytes.byteLength > MAX_ROOM_NAME_BYTES) bytes = bytes.subarray(0, completeUtf8Length(bytes.subarray(0, MAX_ROOM_NAME_BYTES)))
  return `[${bytes.toString()}] `
}

export function joinedLine(name: string): string {
  return `* ${name} joined`
}

export function leftLine(name: string): string {
  return `* ${name} left`
}

/** Said to a member for whom another's lines were dropped: they came faster than it could take them. */
export function notForwardedLine(name: string, lines: number): string {
  return `* ${lines} line${lines === 1 ? '' : 's'} from ${name} ${lines === 1 ? 'was' : 'were'} not forwarded to you: sent faster than your connection could take them`
}

/** Said to a peer turned away from a full room, before its connection is closed. */
export function roomFullLine(max: number): string {
  return `* the room is full (${max} peer${max === 1 ? '' : 's'}); try again later`
}

/**
 * The line a peer joining a room gets: who else is there. Nothing when it is
 * alone: a one-to-one chat's stdout stays exactly what the listener typed.
 */
export function roomLine(others: string[]): string | null {
  if (others.length === 0) return null
  const shown = others.slice(0, ROOM_NAMES_SHOWN).join(', ')
  const more = others.length > ROOM_NAMES_SHOWN ? ` and ${others.length - ROOM_NAMES_SHOWN} more` : ''
  return `* in the room: ${shown}${more} (${others.length} other${others.length === 1 ? '' : 's'})`
}

/** `prefix + line + \n` for every line, in one buffer. */
export function prefixLines(prefix: string, lines: Line[]): Buffer {
  const head = Buffer.from(prefix)
  let total = 0
  for (const l of lines) total += head.byteLength + l.bytes.byteLength + 1
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const l of lines) {
    head.copy(out, at)
    at += head.byteLength
    out.set(l.bytes, at)
    at += l.bytes.byteLength
    out[at++] = 0x0a
  }
  return out
}
