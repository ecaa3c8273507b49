import { ChatError } from '../core/errors.js'
import { INVITE_DEFAULT_EXPIRES_MS } from '../core/invite/invitation.js'
import { Invites } from '../core/invite/invites.js'
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../core/peer/ratelimit.js'
import { RoomRelays } from '../core/relay/room-relays.js'
import { Admission } from '../core/roles/admission.js'
import { ChatListener } from '../core/roles/listener.js'
import { AllowList } from '../core/store/allowlist.js'
import { validateContactName } from '../core/store/contacts.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import { withShutdown, type Shutdown } from '../process/shutdown.js'
import { showFailure, type ChatController } from '../ui/chat-ui.js'
import { contactWords, identityWords } from '../ui/present/identity.js'
import { inviteWords, OPENING_INVITE, presentInvites } from '../ui/present/invite.js'
import { bootstrapFlag, JOINING } from '../ui/present/network.js'
import { memberRelayName, showRoomRelays } from '../ui/present/relays.js'
import { ANNOUNCING, connectCommand, describeAllowList, LISTENER_STOPPED, presentGuestList, presentRoom, qrPresenter } from '../ui/present/room.js'
import type { CommandContext } from './context.js'
import { chatUi, chooseIdentity, joinDht, networkOf, offeredName, relaysOf, watchedAddressBook } from './shared.js'

export interface ListenOptions {
  identity?: string
  bootstrap?: string
  json?: boolean
  timestamps?: boolean
  sanitize?: boolean
  qr?: boolean
  allow?: string[]
  allowFile?: string
  forward?: boolean
  maxPeers?: number
  rateLines?: number
  rateBytes?: number
  floodGrace?: number
  relayThrough?: string[]
  /** false with --no-relay: list no volunteer relays for newcomers. */
  relay?: boolean
  /** Accept exactly the keys in the address book (and those paired by invite). */
  allowContacts?: boolean
  invite?: boolean
  inviteUses?: number
  /** Minutes. */
  inviteExpires?: number
  /** The contact name offered to those who pair with you. */
  name?: string
}

/** Test seam: how often (ms) a listener checks that the DHT still holds its announcement (default 30 000). */
const ANNOUNCE_CHECK_ENV = 'P2PCHAT_ANNOUNCE_CHECK_MS'

export async function listen(opts: ListenOptions, ctx: CommandContext): Promise<number> {
  // First of all: a signal or a lost terminal at any phase (loading, joining,
  // announcing, serving) ends the listener through the one shutdown path.
  return withShutdown((shutdown) => serve(opts, ctx, shutdown))
}

async function serve(opts: ListenOptions, ctx: CommandContext, shutdown: Shutdown): Promise<number> {
  const network = networkOf(opts, ctx)
  // The address book is re-read when it changes: names follow `contacts add` at once.
  // An unusable one stops only what needs names: --allow-contacts, and --invite (which saves joiners in it).
  const { book, problem } = await watchedAddressBook(ctx)
  if (problem && (opts.allowContacts || opts.invite)) throw problem
  if (!opts.invite && (opts.inviteUses !== undefined || opts.inviteExpires !== undefined || opts.name !== undefined)) {
    throw ChatError.inviteOptionsWithoutInvite()
  }
  if (opts.name !== undefined) validateContactName(opts.name)
  // Resolve the allow list before anything else: a typo must not open the room.
  // Names given with --allow are resolved once, here; names in --allow-file each time it is read.
  const allowList =
    opts.allow !== undefined || opts.allowFile !== undefined
      ? new AllowList(new Set((opts.allow ?? []).map((k) => toHex(book.current.resolve(k)))), opts.allowFile, () => book.current)
      : null
  await allowList?.load()
  const admission = new Admission({ book, allowList, allowContacts: opts.allowContacts === true })
  const limits: RateLimits = {
    linesPerSec: opts.rateLines ?? DEFAULT_RATE_LIMITS.linesPerSec,
    bytesPerSec: opts.rateBytes ?? DEFAULT_RATE_LIMITS.bytesPerSec,
    floodGraceMs: opts.floodGrace !== undefined ? opts.floodGrace * 1000 : DEFAULT_RATE_LIMITS.floodGraceMs
  }
  const relays = relaysOf(opts, ctx, (k) => book.current.resolve(k))
  const { identity, created } = await chooseIdentity('listen', opts.identity, ctx)

  const { ui, mode } = await chatUi(opts, ctx)
  if (problem) ui.notice(contactWords.unavailable(problem))
  if (created) ui.notice(identityWords.created(created))

  // Watch the files from now on (an edit made while joining counts), and
  // stop watching on every way out.
  let room: ChatListener | null = null
  presentGuestList(book, allowList, ui)
  book.on('changed', () => {
    room?.refreshNames()
    // Contact names in the allow file may now mean other keys.
    void allowList?.reload()
  })
  book.watch()
  allowList?.watch()
  try {
    if (shutdown.signal.aborted) return 0
    ui.stage('joining', JOINING)
    // The node's own key is the listener's: a room member's volunteer relay
    // pairs only requests from this key (hyperdht connects to relays with it).
    const dht = await joinDht(network, identity, shutdown)
    if (!dht) {
      ui.closed(LISTENER_STOPPED)
      return 0
    }
    // Which members volunteer as relays, listed (signed) for newcomers; see core/relay/room-relays.ts.
    const roomRelays = opts.relay !== false ? new RoomRelays(dht, identity) : null
    room = new ChatListener(dht, identity, {
      allow: admission.restricted ? (hex) => admission.admits(hex) : undefined,
      maxPeers: opts.maxPeers,
      forward: opts.forward !== false,
      limits,
      nameOf: (hex) => admission.displayName(hex),
      relayThrough: relays,
      relayName: (hex) => {
        const owner = roomRelays?.ownerOf(hex)
        return owner ? memberRelayName(admission.displayName(owner)) : null
      },
      announceCheckMs: parseAnnounceCheck(ctx.env[ANNOUNCE_CHECK_ENV]),
      holdUntilFirstPeer: mode !== 'interactive'
    })
    // Invite codes: one open at a time, from --invite at start or /invite later.
    const code = {
      name: offeredName(opts.name, ctx),
      uses: opts.inviteUses ?? 1,
      expiresMs: opts.inviteExpires !== undefined ? Math.round(opts.inviteExpires * 60_000) : INVITE_DEFAULT_EXPIRES_MS
    }
    const invites = new Invites(dht, {
      identity,
      ...code,
      relayThrough: relays,
      book,
      onPaired: (hex, name) => admission.pairedWith(hex, name)
    })

    let stopping = false
    const listener = room
    // The one way out from here on, whatever the phase: stop reading, then
    // close what was started, in order: invites, relays, peers, unannounce, the DHT node.
    const stop = async (): Promise<number> => {
      stopping = true
      ui.stop()
      await invites.close()
      roomRelays?.close()
      await listener.close()
      ui.closed(LISTENER_STOPPED)
      return 0
    }

    const controller: ChatController = {
      role: 'listen',
      peers: () => listener.peerInfos(),
      // Backpressure (`wait`): stop reading stdin while a peer's queue is over its soft mark.
      send: (lines) => listener.send(lines),
      sendTo: (target, text) => listener.sendTo(target, text),
      // stdin ending only ends typing: keep serving until signalled.
      inputEnded: () => {},
      quit: () => shutdown.stop('quit'),
      invite: () => {
        if (invites.busy) return inviteWords.busy
        void invites.open().catch((err: unknown) => ui.notice(inviteWords.failed(err)))
        return null
      }
    }

    roomRelays?.follow(room)
    if (roomRelays) showRoomRelays(roomRelays, ui, (hex) => admission.displayName(hex))
    presentRoom(room, ui, { maxPeers: opts.maxPeers, stopping: () => stopping })
    const flag = bootstrapFlag(network)
    const showQr = opts.qr ? await qrPresenter() : null
    presentInvites(invites, ui, {
      ...code,
      bootstrapFlag: flag,
      newCodeHint: inviteWords.newCodeHint(mode === 'interactive'),
      qr: showQr
    })

    ui.stage('announcing', ANNOUNCING)
    try {
      await shutdown.race(room.listen({ signal: shutdown.signal }))
    } catch (err) {
      await room.close()
      throw err
    }
    if (shutdown.signal.aborted) return await stop()
    roomRelays?.start()

    const hex = toHex(identity.publicKey)
    ui.ready(hex, toZ32(identity.publicKey), connectCommand(hex, flag))
    if (admission.restricted) ui.notice(describeAllowList(allowList?.size ?? 0, book.current.size, opts))
    showQr?.(ui, 'the key', hex)
    if (opts.invite) {
      ui.stage('inviting', OPENING_INVITE)
      await shutdown.race(invites.open())
      if (shutdown.signal.aborted) return await stop()
    }
    ui.start(controller)
    await shutdown.stopped
    return await stop()
  } catch (err) {
    ui.stop()
    throw showFailure(err, ui)
  } finally {
    allowList?.close()
    book.close()
  }
}

/** The test seam's value, within what a timer can hold (else the default). */
function parseAnnounceCheck(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,8}$/.test(value)) return undefined
  // A timer over 2^31 - 1 ms fires at once in Node.
  return Math.min(Number(value), 2 ** 31 - 1)
}
