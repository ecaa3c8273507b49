import { ChatError, explainRefusal } from '../core/errors.js'
import { formatBootstrap } from '../core/dht/network.js'
import { inviteCodeOf, looksLikeInviteCode } from '../core/invite/code.js'
import { blameNetworkFirst, pairByCode } from '../core/invite/redeem.js'
import { findRoomRelays } from '../core/relay/room-relays.js'
import { MemberRelay } from '../core/relay/volunteer.js'
import { Connector } from '../core/roles/connector.js'
import { validateContactName } from '../core/store/contacts.js'
import { generateIdentity } from '../core/store/identity.js'
import { toHex } from '../core/store/keys.js'
import { withShutdown, type Shutdown } from '../process/shutdown.js'
import { showFailure } from '../ui/chat-ui.js'
import { JOINING } from '../ui/present/network.js'
import { pairingStage, presentConnector, STOPPED_WHILE_PAIRING, VOLUNTEER_RELAY_NAME } from '../ui/present/dial.js'
import { contactWords, identityWords } from '../ui/present/identity.js'
import { presentInviterPaired } from '../ui/present/invite.js'
import { bootstrapFlag } from '../ui/present/network.js'
import { showMemberRelay } from '../ui/present/relays.js'
import { contactsPath, type CommandContext } from './context.js'
import { addressBook, addressBookForKeys, chatUi, chooseIdentity, leaveDht, networkOf, offeredName, openDht, relaysOf } from './shared.js'

export interface ConnectOptions {
  identity?: string
  bootstrap?: string
  timeout: number
  json?: boolean
  timestamps?: boolean
  sanitize?: boolean
  reconnect?: boolean
  relayThrough?: string[]
  /** false with --no-relay: do not volunteer as a relay for the room. */
  relay?: boolean
  /** Invite codes: the name we offer to the inviter (default: the login name). */
  name?: string
  /** Invite codes: the name to save the inviter under (default: the name it offers). */
  saveAs?: string
}

/** `words`: what was typed after connect; several only for an invite code typed without quotes (`connect 7 orbit tunnel maple`). */
export async function connect(words: string[], opts: ConnectOptions, ctx: CommandContext): Promise<number> {
  // First of all, so that SIGINT, SIGTERM, SIGHUP or a lost stdout at any phase end it cleanly.
  return withShutdown((shutdown) => chat(words, opts, ctx, shutdown))
}

async function chat(words: string[], opts: ConnectOptions, ctx: CommandContext, shutdown: Shutdown): Promise<number> {
  // Validate everything before touching the network.
  const keyArg = words.join(' ')
  if (words.length > 1 && !looksLikeInviteCode(keyArg)) throw ChatError.connectWords(words)
  // Only names need the address book: with an unreadable one, a key still works (and a name says why not).
  const book = await addressBookForKeys(ctx)
  const problem = book.problem
  let contacts = book.contacts
  const invite = inviteCodeOf(keyArg, contacts)
  // Pairing saves the inviter in it: it must be readable before the words are spent.
  if (invite && problem) throw problem
  if (!invite && (opts.name !== undefined || opts.saveAs !== undefined)) throw ChatError.pairingOptionsWithoutCode()
  if (opts.name !== undefined) validateContactName(opts.name)
  if (opts.saveAs !== undefined) validateContactName(opts.saveAs)
  let remoteKey = invite ? null : contacts.resolve(keyArg)
  // The inviter's name once paired (before that, the contact's or the short key).
  let remoteName: string | null = null
  const network = networkOf(opts, ctx)
  const relays = relaysOf(opts, ctx, (k) => contacts.resolve(k))
  // Pairing is for good: it needs a key that stays (created like listen does when there is none).
  const { identity, throwaway, created } = await chooseIdentity(invite ? 'pair' : 'connect', opts.identity, ctx)
  // Dialing our own key reaches our own listener, or nobody: a mistake, said before the network.
  if (remoteKey?.equals(identity.publicKey)) throw ChatError.ownKey(toHex(remoteKey))

  const { ui, mode } = await chatUi(opts, ctx)
  if (problem) ui.notice(contactWords.unavailable(problem))
  if (created) ui.notice(identityWords.createdToPair(created))
  if (throwaway) ui.notice(identityWords.throwaway)

  try {
    ui.stage('joining', JOINING)
    // Dial while the bootstrap walk is still going: hyperdht's lookup waits
    // for what it needs. `joined` only explains a failure (DHT unreachable).
    // The node's own key is ours too: the relays we go through (and a room
    // member's volunteer relay, which shows whom it relays) see who we are.
    const { dht, joined } = await openDht(network, identity)
    if (invite) {
      ui.stage('pairing', pairingStage(invite.nameplate))
      const offered = offeredName(opts.name, ctx)
      const pairing = pairByCode(dht, invite, { identity, name: offered, timeoutMs: opts.timeout * 1000, relayThrough: relays, contactsFile: contactsPath(ctx), saveAs: opts.saveAs })
      const paired = await shutdown.race(pairing).catch(async (err: unknown) => {
        try {
          await blameNetworkFirst(err, joined)
        } finally {
          await leaveDht(dht)
        }
      })
      if (!paired) {
        // Stopped (Ctrl+C) while pairing, as a stop while connecting: nothing was saved.
        await leaveDht(dht)
        ui.stop()
        ui.closed(STOPPED_WHILE_PAIRING)
        return 0
      }
      presentInviterPaired(ui, paired.inviter, paired.saved, offered, bootstrapFlag(network))
      remoteKey = paired.inviter.key
      remoteName = paired.saved.savedAs
      // The inviter is a contact now: name it so from here on.
      contacts = await addressBook(ctx).catch(() => contacts)
    }
    const peerKey = remoteKey!
    // A member of the room relays for newcomers (unless --no-relay); see core/relay/volunteer.ts.
    const memberRelay = opts.relay !== false ? new MemberRelay(dht, identity, peerKey, generateIdentity) : null
    try {
      const connector: Connector = new Connector(dht, peerKey, {
        keyPair: identity,
        timeoutMs: opts.timeout * 1000,
        reconnect: Boolean(opts.reconnect),
        relays,
        // Never our own keys, whatever the list says (see findRoomRelays).
        roomRelays: () => findRoomRelays(dht, peerKey, [identity.publicKey, ...(memberRelay?.relayKey ? [memberRelay.relayKey] : [])]),
        relayName: (hex) => (connector.isVolunteer(hex) ? VOLUNTEER_RELAY_NAME : null),
        nameOf: (hex) => contacts.displayName(hex),
        bootstrap: network.bootstrap ? formatBootstrap(network.bootstrap) : null,
        joined,
        stopped: shutdown.stopped
      })
      if (memberRelay) {
        memberRelay.follow(connector)
        showMemberRelay(memberRelay, ui, (hex) => contacts.displayName(hex))
      }
      presentConnector(connector, ui, remoteName ?? contacts.displayName(toHex(peerKey)))
      // In a terminal, the prompt comes once connected; piped input is read (and queued) at once.
      if (mode === 'interactive') {
        connector.on('connected', (_peer, reconnect) => {
          if (!reconnect) ui.start(connector)
        })
      } else ui.start(connector)
      const { code, error, reason } = await connector.run()
      ui.stop()
      // A refusal of a throwaway key is told to make a permanent one (there is no identity to show).
      if (error) throw explainRefusal(error, { throwaway })
      ui.closed(reason)
      return code
    } finally {
      // Those we relay for hear at once that we stopped (and our relay key is unannounced).
      await memberRelay?.close()
      // Bounded: see DHT_LEAVE_GRACE_MS in core/dht/network.ts.
      await leaveDht(dht)
    }
  } catch (err) {
    ui.stop()
    throw showFailure(err, ui)
  }
}
