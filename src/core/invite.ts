import { randomInt } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type DHT from 'hyperdht'
import type { KeyPair, NoiseStream, Server } from 'hyperdht'
import sodium from 'sodium-native'
import { ChatError, EXIT, fromDhtError } from './errors.js'
import { generateIdentity } from './identity.js'
import { CPace, PakeError, SHARE_BYTES, lvCat } from './pake.js'
import { BIP39_ENGLISH } from './wordlist.js'

/**
 * Invite codes: `7-orbit-tunnel-maple`, said aloud or typed, pair two people
 * once; each side then has the other's long-term key (see the README,
 * "Invite codes: the protocol").
 *
 * The number (the nameplate) is public: it names a rendezvous key, derived
 * from the number alone, that the inviter serves on its DHT node while the
 * code is open. The three words (33 bits) are the secret: they never leave
 * either machine and are used only as the password of a CPace run (pake.ts)
 * over the rendezvous connection. So there is nothing to brute-force offline:
 * no DHT record depends on the words, and a CPace transcript allows no offline
 * guessing. Someone without the words gets one online guess per use of the
 * code, and the inviter burns the code on the first wrong guess.
 *
 * Messages on the rendezvous stream (secret-stream keeps message boundaries),
 * joiner J, inviter L, `sid` the rendezvous connection's Noise handshake hash
 * (so a machine in the middle, which has two handshakes, breaks the run):
 *   J → L  HELLO    0x01 ‖ version ‖ Y_J
 *   L → J  SHARE    0x02 ‖ Y_L
 *   J → L  CONFIRM  0x03 ‖ tag_J ‖ identity_J       (L checks tag_J before anything else)
 *   L → J  WELCOME  0x04 ‖ tag_L ‖ identity_L       (or REFUSED 0x05 ‖ reason)
 * tag_X = BLAKE2b-256(key = ISK, lv_cat(CONFIRM_CONTEXT, X, identity_X)): key
 * confirmation and integrity of what X sent. The joiner confirms first, so
 * the inviter never hands out anything that tests a guess; an impostor at the
 * rendezvous gets one guess from a joiner, who then fails (no tag_L) and stops.
 * identity_X = public key ‖ signature ‖ name length ‖ name, the signature (by
 * that key) over SIGN_CONTEXT ‖ X ‖ BLAKE2b-256(lv_cat(sid, Y_J, Y_L)): proof
 * of the key's secret half, bound to this run.
 */
export const INVITE_PROTOCOL_VERSION = 1
export const INVITE_WORD_COUNT = 3
/** Default lifetime of a code (listen --invite-expires). */
export const INVITE_DEFAULT_EXPIRES_MS = 10 * 60_000
/** Rendezvous runs at once, per code: a bound on what strangers can make the inviter do. */
const MAX_RUNS = 8
/** A rendezvous run that takes longer is dropped (no guess is consumed: nothing was confirmed). */
const RUN_TIMEOUT_MS = 20_000
const MAX_MESSAGE_BYTES = 1 + 32 + 32 + 64 + 1 + 64

const RENDEZVOUS_CONTEXT = 'p2pchat-invite-v1/rendezvous/'
const CI_CONTEXT = Buffer.from('p2pchat-invite-v1')
const CONFIRM_CONTEXT = Buffer.from('p2pchat-invite-v1/confirm')
const SIGN_CONTEXT = Buffer.from('p2pchat-invite-v1/identity')
const TAG_BYTES = 32

const MSG = { HELLO: 1, SHARE: 2, CONFIRM: 3, WELCOME: 4, REFUSED: 5 } as const
/** Why an inviter refused: these words were wrong (the code is now burned); the code is no longer open; someone else's wrong guess burned it. */
export const REFUSAL = { WRONG_CODE: 1, CLOSED: 2, BURNED: 3 } as const

export interface InviteCode {
  nameplate: number
  words: string[]
  /** Canonical spelling: `7-orbit-tunnel-maple`. */
  text: string
}

const CODE_LIKE = /^\s*\d{1,6}(?:[\s-]+[A-Za-z]+)+\s*$/
const MAX_NAMEPLATE = 999_999

/** Whether a connect argument is meant as an invite code (a number, then words). */
export function looksLikeInviteCode(text: string): boolean {
  return CODE_LIKE.test(text)
}

/** Words are unique in their first 4 letters (BIP39): `orbi` is `orbit`. */
const BY_PREFIX = new Map(BIP39_ENGLISH.map((w) => [w.slice(0, 4), w]))

/**
 * Parses what a person typed: any case, dashes or spaces, a word's first four
 * letters for the word. A word that is not on the list is a usage error that
 * names it, found before the network is touched (a typo must not burn a code).
 */
export function parseInviteCode(input: string): InviteCode {
  const parts = input.trim().toLowerCase().split(/[\s-]+/)
  const number = parts.shift() ?? ''
  const bad = (why: string) =>
    new ChatError('INVALID_INVITE_CODE', `invalid invite code ${JSON.stringify(input.trim().slice(0, 80))}: ${why}`, EXIT.USAGE)
  if (!/^\d{1,6}$/.test(number) || Number(number) < 1) throw bad('it starts with the number the inviter was given (1 or more)')
  if (parts.length !== INVITE_WORD_COUNT) throw bad(`an invite code is a number and ${INVITE_WORD_COUNT} words, like 7-orbit-tunnel-maple`)
  const words = parts.map((word) => {
    const known = word.length >= 4 ? BY_PREFIX.get(word.slice(0, 4)) : BIP39_ENGLISH.includes(word) ? word : undefined
    if (!known || (word.length > 4 && !known.startsWith(word))) {
      const near = closeWords(word)
      throw bad(`${JSON.stringify(word)} is not an invite word${near.length ? ` (${near.join(' or ')}?)` : ''}; check the code with the person who gave it (nothing was sent)`)
    }
    return known
  })
  const nameplate = Number(number)
  return { nameplate, words, text: [nameplate, ...words].join('-') }
}

/** The list words closest to a mistyped one (within 2 edits, at most 3): what the person probably meant. */
function closeWords(word: string): string[] {
  const scored = BIP39_ENGLISH.map((w) => [w, editDistance(word, w)] as const).filter(([, d]) => d <= 2)
  const best = Math.min(...scored.map(([, d]) => d))
  return scored
    .filter(([, d]) => d === best)
    .slice(0, 3)
    .map(([w]) => w)
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
}

/** A fresh code for a nameplate: three words from the 2048-word list, uniformly. */
export function newInviteCode(nameplate: number): InviteCode {
  const words = Array.from({ length: INVITE_WORD_COUNT }, () => BIP39_ENGLISH[randomInt(BIP39_ENGLISH.length)]!)
  return { nameplate, words, text: [nameplate, ...words].join('-') }
}

/** The rendezvous key pair of a nameplate: anyone can derive it (it is public by design). */
export function rendezvousKeyPair(nameplate: number): KeyPair {
  const seed = Buffer.alloc(32)
  sodium.crypto_generichash(seed, Buffer.from(RENDEZVOUS_CONTEXT + String(nameplate)))
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

function channelId(rendezvousKey: Buffer): Buffer {
  return lvCat(CI_CONTEXT, rendezvousKey)
}

function blake256(data: Buffer, key?: Buffer): Buffer {
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

type Role = 'J' | 'L'

const NAME_OK = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/

/** Our identity message: key ‖ signature ‖ name length ‖ name. */
function identityMessage(role: Role, identity: KeyPair, name: string, transcript: Buffer): Buffer {
  const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(sig, Buffer.concat([SIGN_CONTEXT, Buffer.from(role), transcript]), identity.secretKey)
  const nameBytes = Buffer.from(NAME_OK.test(name) ? name : '')
  return Buffer.concat([identity.publicKey, sig, Buffer.from([nameBytes.byteLength]), nameBytes])
}

/** The other side's identity message, checked; null when it is malformed or its signature is wrong. */
function readIdentity(role: Role, data: Buffer, transcript: Buffer): PairedPeer | null {
  if (data.byteLength < 32 + 64 + 1) return null
  const key = Buffer.from(data.subarray(0, 32))
  const sig = data.subarray(32, 96)
  const len = data[96]!
  if (data.byteLength !== 97 + len) return null
  const name = data.subarray(97).toString('utf8')
  if (!sodium.crypto_sign_verify_detached(sig, Buffer.concat([SIGN_CONTEXT, Buffer.from(role), transcript]), key)) return null
  return { key, name: NAME_OK.test(name) ? name : '' }
}

function tag(isk: Buffer, role: Role, identity: Buffer): Buffer {
  return blake256(lvCat(CONFIRM_CONTEXT, Buffer.from(role), identity), isk)
}

function transcriptHash(sid: Buffer, yJ: Buffer, yL: Buffer): Buffer {
  return blake256(lvCat(sid, yJ, yL))
}

function asBuffer(data: unknown): Buffer | null {
  if (Buffer.isBuffer(data)) return data
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return null
}

// ---------------------------------------------------------------------------
// The inviter's side
// ---------------------------------------------------------------------------

export type InvitationEnd = 'used' | 'expired' | 'burned' | 'closed'

export interface InvitationEvents {
  /** A joiner proved the code and its key; `usesLeft` after this one. */
  paired: [peer: PairedPeer, usesLeft: number]
  /** A joiner's words were wrong: the code is burned (then `ended('burned')`). */
  'wrong-code': []
  /** The code is no longer open (its rendezvous key is unannounced). */
  ended: [reason: InvitationEnd]
}

export interface InvitationOptions {
  /** The inviter's long-term identity: what the joiner will connect to. */
  identity: KeyPair
  /** The name offered to the joiner (saved in its contacts). */
  name: string
  uses: number
  expiresMs: number
  relayThrough?: Buffer[]
  /** Test seam: the nameplate to use (default: a free one, picked at random). */
  nameplate?: number
  /** Test seam: the words (default: random). */
  words?: string[]
}

/**
 * An open invite code on the inviter's DHT node: serves the rendezvous key
 * until the code is used up, expires, is burned by a wrong guess, or is
 * closed. The core of `listen --invite`; it never prints.
 */
export class Invitation extends EventEmitter<InvitationEvents> {
  private server: Server | null = null
  private expiry: NodeJS.Timeout | null = null
  private runs = 0
  private usesLeft: number
  private endedWith: InvitationEnd | null = null
  readonly expiresAt: Date

  private constructor(
    private readonly dht: DHT,
    readonly code: InviteCode,
    private readonly opts: InvitationOptions
  ) {
    super()
    this.usesLeft = opts.uses
    this.expiresAt = new Date(Date.now() + opts.expiresMs)
  }

  /** Picks a free nameplate, announces its rendezvous key, and starts the expiry clock. */
  static async open(dht: DHT, opts: InvitationOptions): Promise<Invitation> {
    const nameplate = opts.nameplate ?? (await freeNameplate(dht))
    const code = opts.words ? { nameplate, words: opts.words, text: [nameplate, ...opts.words].join('-') } : newInviteCode(nameplate)
    const invitation = new Invitation(dht, code, opts)
    await invitation.listen()
    return invitation
  }

  get ended(): InvitationEnd | null {
    return this.endedWith
  }

  get remaining(): number {
    return this.usesLeft
  }

  private async listen(): Promise<void> {
    const keyPair = rendezvousKeyPair(this.code.nameplate)
    const server = this.dht.createServer(
      {
        // Bounded work for strangers: a few runs at a time, none once the code is spent.
        firewall: () => this.endedWith !== null || this.runs >= MAX_RUNS,
        relayThrough: this.opts.relayThrough?.length ? this.opts.relayThrough : null
      },
      (socket) => this.serve(socket, keyPair.publicKey)
    )
    this.server = server
    await server.listen(keyPair)
    this.expiry = setTimeout(() => this.end('expired'), this.opts.expiresMs)
    this.expiry.unref()
  }

  private serve(socket: NoiseStream, rendezvousKey: Buffer): void {
    this.runs++
    socket.on('error', () => {})
    const timer = setTimeout(() => socket.destroy(), RUN_TIMEOUT_MS)
    socket.once('close', () => {
      clearTimeout(timer)
      this.runs--
    })
    let cpace: CPace | null = null
    let isk: Buffer | null = null
    let yJ: Buffer | null = null
    const refuse = (reason: number) => {
      socket.end(Buffer.from([MSG.REFUSED, reason]))
    }
    socket.on('data', (chunk: unknown) => {
      const msg = asBuffer(chunk)
      if (!msg || msg.byteLength === 0 || msg.byteLength > MAX_MESSAGE_BYTES) return socket.destroy()
      if (this.endedWith) return refuse(this.endedWith === 'burned' ? REFUSAL.BURNED : REFUSAL.CLOSED)
      const sid = socket.handshakeHash
      if (msg[0] === MSG.HELLO && !cpace && sid) {
        if (msg.byteLength !== 2 + SHARE_BYTES || msg[1] !== INVITE_PROTOCOL_VERSION) return socket.destroy()
        yJ = Buffer.from(msg.subarray(2))
        cpace = new CPace(false, Buffer.from(this.code.words.join('-')), channelId(rendezvousKey), sid)
        try {
          isk = cpace.finish(yJ)
        } catch {
          // An invalid share is no guess: nobody can test words with it.
          return socket.destroy()
        }
        socket.write(Buffer.concat([Buffer.from([MSG.SHARE]), cpace.share]))
        return
      }
      if (msg[0] === MSG.CONFIRM && isk && cpace && yJ && sid) {
        const theirTag = msg.subarray(1, 1 + TAG_BYTES)
        const identity = msg.subarray(1 + TAG_BYTES)
        const transcript = transcriptHash(sid, yJ, cpace.share)
        const joiner = theirTag.byteLength === TAG_BYTES && sodium.sodium_memcmp(Buffer.from(theirTag), tag(isk, 'J', identity)) ? readIdentity('J', identity, transcript) : null
        if (!joiner) {
          isk.fill(0)
          // One guess, and it was wrong (or the code's holder sent a forged key): nobody gets another.
          refuse(REFUSAL.WRONG_CODE)
          this.emit('wrong-code')
          this.end('burned')
          return
        }
        const ours = identityMessage('L', this.opts.identity, this.opts.name, transcript)
        const welcome = Buffer.concat([Buffer.from([MSG.WELCOME]), tag(isk, 'L', ours), ours])
        isk.fill(0)
        isk = null
        this.usesLeft--
        socket.end(welcome)
        this.emit('paired', joiner, this.usesLeft)
        if (this.usesLeft === 0) this.end('used')
        return
      }
      socket.destroy()
    })
  }

  /** Stops serving the code (idempotent). */
  async close(): Promise<void> {
    this.end('closed')
    await this.server?.close().catch(() => {})
  }

  private end(reason: InvitationEnd): void {
    if (this.endedWith) return
    this.endedWith = reason
    if (this.expiry) clearTimeout(this.expiry)
    // Unannounce now: a joiner after this hears "no open invite" from the DHT.
    if (reason !== 'closed') void this.server?.close().catch(() => {})
    this.emit('ended', reason)
  }
}

/** A nameplate nobody announces now: short numbers first, longer ones if those seem taken. */
async function freeNameplate(dht: DHT): Promise<number> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const max = attempt < 3 ? 999 : attempt < 6 ? 99_999 : MAX_NAMEPLATE
    const nameplate = 1 + randomInt(max)
    const query = dht.findPeer(rendezvousKeyPair(nameplate).publicKey)
    const taken = await query.finished().then(
      () => query.closestReplies.some((r) => r.value && r.value.byteLength > 0),
      () => false
    )
    if (!taken) return nameplate
  }
  throw new ChatError('INVITE_NO_NAMEPLATE', 'could not find a free invite number on the DHT (8 tries): try again', EXIT.NETWORK)
}

// ---------------------------------------------------------------------------
// The joiner's side
// ---------------------------------------------------------------------------

export interface RedeemOptions {
  /** Our long-term identity: what the inviter saves and admits. */
  identity: KeyPair
  /** The name we offer to be saved under. */
  name: string
  timeoutMs: number
  relayThrough?: Buffer[]
}

/**
 * Runs the joiner's side of a code: reaches the rendezvous, proves the words,
 * and returns the inviter's long-term key and offered name. Throws ChatError:
 * INVITE_WRONG_CODE (exit 11) when the words did not match (the code is then
 * burned), INVITE_UNAVAILABLE (exit 12) when no open code has this number,
 * else the connection's error. Never tries twice: each try is a guess.
 */
export async function redeemInvite(dht: DHT, code: InviteCode, opts: RedeemOptions): Promise<PairedPeer> {
  const rendezvousKey = rendezvousKeyPair(code.nameplate).publicKey
  // A throwaway key for the rendezvous: whoever answers there learns nothing about us before the words are proven.
  const socket = dht.connect(rendezvousKey, { keyPair: generateIdentity(), relayThrough: opts.relayThrough?.length ? opts.relayThrough : null })
  socket.on('error', () => {})
  return new Promise<PairedPeer>((resolve, reject) => {
    let cpace: CPace | null = null
    let isk: Buffer | null = null
    let ours: Buffer | null = null
    let transcript: Buffer | null = null
    let confirmed = false
    let settled = false
    const timer = setTimeout(() => fail(inviteTimeout(opts.timeoutMs, confirmed)), opts.timeoutMs)
    const finish = () => {
      settled = true
      clearTimeout(timer)
      isk?.fill(0)
      isk = null
    }
    const fail = (err: ChatError) => {
      if (settled) return
      finish()
      socket.destroy()
      reject(err)
    }
    socket.once('open', () => {
      const sid = socket.handshakeHash
      if (!sid) return fail(inviteProtocolError('the rendezvous connection has no handshake hash'))
      cpace = new CPace(true, Buffer.from(code.words.join('-')), channelId(rendezvousKey), sid)
      socket.write(Buffer.concat([Buffer.from([MSG.HELLO, INVITE_PROTOCOL_VERSION]), cpace.share]))
    })
    socket.on('data', (chunk: unknown) => {
      const msg = asBuffer(chunk)
      const sid = socket.handshakeHash
      if (!msg || msg.byteLength === 0 || msg.byteLength > MAX_MESSAGE_BYTES || !sid || !cpace) return fail(inviteProtocolError('it sent an unexpected message'))
      if (msg[0] === MSG.REFUSED) return fail(refusal(msg[1] ?? 0, code, confirmed))
      if (msg[0] === MSG.SHARE && !isk && msg.byteLength === 1 + SHARE_BYTES) {
        const yL = Buffer.from(msg.subarray(1))
        try {
          isk = cpace.finish(yL)
        } catch (err) {
          return fail(inviteProtocolError(err instanceof PakeError ? err.message : String(err)))
        }
        transcript = transcriptHash(sid, cpace.share, yL)
        ours = identityMessage('J', opts.identity, opts.name, transcript)
        confirmed = true
        socket.write(Buffer.concat([Buffer.from([MSG.CONFIRM]), tag(isk, 'J', ours), ours]))
        return
      }
      if (msg[0] === MSG.WELCOME && isk && transcript) {
        const theirTag = Buffer.from(msg.subarray(1, 1 + TAG_BYTES))
        const identity = msg.subarray(1 + TAG_BYTES)
        const inviter = theirTag.byteLength === TAG_BYTES && sodium.sodium_memcmp(theirTag, tag(isk, 'L', identity)) ? readIdentity('L', identity, transcript) : null
        if (!inviter) return fail(impostor(code))
        finish()
        socket.end()
        resolve(inviter)
        return
      }
      fail(inviteProtocolError('it sent an unexpected message'))
    })
    socket.once('close', () => {
      if (settled) return
      // Gone after our confirmation: it did not accept the words (an inviter always answers), or it was not the inviter.
      fail(confirmed ? impostor(code) : inviteProtocolError('it closed the connection'))
    })
    socket.once('error', (err: unknown) => {
      const e = fromDhtError(err)
      // Nobody announces the number, or a stale announcement's node no longer serves it.
      fail(e.code === 'PEER_NOT_FOUND' || e.code === 'PEER_CONNECTION_FAILED' ? unavailable(code) : e)
    })
  })
}

function refusal(reason: number, code: InviteCode, confirmed: boolean): ChatError {
  if (reason === REFUSAL.WRONG_CODE && confirmed) {
    return new ChatError(
      'INVITE_WRONG_CODE',
      `wrong invite code: the inviter's words do not match ${code.text}; the code is now burned (no second guess): ask for a new one`,
      EXIT.INVITE_WRONG_CODE
    )
  }
  if (reason === REFUSAL.BURNED) {
    return new ChatError(
      'INVITE_UNAVAILABLE',
      `invite code ${code.nameplate}-… was burned by a wrong guess before yours (someone else tried it): ask for a new one`,
      EXIT.INVITE_UNAVAILABLE
    )
  }
  return unavailable(code)
}

function unavailable(code: InviteCode): ChatError {
  return new ChatError(
    'INVITE_UNAVAILABLE',
    `no open invite with number ${code.nameplate}: it expired, was used up or burned, or the inviter stopped (or is on another DHT network): ask for a new code`,
    EXIT.INVITE_UNAVAILABLE
  )
}

function impostor(code: InviteCode): ChatError {
  return new ChatError(
    'INVITE_WRONG_CODE',
    `invite code ${code.text} failed: whoever answered at its rendezvous did not prove the same words (a wrong code, or not the inviter); nothing was exchanged and the code must not be tried again: ask for a new one`,
    EXIT.INVITE_WRONG_CODE
  )
}

function inviteProtocolError(why: string): ChatError {
  return new ChatError('INVITE_PROTOCOL', `invite failed: the rendezvous peer broke the protocol (${why}); nothing was exchanged`, EXIT.CONNECTION_FAILED)
}

function inviteTimeout(ms: number, confirmed: boolean): ChatError {
  const after = confirmed ? '; the words were sent, so treat the code as spent and ask for a new one' : ''
  return new ChatError('TIMEOUT', `invite timed out after ${Math.round(ms / 1000)} s${after}`, EXIT.TIMEOUT)
}
