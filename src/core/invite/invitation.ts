import { randomInt } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type DHT from 'hyperdht'
import type { HandshakePayload, KeyPair, NoiseStream, Server } from 'hyperdht'
import sodium from 'sodium-native'
import { answerRefusal } from '../dht/refusal.js'
import { ChatError } from '../errors.js'
import { generateIdentity } from '../store/identity.js'
import { newInviteCode, type InviteCode } from './code.js'
import { CPace, SHARE_BYTES } from './pake.js'
import {
  INVITE_PROTOCOL_VERSION,
  MAX_MESSAGE_BYTES,
  MSG,
  REFUSAL,
  TAG_BYTES,
  announcedAt,
  asBuffer,
  channelId,
  identityMessage,
  open,
  readIdentity,
  rendezvousTopic,
  seal,
  tag,
  transcriptHash,
  type PairedPeer
} from './protocol.js'

/** Default lifetime of a code (listen --invite-expires). */
export const INVITE_DEFAULT_EXPIRES_MS = 10 * 60_000
/** Rendezvous runs at once, per code (its slots): a bound on what strangers can make the inviter do. */
export const MAX_RUNS = 8
/** A rendezvous run that takes longer is dropped (no guess is consumed: nothing was confirmed). */
const RUN_TIMEOUT_MS = 20_000
/** An announcement lives ~20 min on DHT nodes: renewed well before, while the code is open. */
const REANNOUNCE_MS = 5 * 60_000
/** How often the inviter looks for someone else announcing its number. */
export const CONTENTION_CHECK_MS = 15_000
const MAX_NAMEPLATE = 999_999

export type InvitationEnd = 'used' | 'expired' | 'burned' | 'closed'

export interface InvitationEvents {
  /** A joiner proved the code and its key; `usesLeft` after this one. */
  paired: [peer: PairedPeer, usesLeft: number]
  /** A joiner's words were wrong: the code is burned (then `ended('burned')`). */
  'wrong-code': []
  /** Someone else announces this code's number (a squatter): joiners who see two refuse to guess. Once per key. */
  contested: [otherKey: Buffer]
  /**
   * Strangers hold every rendezvous slot (MAX_RUNS): joiners are turned
   * away (answered at once, told nothing was sent) until a slot is free.
   * Once per burst: again only after every slot was free.
   */
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
        firewall: (_key: Buffer, payload: HandshakePayload | null) => this.turnsAway(payload),
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

  /**
   * The rendezvous firewall: bounded work for strangers, a few runs at a
   * time and none once the code is spent. Whoever is turned away is
   * answered at once (see answerRefusal), never left to time out, and when
   * it is because every slot is held, the inviter is told (see 'busy').
   */
  private turnsAway(payload: HandshakePayload | null): boolean {
    if (this.endedWith === null && this.runs < MAX_RUNS) return false
    if (this.endedWith === null) this.full()
    return answerRefusal(payload)
  }

  /** Every slot is held: said once per burst (until the runs are all over). */
  private full(): void {
    if (!this.saidBusy) this.emit('busy')
    this.saidBusy = true
  }

  private serve(socket: NoiseStream): void {
    socket.on('error', () => {})
    // The firewall runs before hole punching, so a burst of handshakes can pass it together: the hard bound is here.
    if (this.runs >= MAX_RUNS) {
      this.full()
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
  throw ChatError.noFreeNameplate()
}
