import type DHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import sodium from 'sodium-native'
import { ChatError, fromDhtError } from '../errors.js'
import { rememberPeer, type Remembered } from '../store/contacts.js'
import { generateIdentity } from '../store/identity.js'
import type { InviteCode } from './code.js'
import { CPace, PakeError, SHARE_BYTES } from './pake.js'
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
  seal,
  tag,
  transcriptHash,
  type PairedPeer
} from './protocol.js'

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
  const found = await withTimeout(announcedAt(dht, code.nameplate), opts.timeoutMs, () => ChatError.inviteTimeout(opts.timeoutMs, false))
  if (found.length === 0) throw ChatError.inviteUnavailable(code.nameplate)
  if (found.length > 1) throw ChatError.inviteContested(code.nameplate, found.length)
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
    const timer = setTimeout(() => fail(ChatError.inviteTimeout(opts.timeoutMs, confirmed)), Math.max(0, deadline - Date.now()))
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
      if (!sid) return fail(ChatError.inviteProtocol('the rendezvous connection has no handshake hash'))
      cpace = new CPace(true, Buffer.from(code.words.join('-')), channelId(rendezvousKey), sid)
      socket.write(Buffer.concat([Buffer.from([MSG.HELLO, INVITE_PROTOCOL_VERSION]), cpace.share]))
    })
    socket.on('data', (chunk: unknown) => {
      const msg = asBuffer(chunk)
      const sid = socket.handshakeHash
      if (!msg || msg.byteLength === 0 || msg.byteLength > MAX_MESSAGE_BYTES || !sid || !cpace) return fail(ChatError.inviteProtocol('it sent an unexpected message'))
      if (msg[0] === MSG.REFUSED) return fail(refusal(msg[1] ?? 0, code, confirmed))
      if (msg[0] === MSG.SHARE && !isk && msg.byteLength === 1 + SHARE_BYTES) {
        const yL = Buffer.from(msg.subarray(1))
        try {
          isk = cpace.finish(yL)
        } catch (err) {
          return fail(ChatError.inviteProtocol(err instanceof PakeError ? err.message : String(err)))
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
        if (!inviter) return fail(ChatError.inviteImpostor(code.text))
        finish()
        socket.end()
        resolve(inviter)
        return
      }
      fail(ChatError.inviteProtocol('it sent an unexpected message'))
    })
    socket.once('close', () => {
      if (settled) return
      // Gone after our confirmation without an answer: not the inviter, or the answer was lost.
      fail(confirmed ? ChatError.inviteNoAnswer(code.text) : ChatError.inviteProtocol('it closed the connection'))
    })
    socket.once('error', (err: unknown) => {
      const e = fromDhtError(err)
      if (confirmed) {
        // The words went out: the inviter may have judged them (paired with us, or burned the code).
        return fail(ChatError.inviteFailedAfterWords(e, code.nameplate))
      }
      // Announced, but it turned us away (an error reply: every slot busy, or the code just
      // ended) or is gone: nothing was sent, so trying again is safe.
      fail(TURNED_AWAY.has(e.code) ? ChatError.inviteTurnedAway(code.nameplate) : e)
    })
  })
}

/** hyperdht's errors for a rendezvous that is announced but took no connection from us. */
const TURNED_AWAY = new Set(['PEER_NOT_FOUND', 'PEER_CONNECTION_FAILED', 'SERVER_ERROR'])

async function withTimeout<T>(work: Promise<T>, ms: number, error: () => ChatError): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/** What an inviter's REFUSED message means for us. */
function refusal(reason: number, code: InviteCode, confirmed: boolean): ChatError {
  if (reason === REFUSAL.WRONG_CODE && confirmed) return ChatError.inviteWrongCode(code.text)
  if (reason === REFUSAL.BURNED) return ChatError.inviteBurned(code.nameplate)
  return ChatError.inviteUnavailable(code.nameplate)
}

export interface PairOptions extends RedeemOptions {
  /** The address book the inviter is saved in. */
  contactsFile: string
  /** The name to save the inviter under (default: the name it offers). */
  saveAs?: string
}

/**
 * `connect CODE`: redeems the code, then saves the inviter in our contacts
 * (never over another key: see rememberPeer).
 */
export async function pairByCode(dht: DHT, code: InviteCode, opts: PairOptions): Promise<{ inviter: PairedPeer; saved: Remembered }> {
  const inviter = await redeemInvite(dht, code, opts)
  // Our own listener's code (one identity on both sides): there is nobody to save.
  if (inviter.key.equals(opts.identity.publicKey)) throw ChatError.ownInvite(code.text)
  const saved = await rememberPeer(opts.contactsFile, inviter.key.toString('hex'), opts.saveAs ?? (inviter.name || 'peer'))
  return { inviter, saved }
}

/**
 * A lookup that found no open code may be our network's fault: when it is
 * (`joined` rejects: no DHT node answered), that error is thrown instead.
 */
export async function blameNetworkFirst(err: unknown, joined: Promise<unknown>): Promise<never> {
  if (err instanceof ChatError && err.code === 'INVITE_UNAVAILABLE') await joined
  throw err
}
