import type { ChatError } from '../core/errors.js'
import type { Line } from '../core/framing.js'

/** `[abcd1234] text` — how a listener shows a peer's line. */
export function formatPeerLine(shortKey: string, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`[${shortKey}] `), bytes])
}

/** A notice for a line that was cut, or null for a whole line. */
export function lineNotice(line: Line, verb: 'kept' | 'sent' = 'kept'): string | null {
  if (line.droppedBytes === 0) return null
  return `line too long: ${verb} the first ${line.bytes.length} bytes, dropped ${line.droppedBytes}`
}

export function describeClose(error: ChatError | null): string {
  return error ? ` (${error.message})` : ''
}
