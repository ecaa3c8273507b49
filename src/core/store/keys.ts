import idEncoding from 'hypercore-id-encoding'
import { ChatError } from '../errors.js'

// Either case for both forms: a key read aloud or retyped from a printout
// may come back in capitals. Each is lower-cased before decoding.
const HEX_KEY = /^[0-9a-f]{64}$/i
// z-base-32 alphabet (hypercore-id-encoding's z32): no 0, l, v, 2.
const Z32_KEY = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/i

/**
 * Parses a public key given as 64 hex or 52 z-base-32 characters, in
 * either case. Throws ChatError INVALID_KEY for anything else.
 */
export function parseKey(input: string): Buffer {
  const text = input.trim().toLowerCase()
  if (!HEX_KEY.test(text) && !Z32_KEY.test(text)) throw ChatError.badKey(input)
  let key: Buffer
  try {
    key = idEncoding.decode(text)
  } catch {
    throw ChatError.badKey(input)
  }
  // 52 z32 characters carry 260 bits: refuse spellings whose 4 spare bits are set,
  // so one key has exactly one z32 form.
  if (text.length === 52 && idEncoding.encode(key) !== text) throw ChatError.badKey(input)
  return key
}

export function isKey(input: string): boolean {
  const text = input.trim()
  return HEX_KEY.test(text) || Z32_KEY.test(text)
}

export function toHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

export function toZ32(key: Uint8Array): string {
  return idEncoding.encode(key)
}

/** First 8 hex characters: what the UI shows next to a peer's lines. */
export function shortKey(key: Uint8Array): string {
  return toHex(key).slice(0, 8)
}
