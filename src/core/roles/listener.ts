import { EventEmitter } from 'node:events'
import type { default as DHT, HandshakePayload, HostPort, KeyPair, NoiseStream, Server } from 'hyperdht'
import { ChatError } from '../errors.js'
import { leaveNetwork } from '../dht/network.js'
import { answerRefusal } from '../dht/refusal.js'
import { Conversation, type OwnLine, type SendResult } from '../peer/conversation.js'
import { encodeLine, type Line } from '../peer/framing.js'
import { Forwarder } from '../peer/forwarding.js'
import { joinedLine, leftLine, notForwardedLine, prefixLines, roomFullLine, roomLine, senderPrefix } from '../peer/room-lines.js'
import { watchRelayPairings } from '../relay/paths.js'
import { toHex } from '../store/keys.js'
import { DEFAULT_IDLE_TIMEOUT_MS, PeerConnection, type PeerInfo, type PeerOptions } from '../peer/connection.js'

const FULL_ROOM_LINGER_MS = 2000
/** A member for whom forwarded lines were dropped is told so in the room, at most this often. */
export const NOT_FORWARDED_NOTICE_MS = 5000
/** The whole probe for another live listener on our key (see probe()). */
export const PROBE_TIMEOUT_MS = 15_000
/**
 * After the probe's handshake request reached a node holding a record of our
 * key: how long to wait for a live listener to answer before calling the
 * record stale. hyperdht gives one such request 4 tries 1 s apart (dht-rpc),
 * and sends the first two at once, so this is its own per-node verdict; it
 * only skips the third node hyperdht would try next (another 4 s).
 */
export const PROBE_STALE_AFTER_MS = 4500
/** How often a listener checks that the DHT still holds its announcement. */
export const ANNOUNCE_CHECK_MS = 30_000
/**
 * How often a listener asks the nodes holding its announcement where they
 * see it from (one ping each, at most 3): a new public address (router
 * re-dial, another network) is re-announced at once. See checkAddress().
 */
export const ADDRESS_CHECK_MS = 2000

/**
 * Why a connection was turned away: not on the allow list, the room is
 * full, it came from our own key, or it asked us to pair through a relay
 * that is our own key, its own, or a member's.
 */
export type RefusalReason = 'not-allowed' | 'full' | 'self' | 'relay'

/** What became of a line for one peer: sent, or no peer (or more than one) matched the name given. */
export type SendToResult = SendResult | { fate: 'no-such-peer'; matches: number }

/**
 * What the probe before announcing found on our key: nobody ('free'), a
 * record nobody answers for ('stale': a listener that crashed or lost its
 * network), no verdict in time ('unknown'), or stopped ('aborted'). A live
 * listener is not a verdict: listen() throws IDENTITY_IN_USE.
 */
export type ProbeVerdict = 'free' | 'stale' | 'unknown' | 'aborted'

export interface ListenerEvents {
  listening: []
  'peer-joined': [peer: PeerConnection]
  'peer-left': [peer: PeerConnection, error: ChatError | null]
  /** Lines from a peer (all those one chunk completed). */
  messages: [peer: PeerConnection, lines: Line[]]
  /** A peer was turned away. */
  refused: [keyHex: string, reason: RefusalReason]
  /** What the probe before announcing found (not emitted for a live listener: listen() throws). */
  probed: [verdict: ProbeVerdict]
  /** Another listener with our identity probed the key before announcing, and was answered (so it refuses to start). */
  rival: []
  /** The DHT no longer held our announcement (e.g. another process with our identity announced and then unannounced): announcing again. */
  reannounced: []
  /** Our public address changed (the nodes holding our announcement see us from `to`, not `from`): announcing it again. */
  'address-changed': [from: HostPort, to: HostPort]
  /** The UDP path to a peer changed (relayed → direct). */
  'path-changed': [peer: PeerConnection]
  /** A peer exceeded its rate limit: `droppedLines` of its lines were dropped. */
  throttled: [peer: PeerConnection, droppedLines: number]
  /**
   * Room mode: `lines` of `sender`'s lines were not forwarded to `receiver`,
   * which could not take them as fast as they came (see peer/forwarding.ts).
   * Nobody is disconnected for it.
   */
  'not-forwarded': [sender: PeerConnection, receiver: PeerConnection, lines: number]
  /** No peer is backlogged any more (after one was): broadcasting may go on. */
  drain: []
  /** Closing before any peer joined: these piped lines were held for the first peer and go nowhere now. */
  'held-unsent': [lines: OwnLine[]]
  closed: []
}

export interface ListenerOptions extends PeerOptions {
  /** Who may connect (checked in hyperdht's firewall, before any session exists). Omitted: everybody. */
  allow?: (keyHex: string) => boolean
  /** Most peers at once; more are told the room is full and closed. */
  maxPeers?: number
  /** Room mode: forward each peer's lines and arrivals/departures to the other peers. */
  forward?: boolean
  /** How long close() lets peers flush before dropping them. */
  closeGraceMs?: number
  /** Relays to pair every incoming connection through (hyperdht's server relayThrough). */
  relayThrough?: Buffer[]
  /** See PROBE_TIMEOUT_MS and PROBE_STALE_AFTER_MS. */
  probeTimeoutMs?: number
  probeStaleAfterMs?: number
  /** See ANNOUNCE_CHECK_MS; 0 turns the check off. */
  announceCheckMs?: number
  /** See ADDRESS_CHECK_MS; 0 turns the check off. */
  addressCheckMs?: number
  /**
   * Lines sent before the first peer joins wait for it (bounded, as connect's
   * outbox: input pauses past 256 KiB, lines past 4 MiB are refused), as
   * `nc -l` holds what is piped into it; after that, a line sent into an
   * empty room is refused. For piped input; a person at a terminal is told
   * at once instead.
   */
  holdUntilFirstPeer?: boolean
}

/**
 * hyperdht internals (6.32.0 to 6.34.0) the address check reads (lib/announcer.js): the
 * nodes our announcement is stored at (`relayAddress`) and where each saw us
 * from when we announced (`peerAddress`): the address it forwards handshakes
 * and hole-punch messages to. `_sleeper` is the announcer's 3 s pause.
 */
interface AnnouncerView {
  relays?: Array<{ relayAddress: HostPort; peerAddress: HostPort }>
  _sleeper?: { resume(): void }
}

/** dht-rpc's ping: the reply's `to` is our address as that node sees it. */
type Pinger = { ping(to: HostPort): Promise<{ to?: HostPort }>; refresh(): void }

/**
 * A room on one key. Lines typed locally go to every peer; lines from peers
 * are reported as 'messages' events and, in room mode, forwarded to the other
 * peers as plain text `[name] text`, so a raw example-style peer reads them.
 */
export class ChatListener extends EventEmitter<ListenerEvents> {
  readonly dht: DHT
  readonly keyPair: KeyPair
  readonly peers = new Set<PeerConnection>()
  /**
   * Our lines, numbered, and which peer acknowledged which. No outbox: a
   * line typed into an empty room is refused (and said so). Bounded: a peer
   * that does not read is dropped, never queued for without limit.
   */
  readonly conversation: Conversation
  /** Input sent before the first peer joined waits for it (see ListenerOptions.holdUntilFirstPeer). */
  private holding: boolean
  refusedCount = 0
  private readonly opts: ListenerOptions
  private server: Server | null = null
  private closing: Promise<void> | null = null
  private cancelProbe: (() => void) | null = null
  /** The periodic checks' pending timers (see repeat()). */
  private readonly timers = new Set<NodeJS.Timeout>()
  private announcementLost = false
  /** The last new address we re-announced for (one notice per move). */
  private movedTo: string | null = null
  /** Room mode: each member's forwarded lines from the others (see peer/forwarding.ts). */
  private readonly forwarders = new Map<PeerConnection, Forwarder<PeerConnection>>()
  /** Per member: forwarded lines dropped for it and not yet told to it, by sender; when it was last told. */
  private readonly untold = new Map<PeerConnection, { counts: Map<PeerConnection, number>; toldAt: number; timer: NodeJS.Timeout | null }>()

  constructor(dht: DHT, keyPair: KeyPair, opts: ListenerOptions = {}) {
    super()
    this.dht = dht
    this.keyPair = keyPair
    this.opts = { idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS, ...opts }
    this.holding = opts.holdUntilFirstPeer === true
    this.conversation = new Conversation({ keepUndelivered: false, outbox: this.holding, bounded: true })
  }

  get publicKey(): Buffer {
    return this.keyPair.publicKey
  }

  /**
   * Makes sure no live listener serves our key (see probe()), then announces
   * it and starts accepting peers. Throws IDENTITY_IN_USE when one does.
   * Returns without announcing when `signal` aborts or close() is called
   * meanwhile; close() then undoes whatever was started.
   */
  async listen(opts: { signal?: AbortSignal } = {}): Promise<void> {
    // Relayed peers are told from direct ones by the relay pairings that connect them.
    watchRelayPairings()
    const verdict = await this.probe(opts.signal)
    if (verdict === 'aborted' || this.closing) return
    this.emit('probed', verdict)

    const own = this.keyPair.publicKey
    const allow = this.opts.allow
    const firewall = (remotePublicKey: Buffer, payload: HandshakePayload | null) => {
      const hex = toHex(remotePublicKey)
      if (remotePublicKey.equals(own)) {
        // Another listener with our identity probing the key (see probe()):
        // let hyperdht answer it, so it knows we are alive. It opens nothing.
        if (payload && !payload.udx) {
          this.emit('rival')
          return false
        }
        // Our own key asking for a chat: only our own node dialling itself
        // (as a relay something named) could, and we are never our own peer.
        this.refuse(hex, 'self')
        return answerRefusal(payload)
      }
      // A connector names the relay we are to pair through: never one that
      // leads back to us, to itself or to a member (chat keys are no relays).
      const via = relayKeyOf(payload)
      if (via && (via.equals(own) || via.equals(remotePublicKey) || this.isMember(via))) {
        this.refuse(hex, 'relay')
        return answerRefusal(payload)
      }
      if (allow && !allow(hex)) {
        this.refuse(hex, 'not-allowed')
        return answerRefusal(payload)
      }
      // A full room refuses here too, so the connector fails (exit 5) instead
      // of ending cleanly with its lines thrown away. accept() still turns
      // away, politely, one that got past this check in a race.
      const max = this.opts.maxPeers
      if (max !== undefined && this.peers.size >= max) {
        this.refuse(hex, 'full')
        return answerRefusal(payload)
      }
      return false
    }
    const relays = this.opts.relayThrough
    const server = this.dht.createServer(
      {
        firewall,
        ...(relays?.length ? { relayThrough: relays.length === 1 ? relays[0]! : relays } : {})
      },
      (stream) => this.accept(stream)
    )
    this.server = server
    await server.listen(this.keyPair)
    if (this.closing) return
    this.repeat(this.opts.announceCheckMs ?? ANNOUNCE_CHECK_MS, () => this.checkAnnouncement())
    this.repeat(this.opts.addressCheckMs ?? ADDRESS_CHECK_MS, () => this.checkAddress())
    this.emit('listening')
  }

  /**
   * Looks for a live listener on our key before we announce it, by dialing
   * the key with our own key pair (so only a holder of our secret key can
   * do this). The handshake carries no data channel (no `udx`), which every
   * hyperdht server answers with an error reply and no connection, whatever
   * its firewall does with other keys (a p2pchat listener's firewall lets
   * this through and reports a rival). So: an answer = live; PEER_NOT_FOUND
   * = free; a record without an answer = stale (see PROBE_STALE_AFTER_MS).
   */
  private async probe(signal?: AbortSignal): Promise<ProbeVerdict> {
    if (signal?.aborted || this.closing) return 'aborted'
    const { default: NoiseWrap } = await import('hyperdht/lib/noise-wrap.js')
    const staleAfter = this.opts.probeStaleAfterMs ?? PROBE_STALE_AFTER_MS
    const verdict = await new Promise<ProbeVerdict | 'live'>((resolve) => {
      let settled = false
      let staleTimer: NodeJS.Timeout | undefined
      const finish = (v: ProbeVerdict | 'live') => {
        if (settled) return
        settled = true
        clearTimeout(overall)
        clearTimeout(staleTimer)
        signal?.removeEventListener('abort', onabort)
        this.cancelProbe = null
        stream.destroy()
        resolve(v)
      }
      const onabort = () => finish('aborted')
      const createHandshake = (keyPair: KeyPair, remotePublicKey: Buffer) => {
        const handshake = new NoiseWrap(keyPair, remotePublicKey)
        const send = handshake.send.bind(handshake)
        const recv = handshake.recv.bind(handshake)
        // Sent once, when the lookup reached the first node holding a record of the key.
        handshake.send = (payload) => {
          staleTimer ??= setTimeout(() => finish('stale'), staleAfter)
          return send({ ...payload, udx: null })
        }
        // Called only with a server's answer: someone live holds our key.
        handshake.recv = (noise) => {
          const reply = recv(noise)
          finish('live')
          return reply
        }
        return handshake
      }
      const stream = this.dht.connect(this.keyPair.publicKey, { keyPair: this.keyPair, createHandshake })
      stream.on('open', () => finish('live'))
      stream.on('error', (err: { code?: string }) => {
        if (err.code === 'PEER_NOT_FOUND') finish('free')
        else if (err.code === 'PEER_CONNECTION_FAILED') finish('stale')
        else if (err.code === 'NODE_DESTROYED') finish('aborted')
        else finish('unknown')
      })
      stream.on('close', () => finish('unknown'))
      const overall = setTimeout(() => finish('unknown'), this.opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS)
      signal?.addEventListener('abort', onabort)
      this.cancelProbe = onabort
    })
    if (verdict === 'live') throw ChatError.identityInUse(toHex(this.keyPair.publicKey))
    return verdict
  }

  /** Runs `check` every `every` ms (0: never), one run at a time, until the listener closes. */
  private repeat(every: number, check: () => Promise<void>): void {
    if (!every) return
    const next = () => {
      if (this.closing) return
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        void check().finally(next)
      }, every)
      this.timers.add(timer)
    }
    next()
  }

  /**
   * hyperdht re-announces only every ~5 minutes. An announcement can vanish
   * sooner: another process with our identity announcing and then
   * unannouncing removes it from the nodes. So look it up every
   * `announceCheckMs` and, if no node holds a record of the key any more,
   * ask the announcer to refresh (it does within 3 s).
   */
  private async checkAnnouncement(): Promise<void> {
    const server = this.server
    if (!server || this.closing) return
    const query = this.dht.findPeer(this.keyPair.publicKey)
    try {
      await query.finished()
    } catch {
      return // offline: nothing to conclude
    }
    if (this.closing || query.closestReplies.length === 0) return
    if (query.closestReplies.some((reply) => reply.value && reply.value.byteLength > 0)) {
      this.announcementLost = false
      return
    }
    server.refresh()
    // One notice per loss, however many checks it takes to come back.
    if (!this.announcementLost) this.emit('reannounced')
    this.announcementLost = true
  }

  /**
   * A node holding our announcement forwards a connector's handshake to the
   * address it saw us announce from. When our public address changes, that
   * address is dead until hyperdht re-announces (~5 minutes), and every
   * connector gets "found but did not accept". dht-rpc's NAT sampler notices
   * a new address only after a dozen replies, and network-change fires only
   * for a local interface change (not a router's), so ask those nodes
   * directly: one ping each every `addressCheckMs`; a reply that sees us
   * from elsewhere means we moved: re-announce now (the announcement
   * replaces the old one at the same nodes), and refresh our routing table,
   * whose entries were learned through mappings that died with the address.
   */
  private async checkAddress(): Promise<void> {
    const server = this.server
    if (!server || this.closing) return
    const announcer = (server as unknown as { _announcer?: AnnouncerView | null })._announcer
    const relays = announcer?.relays ?? []
    const dht = this.dht as unknown as Pinger
    const seen = await Promise.all(
      relays.map(({ relayAddress, peerAddress }) =>
        dht.ping(relayAddress).then(
          (reply) => ({ was: peerAddress, now: reply.to ?? null }),
          () => null // no answer: the announcer notices lost nodes itself
        )
      )
    )
    if (this.closing) return
    const moved = seen.find((s) => s?.now && (s.now.host !== s.was.host || s.now.port !== s.was.port))
    if (!moved?.now) return
    server.refresh()
    announcer?._sleeper?.resume() // announce now, not after the current 3 s pause
    dht.refresh()
    const to = `${moved.now.host}:${moved.now.port}`
    if (this.movedTo === to) return // still waiting for that re-announcement
    this.movedTo = to
    this.emit('address-changed', { host: moved.was.host, port: moved.was.port }, { host: moved.now.host, port: moved.now.port })
  }

  /** What the room calls a key (contact name, else short key). */
  peerName(keyHex: string): string {
    return this.opts.nameOf ? this.opts.nameOf(keyHex) : keyHex.slice(0, 8)
  }

  /** The address book changed: names are asked for again. */
  refreshNames(): void {
    for (const peer of this.peers) peer.refreshName()
  }

  /** The peers in the room now, as the UI shows them. */
  peerInfos(): PeerInfo[] {
    return [...this.peers].map((p) => p.info())
  }

  /** Our lines (without their \n) to every peer, in one write each. `wait`: stop reading input until 'drain'. */
  send(lines: Uint8Array[]): SendResult {
    // Every peer in the room (the conversation's attached peers), or the outbox before the first one.
    return this.conversation.send(lines)
  }

  /** One line of ours to the one peer `target` names (its name, or a prefix of its key). */
  sendTo(target: string, text: string): SendToResult {
    const t = target.toLowerCase()
    const matches = [...this.peers].filter((p) => p.remoteKeyHex.startsWith(t) || p.sender().name === target)
    if (matches.length !== 1) return { fate: 'no-such-peer', matches: matches.length }
    return this.conversation.send([Buffer.from(text)], matches)
  }

  /** Sends one line to every connected peer. Returns how many peers it went to. */
  broadcast(message: string | Uint8Array, except?: PeerConnection): number {
    return this.broadcastRaw(encodeLine(message), except)
  }

  /**
   * True while some peer has more than its soft mark queued. A caller with
   * more to broadcast (piped stdin) should wait for 'drain'; a peer that
   * stays backlogged without taking anything is dropped (PeerConnection
   * stallMs), which ends the wait.
   */
  get backlogged(): boolean {
    for (const peer of this.peers) if (peer.backlogged) return true
    return false
  }

  /** Sends already-terminated lines to every connected peer (one write each). */
  broadcastRaw(data: Uint8Array, except?: PeerConnection): number {
    let sent = 0
    for (const peer of this.peers) {
      if (peer === except || peer.isClosed) continue
      peer.sendBoundedRaw(data)
      sent++
    }
    return sent
  }

  /**
   * Forwards a member's lines (already prefixed and terminated) to the
   * others, through each one's Forwarder: never past a mark into its
   * stream, so a fast sender's excess is dropped at its own queue and never
   * gets a slower receiver disconnected.
   */
  private forward(sender: PeerConnection, data: Buffer): void {
    for (const [peer, forwarder] of this.forwarders) {
      if (peer !== sender && !peer.isClosed) forwarder.push(sender, data)
    }
  }

  /** Forwarded lines were dropped for `receiver`: reported at once, and told to it in the room at most every NOT_FORWARDED_NOTICE_MS. */
  private notForwarded(sender: PeerConnection, receiver: PeerConnection, lines: number): void {
    this.emit('not-forwarded', sender, receiver, lines)
    let untold = this.untold.get(receiver)
    if (!untold) {
      untold = { counts: new Map(), toldAt: -Infinity, timer: null }
      this.untold.set(receiver, untold)
    }
    untold.counts.set(sender, (untold.counts.get(sender) ?? 0) + lines)
    if (untold.timer) return
    const state = untold
    const tell = () => {
      state.timer = null
      state.toldAt = Date.now()
      for (const [from, n] of state.counts) receiver.sendBounded(notForwardedLine(from.sender().name, n))
      state.counts.clear()
    }
    const wait = state.toldAt + NOT_FORWARDED_NOTICE_MS - Date.now()
    if (wait <= 0) tell()
    else {
      state.timer = setTimeout(tell, wait)
      state.timer.unref()
    }
  }

  /** A member left: nothing more is forwarded to it, or told. */
  private stopForwarding(peer: PeerConnection): void {
    this.forwarders.get(peer)?.close()
    this.forwarders.delete(peer)
    const untold = this.untold.get(peer)
    if (untold?.timer) clearTimeout(untold.timer)
    this.untold.delete(peer)
  }

  /**
   * Stops accepting and unannounces (server.close()), closes every peer
   * (gracefully, then by force after a grace period), destroys the node.
   * Idempotent: every caller gets the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    this.cancelProbe?.()
    for (const timer of this.timers) clearTimeout(timer)
    if (this.holding) {
      const held = this.conversation.outboxLines
      if (held.length > 0) this.emit('held-unsent', held)
    }
    this.conversation.close()
    for (const peer of [...this.forwarders.keys()]) this.stopForwarding(peer)
    const peers = [...this.peers]
    for (const peer of peers) peer.end()
    const grace = this.opts.closeGraceMs ?? 500
    await Promise.race([
      Promise.all(peers.map((p) => p.closedPromise())),
      new Promise((resolve) => setTimeout(resolve, grace).unref())
    ])
    for (const peer of peers) peer.destroy()
    // Only now: hyperdht's server.close() destroys the raw stream of every
    // relayed connection at once (lib/server.js _clearAll), which would reset
    // a relayed peer (exit 8) instead of letting it see our end (exit 0).
    await (this.server ? this.server.close().catch(() => {}) : Promise.resolve())
    // Unannounced by now; leaving the DHT is bounded (see DHT_LEAVE_GRACE_MS in dht/network.ts).
    await leaveNetwork(this.dht)
    this.emit('closed')
  }

  /** Whether `key` is the chat key of a peer in the room now. */
  private isMember(key: Buffer): boolean {
    for (const peer of this.peers) if (peer.remotePublicKey.equals(key)) return true
    return false
  }

  private refuse(keyHex: string, reason: RefusalReason): void {
    this.refusedCount++
    this.emit('refused', keyHex, reason)
  }

  private accept(stream: NoiseStream): void {
    if (this.closing) {
      stream.destroy()
      return
    }
    const peer = new PeerConnection(stream, this.opts)
    // The firewall already answered these with an error; should a stream
    // still arrive (the allow file changed meanwhile), it gets nothing. Nor
    // does one from our own key: we never join our own room.
    if ((this.opts.allow && !this.opts.allow(peer.remoteKeyHex)) || peer.remotePublicKey.equals(this.keyPair.publicKey)) {
      stream.on('error', () => {})
      stream.destroy()
      return
    }
    const max = this.opts.maxPeers
    if (max !== undefined && this.peers.size >= max) {
      // Politely: tell them why before closing.
      peer.send(roomFullLine(max))
      peer.end()
      stream.on('error', () => {})
      // A peer that does not close its side in return is dropped shortly after.
      setTimeout(() => peer.destroy(), FULL_ROOM_LINGER_MS).unref()
      this.refuse(peer.remoteKeyHex, 'full')
      return
    }
    // The server only hands over streams that completed the handshake.
    peer.markConfirmed()
    this.peers.add(peer)
    const forward = this.opts.forward !== false
    if (forward) {
      const forwarder = new Forwarder<PeerConnection>(peer, { onDropped: (sender, n) => this.notForwarded(sender, peer, n) })
      this.forwarders.set(peer, forwarder)
    }
    peer.on('lines', (lines) => {
      this.emit('messages', peer, lines)
      if (forward && this.peers.size > 1) {
        // One buffer for the whole batch, shared by every other peer.
        this.forward(peer, prefixLines(senderPrefix(peer.sender().name), lines))
      }
    })
    peer.on('throttled', (n) => this.emit('throttled', peer, n))
    peer.on('drain', () => {
      if (!this.backlogged) this.emit('drain')
    })
    peer.on('path-changed', () => this.emit('path-changed', peer))
    peer.on('close', (error) => {
      this.peers.delete(peer)
      this.stopForwarding(peer)
      if (forward && !this.closing) this.broadcast(leftLine(peer.info().name))
      this.emit('peer-left', peer, error)
      // A dropped slow peer may have been what broadcasting waited for.
      if (!this.backlogged) this.emit('drain')
    })
    if (forward) {
      // Tell the newcomer who is here, as one plain line (a raw peer reads it too).
      const others = [...this.peers].filter((p) => p !== peer && !p.isClosed).map((p) => p.sender().name)
      const greeting = roomLine(others)
      if (greeting) peer.sendBounded(greeting)
      this.broadcast(joinedLine(peer.info().name), peer)
    }
    const flowing = this.conversation.attach(peer)
    if (this.holding) {
      // What waited went to this first peer; an empty room refuses lines from now on.
      this.holding = false
      this.conversation.closeOutbox()
      if (flowing) this.emit('drain')
    }
    this.emit('peer-joined', peer)
  }
}

/** The relay a connector's handshake asks us to pair through (hyperdht's relayThrough), if it names one. */
function relayKeyOf(payload: HandshakePayload | null): Buffer | null {
  const via = payload?.relayThrough as { publicKey?: unknown } | null | undefined
  return via && Buffer.isBuffer(via.publicKey) ? via.publicKey : null
}
