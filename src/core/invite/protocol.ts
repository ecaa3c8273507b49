import type DHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import sodium from 'sodium-native'
import { isOfferableName } from '../store/contacts.js'
import { lvCat } from './pake.js'

/**
 * Invite codes: `7-orbit-tunnel-maple`, said aloud or typed, pair two people
 * once; each side then has the other's long-term key (see the README,
 * "Invite codes: pair once, reconnect forever").
 *
 * The number (the nameplate) is public: it names a DHT topic under which the
 * inviter announces a fresh rendezvous key for as long as the code is open.
 * Announcements under a topic are per key and signed, so nobody can replace
 * or remove the inviter's: a second announcer (a squatter) is seen by the
 * joiner, who then refuses to guess, and by the inviter, who says so. The
 * three words (33 bits) are the secret: they never leave either machine and
 * are used only as the password of a CPace run (pake.ts) over the rendezvous
 * connection. No DHT record depends on the words, and a CPace transcript
 * allows no offline guessing: someone without the words gets one online
 * guess per attempt, and the inviter burns the code on the first wrong one.
 *
 * Messages on the rendezvous stream (secret-stream keeps message boundaries),
 * joiner J, inviter L, `sid` the rendezvous connection's Noise handshake hash
 * (so a machine in the middle, which has two handshakes, breaks the run):
 *   J → L  HELLO    0x01 ‖ version ‖ Y_J
 *   L → J  SHARE    0x02 ‖ Y_L
 *   J → L  CONFIRM  0x03 ‖ tag_J ‖ box_J      (L checks tag_J before anything else)
 *   L → J  WELCOME  0x04 ‖ tag_L ‖ box_L      (or REFUSED 0x05 ‖ reason)
 * box_X = crypto_secretbox(identity_X, nonce 0, key BLAKE2b-256(key = ISK, "…/box" ‖ X)):
 * only the holder of the words reads whom the other side is. tag_J =
 * BLAKE2b-256(key = ISK, lv_cat(CONFIRM_CONTEXT, "J", box_J)), tag_L the same
 * over "L", box_L and box_J: key confirmation, and agreement on both
 * identities. The joiner confirms first, so the inviter hands out nothing
 * that tests a guess before it has judged the joiner's.
 * identity_X = public key ‖ signature ‖ name length ‖ name, the signature (by
 * that key) over SIGN_CONTEXT ‖ X ‖ BLAKE2b-256(lv_cat(sid, Y_J, Y_L)): proof
 * of the key's secret half, bound to this run.
 */
export const INVITE_PROTOCOL_VERSION = 1
const NAME_MAX_BYTES = 32
const IDENTITY_MAX_BYTES = 32 + 64 + 1 + NAME_MAX_BYTES
const BOX_MAC_BYTES = 16
/** The largest message: CONFIRM or WELCOME with a full name (178 bytes). */
export const MAX_MESSAGE_BYTES = 1 + 32 + IDENTITY_MAX_BYTES + BOX_MAC_BYTES

const RENDEZVOUS_CONTEXT = 'p2pchat-invite-v1/rendezvous/'
const CI_CONTEXT = Buffer.from('p2pchat-invite-v1')
const CONFIRM_CONTEXT = Buffer.from('p2pchat-invite-v1/confirm')
const BOX_CONTEXT = 'p2pchat-invite-v1/box/'
const SIGN_CONTEXT = Buffer.from('p2pchat-invite-v1/identity')
export const TAG_BYTES = 32

export const MSG = { HELLO: 1, SHARE: 2, CONFIRM: 3, WELCOME: 4, REFUSED: 5 } as const
/** Why an inviter refused: these words were wrong (the code is now burned); the code is no longer open; someone else's wrong guess burned it. */
export const REFUSAL = { WRONG_CODE: 1, CLOSED: 2, BURNED: 3 } as const

export function rendezvousTopic(nameplate: number): Buffer {
  return blake256(Buffer.from(RENDEZVOUS_CONTEXT + String(nameplate)))
}

/** The distinct keys announced under a nameplate's topic now. */
export async function announcedAt(dht: DHT, nameplate: number): Promise<Buffer[]> {
  const keys = new Map<string, Buffer>()
  const query = dht.lookup(rendezvousTopic(nameplate))
  query.on('data', (reply) => {
    for (const peer of reply.peers) keys.set(peer.publicKey.toString('hex'), peer.publicKey)
  })
  await query.finished()
  return [...keys.values()]
}

export function channelId(rendezvousKey: Buffer): Buffer {
  return lvCat(CI_CONTEXT, rendezvousKey)
}

export function blake256(data: Buffer, key?: Buffer): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, data, key)
  return out
}

/** What the other side of a pairing told us, proven. */
export interface PairedPeer {
  key: Buffer
  /** The name it offers to be saved under (a valid contact name, or '' when it offered none). */
  name: string
}

export type Role = 'J' | 'L'

function offeredName(name: string): string {
  return isOfferableName(name) ? name : ''
}

/** Our identity message: key ‖ signature ‖ name length ‖ name. */
export function identityMessage(role: Role, identity: KeyPair, name: string, transcript: Buffer): Buffer {
  const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(sig, Buffer.concat([SIGN_CONTEXT, Buffer.from(role), transcript]), identity.secretKey)
  const nameBytes = Buffer.from(offeredName(name))
  return Buffer.concat([identity.publicKey, sig, Buffer.from([nameBytes.byteLength]), nameBytes])
}

/** The other side's identity message, checked; null when it is malformed or its signature is wrong. */
export function readIdentity(role: Role, data: Buffer, transcript: Buffer): PairedPeer | null {
  if (data.byteLength < 32 + 64 + 1) return null
  const key = Buffer.from(data.subarray(0, 32))
  const sig = data.subarray(32, 96)
  const len = data[96]!
  if (data.byteLength !== 97 + len) return null
  const name = data.subarray(97).toString('utf8')
  if (!sodium.crypto_sign_verify_detached(sig, Buffer.concat([SIGN_CONTEXT, Buffer.from(role), transcript]), key)) return null
  return { key, name: offeredName(name) }
}

export function tag(isk: Buffer, role: Role, ...boxes: Buffer[]): Buffer {
  return blake256(lvCat(CONFIRM_CONTEXT, Buffer.from(role), ...boxes), isk)
}

function boxKey(isk: Buffer, role: Role): Buffer {
  return blake256(Buffer.from(BOX_CONTEXT + role), isk)
}

/** One message per key (a fresh ISK per run, one key per role): a zero nonce is safe. */
export function seal(isk: Buffer, role: Role, plain: Buffer): Buffer {
  const key = boxKey(isk, role)
  const out = Buffer.alloc(plain.byteLength + BOX_MAC_BYTES)
  sodium.crypto_secretbox_easy(out, plain, Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES), key)
  key.fill(0)
  return out
}

export function open(isk: Buffer, role: Role, box: Buffer): Buffer | null {
  if (box.byteLength < BOX_MAC_BYTES) return null
  const key = boxKey(isk, role)
  const out = Buffer.alloc(box.byteLength - BOX_MAC_BYTES)
  const ok = sodium.crypto_secretbox_open_easy(out, box, Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES), key)
  key.fill(0)
  return ok ? out : null
}

export function transcriptHash(sid: Buffer, yJ: Buffer, yL: Buffer): Buffer {
  return blake256(lvCat(sid, yJ, yL))
}

export function asBuffer(data: unknown): Buffer | null {
  if (Buffer.isBuffer(data)) return data
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return null
}
