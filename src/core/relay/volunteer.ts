import { EventEmitter } from 'node:events'
import type { default as DHT, KeyPair } from 'hyperdht'
import { toHex } from '../store/keys.js'
import { encodeMemberRecord, nextSeq } from './records.js'
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

/** Re-emits what a relay does (RelayServiceEvents) on another emitter. */
function forwardRelayEvents(from: EventEmitter, to: EventEmitter): void {
  for (const event of ['paired', 'unpaired', 'refused', 'cut'] as const) from.on(event, (...args: unknown[]) => to.emit(event, ...args))
}

/** Whether this node's network lets peers reach a relay on it: open or consistent NAT, as `doctor` classifies. */
function relayEligibility(dht: DHT): { ok: true } | { ok: false; reason: string } {
  if (dht.randomized) return { ok: false, reason: 'this machine is behind a randomizing NAT (a new public port per destination), which peers cannot reach reliably' }
  if (dht.host === null) return { ok: false, reason: 'the DHT nodes have not told this machine its public address' }
  return { ok: true }
}

/**
 * A room member's relay for its room: a RelayService on a key of its own,
 * on the member's DHT node, that serves only pairs with the room's listener.
 */
class RelayVolunteer extends EventEmitter<RelayServiceEvents> {
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

  /** Volunteers while `connection` is connected to the room (connect's Connector). */
  follow(connection: { on(event: 'connected', listener: () => void): unknown; on(event: 'lost', listener: () => void): unknown }): void {
    connection.on('connected', () => this.connected())
    connection.on('lost', () => this.disconnected())
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

