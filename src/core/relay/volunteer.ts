import { EventEmitter } from 'node:events'
import type { default as DHT, KeyPair } from 'hyperdht'
import { toHex } from '../store/keys.js'
import { RelayLinks, randomPunchPauseLeft } from './link.js'
import { RelayService, type RelayPolicy, type RelayServiceEvents } from './service.js'

/*
 * Room members relay for each other (issue 11), with no server and no flag:
 *
 * 1. A member (a `connect` that stayed connected VOLUNTEER_AFTER_MS) whose
 *    network peers can reach (open or consistent NAT) runs a blind relay in
 *    its own process, on a fresh random key R (never its chat identity), and
 *    stores a record signed by its chat key M on the DHT: "R relays for the
 *    room of listener L" (hyperdht mutablePut at M).
 * 2. The listener reads that record for each member it is connected to (it
 *    knows M from the connection), checks that R is announced, and stores
 *    the list of its room's relays signed by its own key L (mutablePut at L).
 * 3. A newcomer whose direct attempt fails for a reason a relay fixes reads
 *    L's list (it already knows L) and dials through one of those relays;
 *    the listener's end joins it there (hyperdht's relayThrough).
 * 4. The volunteer's relay pairs only requests of which one comes from L
 *    (the listener connects to relays with its identity key; nobody else can),
 *    at most VOLUNTEER_MAX_PAIRS at once and VOLUNTEER_MAX_BYTES_PER_SEC each.
 *
 * What an outsider can learn: knowing L, the relay keys of L's volunteers
 * (random keys, linked to no identity) and, by connecting to one, its IP
 * address; knowing M and L, that M volunteered for L's room. Forging either
 * record needs M's or L's secret key. A relay sees only encrypted bytes.
 */

/** A member volunteers once its connection to the room has lasted this long: a quick `echo hi | p2pchat connect` costs nothing. */
export const VOLUNTEER_AFTER_MS = 5000
/** Most pairs a volunteer relays at once. */
export const VOLUNTEER_MAX_PAIRS = 8
/** Most bytes per second one relayed pair may average (over 10 s) through a volunteer: plenty for chat, not for bulk copies. */
export const VOLUNTEER_MAX_BYTES_PER_SEC = 256 * 1024
/**
 * hyperdht lets a node start a hole punch with a peer behind a randomizing
 * NAT (a "random punch") only 20 s after its last one ended (DHT option
 * randomPunchInterval). That pause protects the randomizing side, which
 * opens 256 sockets per punch. A volunteer is never that side (it is open
 * or consistent: it answers from its one socket), and it punches once for
 * each newcomer it lets in, so it waits only this long: newcomers that come
 * one after the other are not turned away for 20 s each.
 */
export const VOLUNTEER_RANDOM_PUNCH_INTERVAL_MS = 2000
/** Most relays a listener lists for its room. */
export const MAX_ROOM_RELAYS = 8
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

const RECORD_VERSION = 1
const KEY_BYTES = 32

/** The member's record: version, the listener's key, the relay's key. */
export function encodeMemberRecord(listener: Buffer, relay: Buffer): Buffer {
  return Buffer.concat([Buffer.from([RECORD_VERSION]), listener, relay])
}

export function decodeMemberRecord(value: Buffer): { listener: Buffer; relay: Buffer } | null {
  if (value.byteLength !== 1 + 2 * KEY_BYTES || value[0] !== RECORD_VERSION) return null
  return { listener: value.subarray(1, 1 + KEY_BYTES), relay: value.subarray(1 + KEY_BYTES) }
}

/** The listener's record: version, count, the relays' keys. */
export function encodeRoomRelays(relays: Buffer[]): Buffer {
  const list = relays.slice(0, MAX_ROOM_RELAYS)
  return Buffer.concat([Buffer.from([RECORD_VERSION, list.length]), ...list])
}

/** The relays in a listener's record; none for anything malformed (it came from the network). */
export function decodeRoomRelays(value: Buffer): Buffer[] {
  if (value.byteLength < 2 || value[0] !== RECORD_VERSION) return []
  const count = value[1]!
  if (count > MAX_ROOM_RELAYS || value.byteLength !== 2 + count * KEY_BYTES) return []
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) out.push(Buffer.from(value.subarray(2 + i * KEY_BYTES, 2 + (i + 1) * KEY_BYTES)))
  return out
}

let lastSeq = 0
/** A record's sequence number: the clock in ms, always growing, so a newer record replaces an older one (also across restarts). */
function nextSeq(now: number): number {
  lastSeq = Math.max(now, lastSeq + 1)
  return lastSeq
}

/** Re-emits what a relay does (RelayServiceEvents) on another emitter. */
function forwardRelayEvents(from: EventEmitter, to: EventEmitter): void {
  for (const event of ['paired', 'unpaired', 'refused', 'cut'] as const) from.on(event, (...args: unknown[]) => to.emit(event, ...args))
}

/** Whether this node's network lets peers reach a relay on it: open or consistent NAT, as `doctor` classifies. */
export function relayEligibility(dht: DHT): { ok: true } | { ok: false; reason: string } {
  if (dht.randomized) return { ok: false, reason: 'this machine is behind a randomizing NAT (a new public port per destination), which peers cannot reach reliably' }
  if (dht.host === null) return { ok: false, reason: 'the DHT nodes have not told this machine its public address' }
  return { ok: true }
}

/**
 * A room member's relay for its room: a RelayService on a key of its own,
 * on the member's DHT node, that serves only pairs with the room's listener.
 */
export class RelayVolunteer extends EventEmitter<RelayServiceEvents> {
  readonly service: RelayService

  constructor(
    private readonly dht: DHT,
    private readonly member: KeyPair,
    readonly listenerKey: Buffer,
    relayKeyPair: KeyPair,
    limits: Pick<RelayPolicy, 'maxPairs' | 'maxBytesPerSec'> = { maxPairs: VOLUNTEER_MAX_PAIRS, maxBytesPerSec: VOLUNTEER_MAX_BYTES_PER_SEC }
  ) {
    super()
    this.service = new RelayService(dht, relayKeyPair, { onlyFor: listenerKey, ...limits })
    forwardRelayEvents(this.service, this)
  }

  get relayKey(): Buffer {
    return this.service.publicKey
  }

  /** Starts the relay (announces its key). */
  async start(): Promise<void> {
    await this.service.listen()
  }

  /** Stores the member's signed record for the listener to read (again after each reconnect: a restarted listener reads it then). */
  async publish(): Promise<void> {
    await this.dht.mutablePut(this.member, encodeMemberRecord(this.listenerKey, this.relayKey), { seq: nextSeq(Date.now()) })
  }

  /** Stops relaying; the chat's DHT node stays. */
  close(): Promise<void> {
    return this.service.close({ keepNode: true, unannounceMs: 1000 })
  }
}

export interface RoomRelaysEvents {
  /** A connected member volunteers: its relay `relayKey` (hex) is in the room's list now. */
  volunteer: [memberKey: string, relayKey: string]
  /** A volunteer left: its relay is out of the list. */
  'volunteer-gone': [memberKey: string, relayKey: string]
}

interface Member {
  key: Buffer
  hex: string
  relay: Buffer | null
  timer: NodeJS.Timeout | null
  gone: boolean
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

  /** A member joined: look for its record. Returns the handle to pass to remove(). */
  add(key: Buffer): object {
    const member: Member = { key, hex: toHex(key), relay: null, timer: null, gone: false }
    this.members.add(member)
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

  get relays(): Buffer[] {
    const seen = new Set<string>()
    const out: Buffer[] = []
    for (const m of this.members) {
      if (!m.relay || seen.has(toHex(m.relay))) continue
      seen.add(toHex(m.relay))
      out.push(m.relay)
    }
    return out.slice(0, MAX_ROOM_RELAYS)
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
    // A record outlives the process that wrote it: list only a relay that is announced now.
    if (!(await this.announced(decoded.relay)) || member.gone || this.closed) return false
    // And one we can reach: open the link newcomers' connections will share.
    if (!(await this.link(decoded.relay, member))) return false
    member.relay = Buffer.from(decoded.relay)
    this.emit('volunteer', member.hex, toHex(member.relay))
    this.schedulePublish()
    return true
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

/** The relays a listener lists for its room (none when it lists none, or in time). */
export async function findRoomRelays(dht: DHT, listener: Buffer, timeoutMs = FIND_TIMEOUT_MS): Promise<Buffer[]> {
  let timer: NodeJS.Timeout | undefined
  const record = await Promise.race([
    dht.mutableGet(listener, { latest: true }).catch(() => null),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))
  ])
  clearTimeout(timer)
  return record ? decodeRoomRelays(record.value) : []
}

export interface MemberRelayEvents extends RelayServiceEvents {
  /** The member's relay runs and its record is stored (after a reconnect the record is stored again, silently). */
  volunteering: [relayKey: string]
  /** The member does not volunteer: why (its network). Said once. */
  declined: [reason: string]
  /** Starting the relay or storing its record failed (offline?): the chat goes on. */
  failed: [message: string]
}

/**
 * A `connect`'s volunteering, across reconnects: once its connection to the
 * room has lasted `afterMs`, and if its network lets peers reach it, it
 * starts a RelayVolunteer and stores its record; after each reconnect it
 * stores the record again (a restarted listener reads it then).
 */
export class MemberRelay extends EventEmitter<MemberRelayEvents> {
  private volunteer: RelayVolunteer | null = null
  private timer: NodeJS.Timeout | null = null
  private declined = false
  private closed = false

  constructor(
    private readonly dht: DHT,
    private readonly member: KeyPair,
    private readonly listenerKey: Buffer,
    private readonly newKeyPair: () => KeyPair,
    private readonly afterMs = VOLUNTEER_AFTER_MS
  ) {
    super()
  }

  get relayKey(): Buffer | null {
    return this.volunteer?.relayKey ?? null
  }

  /** Connected (again) to the room. */
  connected(): void {
    if (this.closed || this.declined) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.volunteerNow()
    }, this.afterMs)
    this.timer.unref()
  }

  /** The connection ended: a member that is not connected does not start volunteering. */
  disconnected(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private async volunteerNow(): Promise<void> {
    try {
      const first = !this.volunteer
      if (!this.volunteer) {
        const eligible = relayEligibility(this.dht)
        if (!eligible.ok) {
          this.declined = true
          this.emit('declined', eligible.reason)
          return
        }
        // See VOLUNTEER_RANDOM_PUNCH_INTERVAL_MS (the documented option, set after the node was made for the chat).
        const punch = this.dht as unknown as { _randomPunchInterval?: number }
        if (typeof punch._randomPunchInterval === 'number') punch._randomPunchInterval = Math.min(punch._randomPunchInterval, VOLUNTEER_RANDOM_PUNCH_INTERVAL_MS)
        const volunteer = new RelayVolunteer(this.dht, this.member, this.listenerKey, this.newKeyPair())
        forwardRelayEvents(volunteer, this)
        try {
          await volunteer.start()
        } catch (err) {
          await volunteer.close()
          throw err
        }
        // Closed meanwhile: stop what was started.
        if (this.closed) return void (await volunteer.close())
        this.volunteer = volunteer
      }
      if (this.closed) return
      await this.volunteer.publish()
      // Said once: after a reconnect the record is only stored again.
      if (first && !this.closed) this.emit('volunteering', toHex(this.volunteer.relayKey))
    } catch (err) {
      if (!this.closed) this.emit('failed', err instanceof Error ? err.message : String(err))
    }
  }

  close(): Promise<void> {
    this.closed = true
    this.disconnected()
    return this.volunteer?.close() ?? Promise.resolve()
  }
}
