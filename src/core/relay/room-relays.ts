import { EventEmitter } from 'node:events'
import type { default as DHT, KeyPair } from 'hyperdht'
import { toHex } from '../store/keys.js'
import { RelayLinks, randomPunchPauseLeft } from './link.js'
import { acceptableRelays, decodeMemberRecord, decodeRoomRelays, encodeRoomRelays, MAX_ROOM_RELAYS, nextSeq } from './records.js'

/** When a listener looks for a new member's record (ms after it joined), then every LISTENER_RECHECK_MS. */
const MEMBER_RECORD_CHECKS_MS = [1000, 3000, 6000, 10_000, 20_000, 40_000]
const LISTENER_RECHECK_MS = 60_000
/** Records last 48 h on DHT nodes; the listener stores its list again this often. */
const REPUBLISH_MS = 10 * 60_000
/** How long the listener waits before trying again to open its link to a volunteer's relay. */
const LINK_RETRY_MS = 5000
/** A link whose volunteer is no longer listed is closed once no relayed connection has used it for this long (a member that reconnects keeps its link). */
const LINK_IDLE_CLOSE_MS = 30_000
/** How long a newcomer waits for the listener's list. */
const FIND_TIMEOUT_MS = 10_000

/** Why a member's record was not listed (see RoomRelays.mayList). */
export type RecordRefusal = 'listener' | 'member' | 'taken'

export interface RoomRelaysEvents {
  /** A connected member volunteers: its relay `relayKey` (hex) is in the room's list now. */
  volunteer: [memberKey: string, relayKey: string]
  /**
   * A member's record names a relay that may not be listed: this listener's
   * own key, a member's chat key (its own or another's), or a relay another
   * member already volunteers. Said once per member and relay.
   */
  'record-refused': [memberKey: string, relayKey: string, reason: RecordRefusal]
  /** A volunteer left: its relay is out of the list. */
  'volunteer-gone': [memberKey: string, relayKey: string]
}

interface Member {
  key: Buffer
  hex: string
  relay: Buffer | null
  timer: NodeJS.Timeout | null
  gone: boolean
  /** The last relay refused for it (hex): a refusal is said once, however often the record is read. */
  refused: string | null
}

/**
 * The listener's side: finds which connected members volunteer (their
 * signed records) and keeps the room's list of relays, signed with the
 * listener's key, on the DHT for newcomers.
 */
export class RoomRelays extends EventEmitter<RoomRelaysEvents> {
  private readonly members = new Set<Member>()
  private published: string | null = null
  private publishing: Promise<void> | null = null
  private again = false
  private republishTimer: NodeJS.Timeout | null = null
  private closed = false
  /** The listener's links to listed relays: newcomers' relayed connections share them (see RelayLink). */
  private readonly links: RelayLinks

  constructor(
    private readonly dht: DHT,
    private readonly keyPair: KeyPair,
    private readonly checksMs: number[] = MEMBER_RECORD_CHECKS_MS,
    private readonly recheckMs = LISTENER_RECHECK_MS
  ) {
    super()
    // hyperdht connects to the relay a newcomer names with dht.connect(key):
    // for a listed relay, it gets a view of our link instead.
    this.links = new RelayLinks(dht)
  }

  /** Stores the (empty) list at once, so that no list left by an earlier run of this listener names relays that are gone. */
  start(): void {
    this.schedulePublish()
    this.republishTimer = setInterval(() => {
      this.published = null
      this.schedulePublish()
    }, REPUBLISH_MS)
    this.republishTimer.unref()
  }

  /** Looks for the record of every member that joins `room`, and forgets those that leave. */
  follow(room: {
    on(event: 'peer-joined', listener: (peer: { remotePublicKey: Buffer }) => void): unknown
    on(event: 'peer-left', listener: (peer: { remotePublicKey: Buffer }) => void): unknown
  }): void {
    const handles = new WeakMap<object, object>()
    room.on('peer-joined', (peer) => handles.set(peer, this.add(peer.remotePublicKey)))
    room.on('peer-left', (peer) => {
      const handle = handles.get(peer)
      if (handle) this.remove(handle)
    })
  }

  /** A member joined: look for its record. Returns the handle to pass to remove(). */
  add(key: Buffer): object {
    const member: Member = { key, hex: toHex(key), relay: null, timer: null, gone: false, refused: null }
    this.members.add(member)
    // Its chat key was listed as someone's relay: the list must drop it now (see `relays`).
    if ([...this.members].some((m) => m.relay?.equals(key))) this.schedulePublish()
    this.check(member, 0)
    return member
  }

  remove(handle: object): void {
    const member = handle as Member
    if (!this.members.delete(member)) return
    member.gone = true
    if (member.timer) clearTimeout(member.timer)
    if (member.relay) {
      const hex = toHex(member.relay)
      this.emit('volunteer-gone', member.hex, hex)
      this.schedulePublish()
      this.closeWhenUnused(hex)
    }
  }

  /** The member whose relay this is (hex keys), or null. */
  ownerOf(relayHex: string): string | null {
    for (const m of this.members) if (m.relay && toHex(m.relay) === relayHex) return m.hex
    return null
  }

  /**
   * The room's list as it is stored: each relay once, and never this
   * listener's key or a member's chat key (checked again here: a member can
   * join after its key was listed as someone's relay).
   */
  get relays(): Buffer[] {
    const listed: Buffer[] = []
    for (const m of this.members) if (m.relay) listed.push(m.relay)
    return acceptableRelays(listed, this.forbidden()).slice(0, MAX_ROOM_RELAYS)
  }

  /** Keys that are never a relay of this room: ours and every member's chat key. */
  private forbidden(): Buffer[] {
    return [this.keyPair.publicKey, ...[...this.members].map((m) => m.key)]
  }

  /** Whether `member`'s record may list `relay`; null when it may, else why not. */
  private mayList(relay: Buffer, member: Member): RecordRefusal | null {
    if (relay.equals(this.keyPair.publicKey)) return 'listener'
    for (const m of this.members) {
      if (relay.equals(m.key)) return 'member'
      if (m !== member && m.relay?.equals(relay)) return 'taken'
    }
    return null
  }

  private check(member: Member, attempt: number): void {
    const delay = this.checksMs[attempt] ?? this.recheckMs
    member.timer = setTimeout(() => {
      member.timer = null
      void this.read(member).then((found) => {
        if (!found && !member.gone && !this.closed) this.check(member, attempt + 1)
      })
    }, delay)
    member.timer.unref()
  }

  /** Reads a member's record; true when it names a live relay for this room. */
  private async read(member: Member): Promise<boolean> {
    const record = await this.dht.mutableGet(member.key, { latest: true }).catch(() => null)
    if (member.gone || this.closed || !record) return false
    const decoded = decodeMemberRecord(record.value)
    if (!decoded || !decoded.listener.equals(this.keyPair.publicKey)) return false
    // Read from the network: a relay that would have us dial ourselves or a chat identity is not listed.
    if (!this.acceptable(decoded.relay, member)) return false
    // A record outlives the process that wrote it: list only a relay that is announced now.
    if (!(await this.announced(decoded.relay)) || member.gone || this.closed) return false
    // And one we can reach: open the link newcomers' connections will share.
    if (!(await this.link(decoded.relay, member))) return false
    // Checked again: another member may have claimed it, or joined with it as its key, meanwhile.
    if (!this.acceptable(decoded.relay, member)) return false
    member.relay = Buffer.from(decoded.relay)
    this.emit('volunteer', member.hex, toHex(member.relay))
    this.schedulePublish()
    return true
  }

  /** mayList(), said once per member and relay when it refuses. */
  private acceptable(relay: Buffer, member: Member): boolean {
    const refusal = this.mayList(relay, member)
    if (refusal === null) return true
    const hex = toHex(relay)
    if (member.refused !== hex) this.emit('record-refused', member.hex, hex, refusal)
    member.refused = hex
    return false
  }

  /**
   * Closes the link to a relay nobody lists any more, once no relayed
   * connection uses it: closing it ends the listener's session at the relay,
   * and with it every pair still going through it. Kept meanwhile: a member
   * that reconnects gets its old link back, without another hole punch.
   */
  private closeWhenUnused(hex: string): void {
    const timer = setTimeout(() => {
      const link = this.links.get(hex)
      if (!link || [...this.members].some((m) => m.relay && toHex(m.relay) === hex)) return
      if (link.views > 0 && link.alive) return this.closeWhenUnused(hex)
      this.links.drop(hex, link)
    }, LINK_IDLE_CLOSE_MS)
    timer.unref()
  }

  /** Opens (or reuses) the link to a relay, trying again while the member is here; false when it is gone. */
  private async link(relay: Buffer, member: Member): Promise<boolean> {
    const hex = toHex(relay)
    for (;;) {
      // A first attempt can be refused while hyperdht's random-punch pause runs (see RelayLink).
      if (await this.links.ensure(relay).opened) break
      if (member.gone || this.closed) break
      // Not within our own random-punch pause, which would refuse the next attempt at once.
      const wait = Math.max(LINK_RETRY_MS, randomPunchPauseLeft(this.dht))
      await new Promise((resolve) => setTimeout(resolve, wait).unref())
      if (member.gone || this.closed) break
    }
    if (member.gone || this.closed) {
      // Nobody to list it for: do not leave a link behind.
      this.closeWhenUnused(hex)
      return false
    }
    const live = this.links.get(hex)!
    if (live.watched) return true
    live.watched = true
    // The link died (the volunteer stopped, or its network went): the relay
    // is no longer listed; a member still here is looked at again later.
    live.socket.once('close', () => {
      this.links.forget(hex, live)
      for (const m of this.members) {
        if (!m.relay?.equals(relay)) continue
        m.relay = null
        this.emit('volunteer-gone', m.hex, hex)
        this.schedulePublish()
        this.check(m, 0)
      }
    })
    return true
  }

  private async announced(key: Buffer): Promise<boolean> {
    const query = this.dht.findPeer(key)
    try {
      await query.finished()
    } catch {
      return false
    }
    return query.closestReplies.some((reply) => reply.value && reply.value.byteLength > 0)
  }

  /** Stores the current list (one write at a time; the latest list wins). */
  private schedulePublish(): void {
    if (this.closed) return
    if (this.publishing) {
      this.again = true
      return
    }
    this.publishing = (async () => {
      do {
        this.again = false
        const value = encodeRoomRelays(this.relays)
        const hex = value.toString('hex')
        if (hex === this.published) continue
        try {
          await this.dht.mutablePut(this.keyPair, value, { seq: nextSeq(Date.now()) })
          this.published = hex
        } catch {
          // Offline for now: the next change or the periodic republish tries again.
        }
      } while (this.again && !this.closed)
      this.publishing = null
    })()
  }

  close(): void {
    this.closed = true
    if (this.republishTimer) clearInterval(this.republishTimer)
    for (const m of this.members) if (m.timer) clearTimeout(m.timer)
    this.members.clear()
    this.links.close()
  }
}

/**
 * The relays a listener lists for its room (none when it lists none, or in
 * time): each once, and never the listener's key or one of `ownKeys` (the
 * reader's chat key, its own volunteer relay's), which a hostile or broken
 * list could name: dialling through them would only lead back to the reader.
 */
export async function findRoomRelays(dht: DHT, listener: Buffer, ownKeys: Buffer[], timeoutMs = FIND_TIMEOUT_MS): Promise<Buffer[]> {
  let timer: NodeJS.Timeout | undefined
  const record = await Promise.race([
    dht.mutableGet(listener, { latest: true }).catch(() => null),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))
  ])
  clearTimeout(timer)
  return record ? acceptableRelays(decodeRoomRelays(record.value), [listener, ...ownKeys]) : []
}
