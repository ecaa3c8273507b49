import { EventEmitter } from 'node:events'
import type { default as DHT, KeyPair } from 'hyperdht'
import { Backoff } from './backoff.js'
import { Conversation, type SendResult } from '../peer/conversation.js'
import { ChatError, EXIT, explainHolepunchFailure, fromDhtError, isRefusal, relayCouldHelp, relayPairingFailed } from '../errors.js'
import type { Line } from '../peer/framing.js'
import { ROOM_LINE_MAX_BYTES } from '../peer/room-lines.js'
import { toHex } from '../store/keys.js'
import { watchLanPings } from '../dht/lan-pings.js'
import { watchRelayPairings } from '../relay/paths.js'
import { RELAY_LINK_OPEN_TIMEOUT_MS, RelayLinks, randomPunchPauseLeft } from '../relay/link.js'
import { DEFAULT_IDLE_TIMEOUT_MS, type PeerConnection, type PeerInfo, type Sender } from '../peer/connection.js'
import { dial } from './dial.js'

/**
 * After input ends, how long to wait for the peer to acknowledge more of our
 * lines before giving up on the rest: the same as the idle limit after which
 * a silent connection is declared lost (which also ends the wait).
 */
const FINISH_STALL_MS = DEFAULT_IDLE_TIMEOUT_MS
/** On leaving (Ctrl+C, /quit, done), how long the peer gets to close its side before the stream is destroyed. */
const PEER_LEAVE_GRACE_MS = 2000
/**
 * A relay pairing that fails (blind-relay's CHANNEL_CLOSED / RELAY_ABORTED: 2 of 100 relayed
 * connects across fresh NAT labs before relays checked their reachability) gets this many more
 * tries, plus one per further configured relay (each retry moves to the next relay).
 */
const RELAY_PAIRING_RETRIES = 2
/** A connection that lasted this long was a good one: the next loss redials at once. */
const STABLE_CONNECTION_MS = 5000
/**
 * Pairing through a room member's relay can fail for a while for want of
 * hole punching budget: hyperdht lets a node do one random hole punch (a
 * peer behind a randomizing NAT) per 20 s, so a volunteer behind a
 * consistent NAT lets one such newcomer in every 20 s. So a failed pairing
 * through a volunteer is tried again this many more times, this far apart.
 */
const VOLUNTEER_BUSY_RETRIES = 8
const VOLUNTEER_RETRY_WAIT_MS = 5000
/** A volunteer relay that just stopped relaying for us is not tried again for this long (the listener's list may still name it). */
const GONE_RELAY_AVOID_MS = 60_000
/**
 * When the peer has our public address (one router) and did not answer on
 * the LAN, the patched hyperdht punches to that shared public address: it
 * works through a router with hairpin NAT, within a LAN round trip or two.
 * This long after the silent LAN ping, the attempt is given up (else it
 * would take hyperdht's ~10 s more), and the error names the peer's firewall.
 */
const LAN_FALLBACK_MS = 3000
/** How long to wait for the bootstrap walk's verdict before blaming the peer for a failed dial. */
const JOIN_VERDICT_MS = 10_000

/** How a conversation ended: the exit code, the error (if any) and what to say. */
export interface Outcome {
  code: number
  error: ChatError | null
  reason: string | null
}

export interface ConnectorEvents {
  /** A dial attempt started (`relayed`: through a relay). */
  connecting: [relayed: boolean]
  /** hyperdht opened the stream; waiting for the peer's first bytes. */
  confirming: []
  /** The peer answered: data flows. `reconnect`: again, after a lost connection. */
  connected: [peer: PeerInfo, reconnect: boolean]
  'path-changed': [peer: PeerInfo]
  lines: [sender: Sender, lines: Line[]]
  /** The peer's send queue emptied: input may resume. */
  drain: []
  /** A dial failed and another follows after `waitMs` (--reconnect). */
  retrying: [error: ChatError, waitMs: number, attempt: number]
  /** A relay dropped the pairing; trying again through `relay` (the next one, when there are several). */
  'relay-retry': [error: ChatError, attempt: number, of: number, relay: string | null, waitMs: number]
  /** The direct attempt failed in a way a relay can fix; dialling through `relay` (`volunteer`: a room member's relay), after `waitMs` (our random-punch pause). */
  'via-relay': [error: ChatError, relay: string, relayCount: number, volunteer: boolean, waitMs: number]
  /** The connection was lost; redialling at once (--reconnect). */
  lost: [error: ChatError | null]
}

export interface ConnectorOptions {
  keyPair: KeyPair
  /** Per dial attempt. */
  timeoutMs: number
  reconnect: boolean
  /** Relays to try when a direct path is impossible. */
  relays: Buffer[]
  /** The relays the listener's room members volunteer (read when needed); omitted: none are looked for. */
  roomRelays?: () => Promise<Buffer[]>
  nameOf: (keyHex: string) => string
  /** Settles when the DHT bootstrap walk finished; rejects when no bootstrap node answered. */
  joined: Promise<unknown>
  /** Reconnect backoff (after failed attempts only). */
  backoff?: Backoff
  /** Settles when the user leaves (Ctrl+C, a signal): the conversation ends with exit 0. */
  stopped?: Promise<unknown>
  /** Whose relay a relay key is, for the path indicator. */
  relayName?: (relayHex: string) => string | null
  /** The private network's bootstrap list (null or omitted: the public DHT), for the commands an error prints. */
  bootstrap?: string | null
}

/**
 * `connect`'s side of a conversation with one peer, across reconnects: dials
 * (direct first, through a relay when only a relay can help), feeds the
 * Conversation (sequence numbers, outbox, acknowledgements), redials at once
 * when the connection is lost (--reconnect), and decides the outcome: exit 0
 * only when every line was acknowledged.
 */
export class Connector extends EventEmitter<ConnectorEvents> {
  readonly conversation: Conversation
  private live: PeerConnection | null = null
  private outcome: Outcome | null = null
  private settle!: (o: Outcome) => void
  private readonly finished: Promise<Outcome>
  private inputDone = false
  private finishing = false
  private everConnected = false
  private readonly remoteHex: string
  private readonly backoff: Backoff
  /** Relay keys (hex) that came from the listener's list of volunteers. */
  private readonly volunteers = new Set<string>()

  constructor(
    private readonly dht: DHT,
    private readonly remoteKey: Buffer,
    private readonly opts: ConnectorOptions
  ) {
    super()
    this.remoteHex = toHex(remoteKey)
    this.backoff = opts.backoff ?? new Backoff()
    this.conversation = new Conversation({ keepUndelivered: opts.reconnect, outbox: true, bounded: false })
    this.finished = new Promise<Outcome>((resolve) => {
      this.settle = (o) => {
        if (this.outcome) return
        this.outcome = o
        resolve(o)
      }
    })
    void opts.stopped?.then(() => this.settle({ code: EXIT.OK, error: null, reason: 'disconnected' }))
  }

  /** Whether a relay key (hex) is one of the room's volunteers (for the path indicator). */
  isVolunteer(relayHex: string): boolean {
    return this.volunteers.has(relayHex)
  }

  /** The peer as the UI names it, also before (or without) a connection. */
  private get remote(): Sender {
    return this.live?.sender() ?? { key: this.remoteHex, name: this.opts.nameOf(this.remoteHex) }
  }

  get peer(): PeerConnection | null {
    return this.live && !this.live.isClosed ? this.live : null
  }

  /** Sends lines (without `\n`), or keeps them in the outbox until a connection is up. */
  send(lines: Uint8Array[]): SendResult {
    return this.conversation.send(lines)
  }

  /** The role this side plays (what the UI's slash commands may ask of it). */
  readonly role = 'connect' as const

  /** The peer, when connected, as the UI shows it. */
  peers(): PeerInfo[] {
    return this.peer ? [this.peer.info()] : []
  }

  /** Input is done: deliver everything, close, exit 0 (or 10 with what was not acknowledged). */
  inputEnded(): void {
    this.inputDone = true
    this.finishIfDone()
  }

  /** The user leaves (/quit, Ctrl+D): exit 0, after saying what was not delivered. */
  quit(): void {
    this.settle({ code: EXIT.OK, error: null, reason: 'disconnected' })
  }

  private notDelivered(lines: number, waitedSeconds: number | null): Outcome {
    const error = ChatError.notDelivered(lines, waitedSeconds)
    return { code: error.exitCode, error, reason: null }
  }

  private finishIfDone(): void {
    const peer = this.peer
    if (!this.inputDone || !peer || this.finishing) return
    this.finishing = true
    const startedAt = Date.now()
    // Exit 0 only once the peer's transport acknowledged every line.
    void peer.finish(FINISH_STALL_MS).then(async (unconfirmed) => {
      // The connection was lost meanwhile: with --reconnect, the outbox goes on the next one.
      if (peer.isClosed && this.opts.reconnect && this.conversation.undeliveredCount > 0 && !this.outcome) {
        this.finishing = false
        return
      }
      const left = this.conversation.undeliveredCount
      if (unconfirmed === 0 && left === 0) return this.settle({ code: EXIT.OK, error: null, reason: null })
      // Lost with an error while we waited (the dead-path rule, a reset): that error ends the
      // conversation, with its exit code, whichever came first, the end of input or the loss.
      const lost = peer.isClosed ? await peer.closedPromise() : null
      if (lost) this.settle({ code: lost.exitCode, error: lost, reason: null })
      else {
        // Closed at once: say the connection ended, not "within 0 s".
        const waited = Math.round((Date.now() - startedAt) / 1000)
        this.settle(this.notDelivered(Math.max(left, unconfirmed), unconfirmed > 0 && waited > 0 ? waited : null))
      }
    })
  }

  private sleep(ms: number): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), this.finished.then(() => undefined)])
  }

  /**
   * Opens (or reuses) our link to a relay before dialing through it (see
   * RelayLink). A new link behind a randomizing NAT first waits out
   * hyperdht's random-punch pause, which would refuse it at once. Returns
   * why the link did not open, or null.
   */
  private async linkTo(links: RelayLinks, relay: Buffer): Promise<ChatError | null> {
    const hex = toHex(relay)
    const pause = this.pauseBeforeLink(links, hex)
    if (pause > 0) await this.sleep(pause)
    if (this.outcome) return null
    const link = links.ensure(relay)
    const open = await Promise.race([link.opened, this.finished.then(() => true)])
    if (open || this.outcome) return null
    // No error: the link's open timeout ran out (the punch to the relay never met).
    return ChatError.relayUnreachable(hex, link.error ? fromDhtError(link.error) : `no connection within ${RELAY_LINK_OPEN_TIMEOUT_MS / 1000} s`)
  }

  /** How long a link to a relay (hex) must wait for our random-punch pause: 0 when a live one is there to reuse. */
  private pauseBeforeLink(links: RelayLinks, relayHex: string): number {
    return links.get(relayHex)?.alive ? 0 : randomPunchPauseLeft(this.dht)
  }

  /** One dial (direct, or through `relay`); resolves when it connected (failure null) or failed. */
  private async dialOnce(
    relay: Buffer | null,
    lanPings: ReturnType<typeof watchLanPings>,
    attemptStart: number
  ): Promise<{ peer: PeerConnection; failure: ChatError | null; release: () => void }> {
    const { peer, ready } = dial(this.dht, this.remoteKey, {
      keyPair: this.opts.keyPair,
      timeoutMs: this.opts.timeoutMs,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      // A listener's room forwards other members' lines with a `[name] ` prefix: a maximal line arrives whole.
      maxLineBytes: ROOM_LINE_MAX_BYTES,
      nameOf: this.opts.nameOf,
      relayName: this.opts.relayName,
      relayThrough: relay ? [relay] : undefined
    })
    peer.stream.once('open', () => {
      if (!this.outcome) this.emit('confirming')
    })
    // Lines that come with the peer's first bytes (a room's "* in the room: …") are
    // held until 'connected' has been said, then shown (release()).
    let held: Line[][] | null = []
    peer.on('lines', (lines) => {
      if (held) held.push(lines)
      else this.emit('lines', peer.sender(), lines)
    })
    const release = () => {
      const lines = held ?? []
      held = null
      for (const batch of lines) this.emit('lines', peer.sender(), batch)
    }
    peer.on('drain', () => this.emit('drain'))
    let lanFallback: NodeJS.Timeout | undefined
    // Only this attempt's own LAN ping, and only on a direct attempt (a relayed one does not punch to the LAN).
    const stopLanWatch = lanPings.onSilent((_address, at) => {
      if (relay || at < attemptStart) return
      lanFallback ??= setTimeout(() => {
        if (!peer.heardFromPeer) peer.destroy(fromDhtError({ code: 'HOLEPUNCH_ABORTED' }))
      }, LAN_FALLBACK_MS)
    })
    let failure: ChatError | null = null
    try {
      await Promise.race([ready, this.finished])
    } catch (err) {
      failure = err as ChatError
    } finally {
      stopLanWatch()
      clearTimeout(lanFallback)
    }
    return { peer, failure, release }
  }

  /** Dials until the conversation ends; resolves with its outcome. */
  async run(): Promise<Outcome> {
    // Relayed paths are told from direct ones by the relay pairings that connect them.
    watchRelayPairings()
    const lanPings = watchLanPings(this.dht)
    // Our connections to relays, opened before dialing through them (see RelayLink).
    const links = new RelayLinks(this.dht)
    // The configured relays, then the room's volunteers once looked up.
    let relays = [...this.opts.relays]
    let lookedForVolunteers = false
    // Volunteers that stopped relaying for us lately (hex → until).
    const gone = new Map<string, number>()
    // Direct first; through a relay only when a direct path is impossible.
    let viaRelay = false
    let relayRetries = 0
    // After a pairing failure the next attempt goes through the next relay (round robin).
    let relayIndex = 0
    const relayRetryLimit = () => RELAY_PAIRING_RETRIES + Math.max(0, relays.length - 1) + (this.volunteers.size > 0 ? VOLUNTEER_BUSY_RETRIES : 0)
    const lookForVolunteers = async () => {
      if (!this.opts.roomRelays) return
      lookedForVolunteers = true
      const now = Date.now()
      const listed = (await this.opts.roomRelays()).filter((r) => (gone.get(toHex(r)) ?? 0) < now)
      for (const r of listed) this.volunteers.add(toHex(r))
      const configured = this.opts.relays
      relays = [...configured, ...listed.filter((r) => !configured.some((c) => c.equals(r)))]
    }
    while (!this.outcome) {
      this.emit('connecting', viaRelay)
      const attemptStart = Date.now()
      const through = viaRelay ? relays[relayIndex % relays.length]! : null
      // Through a relay: our link to it first (see RelayLink), then the peer through it.
      let failure = through ? await this.linkTo(links, through) : null
      if (this.outcome) break
      let peer: PeerConnection | null = null
      let release = () => {}
      if (!failure) {
        const dialed = await this.dialOnce(through, lanPings, attemptStart)
        ;({ peer, failure, release } = dialed)
      }
      if (this.outcome) {
        peer?.destroy()
        break
      }
      if (failure) {
        // Nobody answered at all: that, not the peer, is the problem.
        const unreachable = await Promise.race([
          this.opts.joined.then(
            () => null,
            (e: ChatError) => e
          ),
          this.sleep(JOIN_VERDICT_MS).then(() => null)
        ])
        if (unreachable && !this.everConnected) {
          this.settle({ code: unreachable.exitCode, error: unreachable, reason: null })
          break
        }
        // A relay dropped the pairing: ours, or the listener's (its --relay-through
        // pairs even our first attempt). Try again, through our next relay if any.
        // Through a volunteer, hole punching to the relay itself can be refused for a while (see VOLUNTEER_BUSY_RETRIES).
        const throughVolunteer = through !== null && this.volunteers.has(toHex(through))
        if ((relayPairingFailed(failure) || (throughVolunteer && relayCouldHelp(failure))) && relayRetries < relayRetryLimit()) {
          relayRetries++
          if (viaRelay) relayIndex++
          viaRelay = relays.length > 0
          const next = viaRelay ? relays[relayIndex % relays.length]! : null
          // A new link to the relay waits out our random-punch pause (see linkTo): say so in the wait.
          const pause = next ? this.pauseBeforeLink(links, toHex(next)) : 0
          const wait = Math.max(throughVolunteer ? VOLUNTEER_RETRY_WAIT_MS : 0, pause)
          this.emit('relay-retry', failure, relayRetries, relayRetryLimit(), next ? toHex(next) : null, wait)
          if (wait) await this.sleep(wait)
          continue
        }
        if (!viaRelay && relayCouldHelp(failure)) {
          // Read the room's list now: it changes as members come and go.
          await Promise.race([lookForVolunteers(), this.finished])
          if (this.outcome) break
          if (relays.length > 0) {
            viaRelay = true
            // Spread newcomers over the volunteers; configured relays keep their order.
            relayIndex = this.opts.relays.length > 0 ? 0 : Math.floor(Math.random() * relays.length)
            const relay = toHex(relays[relayIndex % relays.length]!)
            // A new link to it first waits out our random-punch pause (see linkTo): say so.
            const pause = this.pauseBeforeLink(links, relay)
            this.emit('via-relay', failure, relay, relays.length, this.volunteers.has(relay), pause)
            continue
          }
        }
        failure = explainHolepunchFailure(failure, {
          localNatRandom: this.dht.randomized,
          relaysConfigured: relays.length > 0,
          volunteersLookedFor: lookedForVolunteers,
          silentLanPeer: lanPings.silentSince(attemptStart),
          bootstrap: this.opts.bootstrap
        })
        if (!this.opts.reconnect || !retryable(failure)) {
          this.settle({ code: failure.exitCode, error: failure, reason: null })
          break
        }
        const wait = this.backoff.next()
        this.emit('retrying', failure, wait, this.backoff.attempt)
        await this.sleep(wait)
        // A new round: direct first, then the relays (the room's list read afresh).
        viaRelay = false
        relayRetries = 0
        continue
      }

      if (!peer) continue // not reached: no failure means a dial that connected
      // Connected: the outbox goes first, then talk.
      this.live = peer
      peer.on('path-changed', (info) => this.emit('path-changed', info))
      const reconnect = this.everConnected
      this.everConnected = true
      this.emit('connected', peer.info(), reconnect)
      release()
      // Otherwise the peer's 'drain' resumes reading.
      if (this.conversation.attach(peer)) this.emit('drain')
      this.finishIfDone()

      const error = await Promise.race([peer.closedPromise(), this.finished.then(() => null)])
      if (this.outcome) {
        // Leaving (Ctrl+C, /quit, or input done): end, do not reset; what
        // the peer did not acknowledge by then is reported, not kept.
        this.conversation.stopKeeping()
        await peer.leave(PEER_LEAVE_GRACE_MS)
        await peer.delivery.whenDone()
        break
      }
      // Let the tracker say what the connection did not acknowledge (kept, with --reconnect).
      await peer.delivery.whenDone()
      this.live = null
      if (this.finishing && !this.opts.reconnect) break // finish() settles
      if (!this.opts.reconnect) {
        const lost = this.conversation.undeliveredCount
        if (error) this.settle({ code: error.exitCode, error, reason: null })
        else if (lost > 0) this.settle(this.notDelivered(lost, null))
        else this.settle({ code: EXIT.OK, error: null, reason: 'the peer closed the connection' })
        break
      }
      // The first redial starts at once; backoff only after failed attempts
      // (and after a connection that did not last: no redial storm).
      this.emit('lost', error)
      // Direct first again (the path may be there now), then the room's
      // current volunteers, less the one that just stopped relaying for us.
      const lostRelay = peer.info().relay
      if (error?.code === 'RELAY_GONE' && lostRelay && this.volunteers.has(lostRelay)) gone.set(lostRelay, Date.now() + GONE_RELAY_AVOID_MS)
      viaRelay = false
      relayRetries = 0
      if (Date.now() - peer.connectedAt >= STABLE_CONNECTION_MS) this.backoff.reset()
      else await this.sleep(this.backoff.next())
    }

    const outcome = await this.finished
    this.live?.destroy()
    links.close()
    // Whatever still waits was not delivered: say which lines, exactly.
    this.conversation.close(this.remote)
    return outcome
  }
}

/** Failures worth another attempt with --reconnect (the peer may come back). */
function retryable(error: ChatError): boolean {
  // A refusal is the listener's answer to this key, not a failure: asking again gets it again.
  return error.exitCode !== EXIT.USAGE && error.exitCode !== EXIT.IDENTITY && error.code !== 'SERVER_INCOMPATIBLE' && !isRefusal(error)
}
