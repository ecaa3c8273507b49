/**
 * Every JSON object p2pchat prints with --json: one union, one member per
 * event (a `relay` or `pairing` event has one member per `event`).
 * docs/json-events.md documents each member field by field; a unit test
 * checks the two against each other, so they cannot drift.
 *
 * Keys are 64 hex characters; `time` is ISO 8601 (UTC).
 */

/** What `connect` and `listen` are busy with before the chat starts. */
export type Stage = 'joining' | 'announcing' | 'inviting' | 'pairing' | 'connecting' | 'confirming'

/** A peer as every event that describes one shows it. */
export interface PeerFields {
  key: string
  /** Contact name, else the first 8 hex characters of the key. */
  name: string
  /** host:port of the UDP path, when known. */
  address: string | null
  path: 'direct' | 'relayed' | null
  /** The relay's key when relayed. */
  relay: string | null
  /** Whose relay it is (a room member's volunteer relay), when known. */
  relayName?: string
  rttMs: number | null
}

export interface StatusEvent {
  type: 'status'
  stage: Stage
  detail: string
}

export interface ReadyEvent {
  type: 'ready'
  publicKey: string
  z32: string
}

export interface ConnectedEvent extends PeerFields {
  type: 'connected'
  remoteKey: string
  safetyWords: string[] | null
  reconnect: boolean
}

export interface PathChangedEvent extends PeerFields {
  type: 'path-changed'
  /** The path summary before the change. */
  before: string
}

export interface PeerJoinedEvent extends PeerFields {
  type: 'peer-joined'
  safetyWords: string[] | null
}

export interface PeerLeftEvent {
  type: 'peer-left'
  key: string
  name: string
  reason: string | null
}

export interface MessageEvent {
  type: 'message'
  from: string
  name: string
  text: string
  /** Bytes cut off a line over the length limit. */
  droppedBytes?: number
}

export interface NoticeEvent {
  type: 'notice'
  text: string
}

export interface SentEvent {
  type: 'sent'
  seq: number
  text: string
  queued: boolean
  /** listen: the keys the line was written to. */
  to?: string[]
}

export interface DeliveredEvent {
  type: 'delivered'
  key: string
  name: string
  upTo: number
}

export interface PendingEvent {
  type: 'pending'
  key: string
  name: string
  seqs: number[]
}

export interface UndeliveredEvent {
  type: 'undelivered'
  key: string
  name: string
  seqs: number[]
  kept: boolean
}

export interface ClosedEvent {
  type: 'closed'
  reason: string | null
}

/** The error that ended the command (printed by the one catch in cli.ts). */
export interface ErrorEvent {
  type: 'error'
  code: string
  message: string
  exitCode: number
}

/** `doctor --json`: the findings. */
export interface DoctorEvent {
  type: 'doctor'
  ok: true
  bootstrap: string
  bootstrapMs: number
  nodes: number
  publicAddress: string | null
  natType: 'open' | 'consistent' | 'random' | 'unknown'
  firewalled: boolean
  noNat: boolean
  advice: string
}

// ---- relay: what this process's volunteer relay does (connect), or the room's volunteers (listen)

interface RelayBase {
  type: 'relay'
  text: string
}
export interface RelayVolunteeringEvent extends RelayBase {
  event: 'volunteering'
  relayKey: string
  maxPairs: number
  maxBytesPerSec: number
}
export interface RelayDeclinedEvent extends RelayBase {
  event: 'declined'
  reason: string
}
export interface RelayFailedEvent extends RelayBase {
  event: 'failed'
  reason: string
}
export interface RelayPairedEvent extends RelayBase {
  event: 'paired'
  key: string
  name: string
  to: string
  active: number
}
export interface RelayUnpairedEvent extends RelayBase {
  event: 'unpaired'
  key: string
  name: string
  bytes: number
  active: number
}
export interface RelayRefusedEvent extends RelayBase {
  event: 'refused'
  key: string
  reason: 'outsider' | 'full'
}
export interface RelayCutEvent extends RelayBase {
  event: 'cut'
  key: string
  bytesPerSec: number
}
export interface RelayVolunteerEvent extends RelayBase {
  event: 'volunteer'
  key: string
  name: string
  relayKey: string
}
export interface RelayVolunteerGoneEvent extends RelayBase {
  event: 'volunteer-gone'
  key: string
  name: string
  relayKey: string
}
/** listen: a member's record names a relay that is never listed. */
export interface RelayRecordRefusedEvent extends RelayBase {
  event: 'record-refused'
  key: string
  name: string
  relayKey: string
  reason: 'listener' | 'member' | 'taken'
}
export type RelayEvent =
  | RelayVolunteeringEvent
  | RelayDeclinedEvent
  | RelayFailedEvent
  | RelayPairedEvent
  | RelayUnpairedEvent
  | RelayRefusedEvent
  | RelayCutEvent
  | RelayVolunteerEvent
  | RelayVolunteerGoneEvent
  | RelayRecordRefusedEvent

// ---- pairing: invite codes, and contacts learnt by pairing

interface PairingBase {
  type: 'pairing'
  text: string
  /** Present (true) when it is shown loudly: a contact's key changed, a code was burned, contested or held by strangers. */
  warning?: true
}
export interface PairingInviteEvent extends PairingBase {
  event: 'invite'
  code: string
  uses: number
  expiresAt: string
  command: string
  name: string
}
/** listen: a joiner paired by the code. */
export interface PairingJoinedEvent extends PairingBase {
  event: 'paired'
  key: string
  name: string
  /** null when the contact could not be saved. */
  savedAs: string | null
  usesLeft: number
}
/** connect CODE: paired with the inviter. */
export interface PairingInviterEvent extends PairingBase {
  event: 'paired'
  key: string
  name: string
  savedAs: string
  offeredAs: string
}
export interface PairingKeyChangedEvent extends PairingBase {
  event: 'contact-key-changed'
  key: string
  name: string
  savedAs: string
  contact: string
  oldKey: string
  /** listen only. */
  usesLeft?: number
  /** connect only. */
  offeredAs?: string
}
export interface PairingContestedEvent extends PairingBase {
  event: 'contested'
  nameplate: number
  otherKey: string
}
/** listen: strangers hold every rendezvous slot of the code: joiners are turned away for now. */
export interface PairingBusyEvent extends PairingBase {
  event: 'busy'
  nameplate: number
  slots: number
}
export interface PairingWrongCodeEvent extends PairingBase {
  event: 'wrong-code'
  nameplate: number
}
export interface PairingExpiredEvent extends PairingBase {
  event: 'expired'
  code: string
}
export interface PairingReplacedEvent extends PairingBase {
  event: 'replaced'
  code: string
}
export type PairingEvent =
  | PairingInviteEvent
  | PairingJoinedEvent
  | PairingInviterEvent
  | PairingKeyChangedEvent
  | PairingContestedEvent
  | PairingBusyEvent
  | PairingWrongCodeEvent
  | PairingExpiredEvent
  | PairingReplacedEvent

/** An event as code builds it; `time` is added when it is printed. */
export type JsonEventBody =
  | StatusEvent
  | ReadyEvent
  | ConnectedEvent
  | PathChangedEvent
  | PeerJoinedEvent
  | PeerLeftEvent
  | MessageEvent
  | NoticeEvent
  | SentEvent
  | DeliveredEvent
  | PendingEvent
  | UndeliveredEvent
  | ClosedEvent
  | ErrorEvent
  | DoctorEvent
  | RelayEvent
  | PairingEvent

/** Every JSON object p2pchat prints. */
export type JsonEvent = JsonEventBody & { time: string }

/** A `relay` or `pairing` event as a presenter builds it (the UI adds `type`). */
export type RelayNews = DistributiveOmit<RelayEvent, 'type'>
export type PairingNews = DistributiveOmit<PairingEvent, 'type'>

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** The event stamped with the time, ready to print: `type` first, then `time`, then its fields. */
export function timed(event: JsonEventBody, now: number = Date.now()): JsonEvent {
  const { type, ...fields } = event
  return { type, time: new Date(now).toISOString(), ...fields } as JsonEvent
}
