import sodium from 'sodium-native'

/**
 * CPace (draft-irtf-cfrg-cpace-18) on the prime-order subgroup of Ed25519,
 * with libsodium (sodium-native, which hyperdht already loads) for every group
 * operation: no group arithmetic is written here.
 *
 * Why this construction: both sides derive a generator from the shared
 * password, the channel identifier and the session id, then run Diffie-Hellman
 * on it. Someone who does not know the password gets one guess per run, and a
 * transcript (recorded, or sent by an impostor) allows no offline guessing.
 *
 * Where it departs from the draft's ciphersuites, and why: the draft defines
 * CPace on ristretto255, decaf448 and the short-Weierstrass curves, not on
 * Ed25519's subgroup; sodium-native 5 has no ristretto255. So:
 * - generator: g = crypto_core_ed25519_from_uniform(SHA-512(gen_str)[0..32])
 *   (Elligator 2 and cofactor clearing: a point of the prime-order subgroup
 *   whose discrete log nobody knows), gen_str as in the draft:
 *   lv_cat(DSI, PRS, ZPAD, CI, sid);
 * - shares: Y = y·g with y uniform in [1, L) (crypto_core_ed25519_scalar_random);
 * - a received share must be a valid point of the main subgroup, not of small
 *   order (crypto_core_ed25519_is_valid_point), else the run fails;
 * - K = y·Y' (the identity element makes libsodium fail, so does the run);
 * - ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb, ADb)),
 *   the initiator-responder transcript with empty associated data.
 */
export const CPACE_DSI = Buffer.from('CPace-p2pchat-Ed25519-SHA512-v1')
/** SHA-512's input block size (s_in_bytes in the draft), for the zero padding. */
const HASH_BLOCK_BYTES = 128
export const SHARE_BYTES = 32
export const ISK_BYTES = 64

/** The draft's prepend_len: LEB128 length, then the bytes. */
export function prependLen(data: Uint8Array): Buffer {
  const len: number[] = []
  let n = data.byteLength
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n > 0) byte |= 0x80
    len.push(byte)
  } while (n > 0)
  return Buffer.concat([Buffer.from(len), data])
}

export function lvCat(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map(prependLen))
}

function sha512(data: Uint8Array): Buffer {
  const out = Buffer.alloc(sodium.crypto_hash_sha512_BYTES)
  sodium.crypto_hash_sha512(out, Buffer.from(data))
  return out
}

/** The draft's generator_string: lv_cat(DSI, PRS, ZPAD, CI, sid). */
export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Buffer {
  const zpadLen = Math.max(0, HASH_BLOCK_BYTES - 1 - prependLen(prs).byteLength - prependLen(CPACE_DSI).byteLength)
  return lvCat(CPACE_DSI, prs, Buffer.alloc(zpadLen), ci, sid)
}

/** The password's generator: a point of the prime-order subgroup. */
export function generator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Buffer {
  const g = Buffer.alloc(sodium.crypto_core_ed25519_BYTES)
  sodium.crypto_core_ed25519_from_uniform(g, sha512(generatorString(prs, ci, sid)).subarray(0, sodium.crypto_core_ed25519_UNIFORMBYTES))
  return g
}

export class PakeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PakeError'
  }
}

/**
 * One side of one CPace run. `initiator` orders the transcript (the joiner
 * initiates). Make a new one per run: the secret scalar is used once.
 */
export class CPace {
  readonly share: Buffer
  private scalar: Buffer | null

  constructor(
    private readonly initiator: boolean,
    prs: Uint8Array,
    ci: Uint8Array,
    private readonly sid: Uint8Array,
    /** Test seam: a fixed scalar (32 bytes, reduced), for known-answer tests. */
    scalar?: Buffer
  ) {
    const g = generator(prs, ci, sid)
    this.scalar = Buffer.alloc(sodium.crypto_core_ed25519_SCALARBYTES)
    if (scalar) scalar.copy(this.scalar)
    else sodium.crypto_core_ed25519_scalar_random(this.scalar)
    this.share = Buffer.alloc(SHARE_BYTES)
    sodium.crypto_scalarmult_ed25519_noclamp(this.share, this.scalar, g)
  }

  /** The intermediate session key, from the other side's share. Throws PakeError for an invalid share. */
  finish(peerShare: Uint8Array): Buffer {
    if (!this.scalar) throw new PakeError('this CPace run is already finished')
    const peer = Buffer.from(peerShare)
    if (peer.byteLength !== SHARE_BYTES || !sodium.crypto_core_ed25519_is_valid_point(peer)) {
      this.wipe()
      throw new PakeError('the peer sent an invalid CPace share')
    }
    const k = Buffer.alloc(sodium.crypto_core_ed25519_BYTES)
    try {
      sodium.crypto_scalarmult_ed25519_noclamp(k, this.scalar, peer)
    } catch {
      throw new PakeError('the peer sent an invalid CPace share')
    } finally {
      this.wipe()
    }
    const [ya, yb] = this.initiator ? [this.share, peer] : [peer, this.share]
    const empty = Buffer.alloc(0)
    const isk = sha512(Buffer.concat([lvCat(Buffer.concat([CPACE_DSI, Buffer.from('_ISK')]), this.sid, k), lvCat(ya, empty), lvCat(yb, empty)]))
    sodium.sodium_memzero(k)
    return isk
  }

  private wipe(): void {
    if (this.scalar) sodium.sodium_memzero(this.scalar)
    this.scalar = null
  }
}
