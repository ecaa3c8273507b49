import { randomInt } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type DHT from 'hyperdht'
import type { KeyPair, NoiseStream, Server } from 'hyperdht'
import sodium from 'sodium-native'
import { isOfferableName } from '../store/contacts.js'
import { ChatError, EXIT, fromDhtError } from '../errors.js'
import { generateIdentity } from '../store/identity.js'
import { CPace, PakeError, SHARE_BYTES, lvCat } from './pake.js'
import { BIP39_ENGLISH } from '../wordlist.js'

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
export const INVITE_WORD_COUNT = 3
/** Default lifetime of a code (listen --invite-expires). */
export const INVITE_DEFAULT_EXPIRES_MS = 10 * 60_000
/** Rendezvous runs at once, per code: a bound on what strangers can make the inviter do. */
const MAX_RUNS = 8
/** A rendezvous run that takes longer is dropped (no guess is consumed: nothing was confirmed). */
const RUN_TIMEOUT_MS = 20_000
/** An announcement lives ~20 min on DHT nodes: renewed well before, while the code is open. */
const REANNOUNCE_MS = 5 * 60_000
/** How often the inviter looks for someone else announcing its number. */
export const CONTENTION_CHECK_MS = 15_000
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

/** The DHT topic of a nameplate, under which an open code's rendezvous key is announced (public by design). */
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

function offeredName(name: string): string {
  return isOfferableName(name) ? name : ''
}

/** Our identity message: key ‖ signature ‖ name length ‖ name. */
function identityMessage(role: Role, identity: KeyPair, name: string, transcript: Buffer): Buffer {
  const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(sig, Buffer.concat([SIGN_CONTEXT, Buffer.from(role), transcript]), identity.secretKey)
  const nameBytes = Buffer.from(offeredName(name))
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
  return { key, name: offeredName(name) }
}

function tag(isk: Buffer, role: Role, ...boxes: Buffer[]): Buffer {
  return blake256(lvCat(CONFIRM_CONTEXT, Buffer.from(role), ...boxes), isk)
}

function boxKey(isk: Buffer, role: Role): Buffer {
  return blake256(Buffer.from(BOX_CONTEXT + role), isk)
}

/** One message per key (a fresh ISK per run, one key per role): a zero nonce is safe. */
function seal(isk: Buffer, role: Role, plain: Buffer): Buffer {
  const key = boxKey(isk, role)
  const out = Buffer.alloc(plain.byteLength + BOX_MAC_BYTES)
  sodium.crypto_secretbox_easy(out, plain, Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES), key)
  key.fill(0)
  return out
}

function open(isk: Buffer, role: Role, box: Buffer): Buffer | null {
  if (box.byteLength < BOX_MAC_BYTES) return null
  const key = boxKey(isk, role)
  const out = Buffer.alloc(box.byteLength - BOX_MAC_BYTES)
  const ok = sodium.crypto_secretbox_open_easy(out, box, Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES), key)
  key.fill(0)
  return ok ? out : null
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
  /** Someone else announces this code's number (a squatter): joiners who see two refuse to guess. Once per key. */
  contested: [otherKey: Buffer]
  /** Strangers hold every rendezvous slot: further attempts are turned away for now (once per burst). */
  busy: []
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
  /** Test seam: how often to look for a squatter (default CONTENTION_CHECK_MS). */
  contentionCheckMs?: number
}

/**
 * An open invite code on the inviter's DHT node: serves a fresh rendezvous
 * key, announced under the code's number, until the code is used up,
 * expires, is burned by a wrong guess, or is closed. The core of
 * `listen --invite`; it never prints.
 */
export class Invitation extends EventEmitter<InvitationEvents> {
  private server: Server | null = null
  private readonly timers: NodeJS.Timeout[] = []
  private runs = 0
  private usesLeft: number
  private endedWith: InvitationEnd | null = null
  private readonly keyPair: KeyPair = generateIdentity()
  private readonly squatters = new Set<string>()
  private saidBusy = false
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

  /** Picks a free nameplate, announces the rendezvous key under it, and starts the expiry clock. */
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

  /** The rendezvous key (fresh per code): what a joiner connects to. */
  get rendezvousKey(): Buffer {
    return this.keyPair.publicKey
  }

  private async listen(): Promise<void> {
    const server = this.dht.createServer(
      {
        // Bounded work for strangers: a few runs at a time, none once the code is spent.
        firewall: () => this.endedWith !== null || this.runs >= MAX_RUNS,
        relayThrough: this.opts.relayThrough?.length ? this.opts.relayThrough : null
      },
      (socket) => this.serve(socket)
    )
    this.server = server
    await server.listen(this.keyPair)
    await this.announce()
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms)
      t.unref()
      this.timers.push(t)
    }
    every(REANNOUNCE_MS, () => void this.announce().catch(() => {}))
    every(this.opts.contentionCheckMs ?? CONTENTION_CHECK_MS, () => void this.checkContention().catch(() => {}))
    const expiry = setTimeout(() => this.end('expired'), this.opts.expiresMs)
    expiry.unref()
    this.timers.push(expiry)
  }

  private async announce(): Promise<void> {
    if (this.endedWith) return
    await this.dht.announce(rendezvousTopic(this.code.nameplate), this.keyPair, []).finished()
  }

  /** Someone else announcing our number makes joiners refuse it: say so, once per key. */
  private async checkContention(): Promise<void> {
    if (this.endedWith) return
    for (const key of await announcedAt(this.dht, this.code.nameplate)) {
      const hex = key.toString('hex')
      if (this.endedWith || key.equals(this.keyPair.publicKey) || this.squatters.has(hex)) continue
      this.squatters.add(hex)
      this.emit('contested', key)
    }
  }

  private serve(socket: NoiseStream): void {
    socket.on('error', () => {})
    // The firewall runs before hole punching, so a burst of handshakes can pass it together: the hard bound is here.
    if (this.runs >= MAX_RUNS) {
      if (!this.saidBusy) this.emit('busy')
      this.saidBusy = true
      socket.destroy()
      return
    }
    this.runs++
    const timer = setTimeout(() => socket.destroy(), RUN_TIMEOUT_MS)
    socket.once('close', () => {
      clearTimeout(timer)
      this.runs--
      if (this.runs === 0) {
        this.saidBusy = false
        this.idle?.()
      }
    })
    let cpace: CPace | null = null
    let isk: Buffer | null = null
    let yJ: Buffer | null = null
    const drop = () => {
      isk?.fill(0)
      isk = null
      socket.destroy()
    }
    const refuse = (reason: number) => {
      isk?.fill(0)
      isk = null
      socket.end(Buffer.from([MSG.REFUSED, reason]))
    }
    socket.on('data', (chunk: unknown) => {
      const msg = asBuffer(chunk)
      if (!msg || msg.byteLength === 0 || msg.byteLength > MAX_MESSAGE_BYTES) return drop()
      if (this.endedWith) return refuse(this.endedWith === 'burned' ? REFUSAL.BURNED : REFUSAL.CLOSED)
      const sid = socket.handshakeHash
      if (msg[0] === MSG.HELLO && !cpace && sid) {
        if (msg.byteLength !== 2 + SHARE_BYTES || msg[1] !== INVITE_PROTOCOL_VERSION) return drop()
        yJ = Buffer.from(msg.subarray(2))
        cpace = new CPace(false, Buffer.from(this.code.words.join('-')), channelId(this.keyPair.publicKey), sid)
        try {
          isk = cpace.finish(yJ)
        } catch {
          // An invalid share is no guess: nobody can test words with it.
          return drop()
        }
        socket.write(Buffer.concat([Buffer.from([MSG.SHARE]), cpace.share]))
        return
      }
      if (msg[0] === MSG.CONFIRM && isk && cpace && yJ && sid && msg.byteLength > 1 + TAG_BYTES) {
        const theirTag = Buffer.from(msg.subarray(1, 1 + TAG_BYTES))
        const boxJ = Buffer.from(msg.subarray(1 + TAG_BYTES))
        const transcript = transcriptHash(sid, yJ, cpace.share)
        // Judged at once, in this tick: a burst of parallel guesses gets one judgement, then refusals.
        const plain = sodium.sodium_memcmp(theirTag, tag(isk, 'J', boxJ)) ? open(isk, 'J', boxJ) : null
        const joiner = plain ? readIdentity('J', plain, transcript) : null
        if (!joiner) {
          // One guess, and it was wrong (or the code's holder sent a forged key): nobody gets another.
          refuse(REFUSAL.WRONG_CODE)
          this.emit('wrong-code')
          this.end('burned')
          return
        }
        const boxL = seal(isk, 'L', identityMessage('L', this.opts.identity, this.opts.name, transcript))
        const welcome = Buffer.concat([Buffer.from([MSG.WELCOME]), tag(isk, 'L', boxL, boxJ), boxL])
        isk.fill(0)
        isk = null
        this.usesLeft--
        socket.end(welcome)
        this.emit('paired', joiner, this.usesLeft)
        if (this.usesLeft === 0) this.end('used')
        return
      }
      drop()
    })
  }

  /** Stops serving the code and unannounces it (idempotent). */
  async close(): Promise<void> {
    this.end('closed')
    // The process is going: runs still open get no grace.
    this.idle?.()
    await this.stopped
  }

  private stopped: Promise<void> = Promise.resolve()
  private idle: (() => void) | null = null

  private end(reason: InvitationEnd): void {
    if (this.endedWith) return
    this.endedWith = reason
    for (const t of this.timers) clearTimeout(t)
    // Unannounce now: a joiner after this finds nobody at the number (the firewall turns away new runs meanwhile).
    const unannounced = this.dht.unannounce(rendezvousTopic(this.code.nameplate), this.keyPair).catch(() => {})
    // Close the server only once the runs still open are over: closing it resets
    // streams whose handshake is recent, and a relayed one stays "recent" (hyperdht
    // Server._clearAll), so the WELCOME just sent (or the REFUSED) would never arrive.
    const idle = new Promise<void>((resolve) => {
      const grace = setTimeout(resolve, RUN_TIMEOUT_MS)
      grace.unref()
      this.idle = () => {
        clearTimeout(grace)
        resolve()
      }
      if (this.runs === 0) resolve()
    })
    const server = this.server
    this.stopped = Promise.all([unannounced, idle.then(() => server?.close().catch(() => {}))]).then(() => {})
    this.emit('ended', reason)
  }
}

/** A nameplate nobody announces now: short numbers first, longer ones if those seem taken. */
async function freeNameplate(dht: DHT): Promise<number> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const max = attempt < 3 ? 999 : attempt < 6 ? 99_999 : MAX_NAMEPLATE
    const nameplate = 1 + randomInt(max)
    const taken = await announcedAt(dht, nameplate).then(
      (keys) => keys.length > 0,
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
 * Runs the joiner's side of a code: finds the one key announced under its
 * number, proves the words, and returns the inviter's long-term key and
 * offered name. Throws ChatError: INVITE_WRONG_CODE (exit 11) when the words
 * did not match (the code is then burned) or whoever answered did not prove
 * them; INVITE_UNAVAILABLE (exit 12) when no open code has this number, or
 * more than one key is announced under it (someone squats it: no guess is
 * given away); else the connection's error. Never tries twice: each try is a guess.
 */
export async function redeemInvite(dht: DHT, code: InviteCode, opts: RedeemOptions): Promise<PairedPeer> {
  const deadline = Date.now() + opts.timeoutMs
  const found = await withTimeout(announcedAt(dht, code.nameplate), opts.timeoutMs, () => inviteTimeout(opts.timeoutMs, false))
  if (found.length === 0) throw unavailable(code)
  if (found.length > 1) throw contested(code, found.length)
  const rendezvousKey = found[0]!
  // A throwaway key for the rendezvous: whoever answers there learns nothing about us before the words are proven.
  const socket = dht.connect(rendezvousKey, { keyPair: generateIdentity(), relayThrough: opts.relayThrough?.length ? opts.relayThrough : null })
  socket.on('error', () => {})
  return new Promise<PairedPeer>((resolve, reject) => {
    let cpace: CPace | null = null
    let isk: Buffer | null = null
    let boxJ: Buffer | null = null
    let transcript: Buffer | null = null
    let confirmed = false
    let settled = false
    const timer = setTimeout(() => fail(inviteTimeout(opts.timeoutMs, confirmed)), Math.max(0, deadline - Date.now()))
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
        boxJ = seal(isk, 'J', identityMessage('J', opts.identity, opts.name, transcript))
        confirmed = true
        socket.write(Buffer.concat([Buffer.from([MSG.CONFIRM]), tag(isk, 'J', boxJ), boxJ]))
        return
      }
      if (msg[0] === MSG.WELCOME && isk && transcript && boxJ && msg.byteLength > 1 + TAG_BYTES) {
        const theirTag = Buffer.from(msg.subarray(1, 1 + TAG_BYTES))
        const boxL = Buffer.from(msg.subarray(1 + TAG_BYTES))
        const plain = sodium.sodium_memcmp(theirTag, tag(isk, 'L', boxL, boxJ)) ? open(isk, 'L', boxL) : null
        const inviter = plain ? readIdentity('L', plain, transcript) : null
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
      // Gone after our confirmation without an answer: not the inviter, or the answer was lost.
      fail(confirmed ? noAnswer(code) : inviteProtocolError('it closed the connection'))
    })
    socket.once('error', (err: unknown) => {
      const e = fromDhtError(err)
      if (confirmed) {
        // The words went out: the inviter may have judged them (paired with us, or burned the code).
        return fail(
          new ChatError(
            e.code,
            `${e.message}, after the words of ${code.nameplate}-… were sent: the inviter may have paired with you or burned the code; nothing was saved here: ask for a new code`,
            e.exitCode,
            { cause: e }
          )
        )
      }
      // Announced, but it turned us away or is gone: nothing was sent, so trying again is safe.
      fail(e.code === 'PEER_NOT_FOUND' || e.code === 'PEER_CONNECTION_FAILED' ? unreachable(code) : e)
    })
  })
}

async function withTimeout<T>(work: Promise<T>, ms: number, error: () => ChatError): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

function refusal(reason: number, code: InviteCode, confirmed: boolean): ChatError {
  if (reason === REFUSAL.WRONG_CODE && confirmed) {
    return new ChatError(
      'INVITE_WRONG_CODE',
      `wrong invite code: the words do not match ${code.text} (or whoever answered is not the inviter); the code is now burned (no second guess): ask for a new one`,
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

function unreachable(code: InviteCode): ChatError {
  return new ChatError(
    'INVITE_UNAVAILABLE',
    `the invite with number ${code.nameplate} is announced but its inviter turned the connection away (busy with other attempts, or the code just ended); nothing was sent, so trying again in a minute is safe`,
    EXIT.INVITE_UNAVAILABLE
  )
}

function contested(code: InviteCode, count: number): ChatError {
  return new ChatError(
    'INVITE_CONTESTED',
    `${count} peers announce invite number ${code.nameplate}: someone other than the inviter is squatting on it, so the words were not sent to anyone; ask for a new code`,
    EXIT.INVITE_UNAVAILABLE
  )
}

function impostor(code: InviteCode): ChatError {
  return new ChatError(
    'INVITE_WRONG_CODE',
    `invite code ${code.text} failed: whoever answered at its rendezvous did not prove the same words (a wrong code, or not the inviter); nothing was saved and the code must not be tried again: ask for a new one`,
    EXIT.INVITE_WRONG_CODE
  )
}

function noAnswer(code: InviteCode): ChatError {
  return new ChatError(
    'INVITE_WRONG_CODE',
    `invite code ${code.text} failed: the rendezvous closed without answering the words (a wrong code, not the inviter, or its answer was lost: then it may have saved you anyway); nothing was saved here and the code must not be tried again: ask for a new one`,
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
