import sodium from 'sodium-native'
import { BIP39_ENGLISH } from '../wordlist.js'

/**
 * Safety words: a few words both ends of one connection derive from its
 * Noise handshake hash (`NoiseSecretStream.handshakeHash`), which is the same
 * on both ends only when they ran the handshake with each other. A man in the
 * middle runs two handshakes, one with each side, with two different hashes:
 * the two people then read different words (compared aloud, or over another
 * channel). A new connection has a new handshake, so new words.
 *
 * d = BLAKE2b-256(handshakeHash, key = "p2pchat/safety-words/v1"); the first
 * 44 bits of d, big-endian, are 4 indexes of 11 bits into the BIP39 English
 * list. Why 4 words: in hyperdht's IK handshake the responder picks its
 * ephemeral key after seeing the initiator's, so a man in the middle can try
 * keys until both hashes give the same words; 44 bits is about 1.7e13
 * X25519 + BLAKE2b tries within one connect timeout, out of reach (3 words,
 * 8.6e9, are not).
 *
 * BLAKE2b comes from sodium-native (libsodium's crypto_generichash, which
 * hyperdht and secret-stream already load): node:crypto has BLAKE2b-512 only,
 * without a key.
 */
export const SAFETY_WORDS_KEY = Buffer.from('p2pchat/safety-words/v1')
export const SAFETY_WORD_COUNT = 4
const BITS_PER_WORD = 11

/** The safety words of a connection, from its Noise handshake hash. */
export function safetyWords(handshakeHash: Uint8Array): string[] {
  if (handshakeHash.byteLength === 0) throw new TypeError('safetyWords: empty handshake hash')
  const d = Buffer.alloc(32)
  sodium.crypto_generichash(d, Buffer.from(handshakeHash.buffer, handshakeHash.byteOffset, handshakeHash.byteLength), SAFETY_WORDS_KEY)
  // 44 bits fit a double exactly: read the first 6 bytes (48 bits) and drop the last 4.
  const bits = d.readUIntBE(0, 6) / 2 ** (48 - SAFETY_WORD_COUNT * BITS_PER_WORD)
  const words: string[] = []
  for (let i = SAFETY_WORD_COUNT - 1; i >= 0; i--) {
    const index = Math.floor(bits / 2 ** (i * BITS_PER_WORD)) % 2 ** BITS_PER_WORD
    words.push(BIP39_ENGLISH[index]!)
  }
  return words
}
