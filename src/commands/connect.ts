import { ChatError } from '../core/errors.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, loadOrCreateIdentity, type Identity } from '../core/store/identity.js'
import { defaultOfferedName, loadContacts, rememberPeer, validateContactName, type Contacts } from '../core/store/contacts.js'
import { looksLikeInviteCode, parseInviteCode, type InviteCode } from '../core/invite/code.js'
import { redeemInvite } from '../core/invite/redeem.js'
import { Connector } from '../core/roles/connector.js'
import { toHex } from '../core/store/keys.js'
import { leaveNetwork, openNode, resolveNetwork, resolveRelays } from '../core/dht/network.js'
import { MemberRelay } from '../core/relay/volunteer.js'
import { findRoomRelays } from '../core/relay/room-relays.js'
import { formatPathSummary } from '../ui/render.js'
import { withShutdown, type Shutdown } from '../process/shutdown.js'
import { chooseMode, createUi, showDelivery, showFailure, showKeyChanged, showMemberRelay, type ChatController } from '../ui/views.js'
import { contactsPath, type CommandContext } from './context.js'

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

export async function connect(keyArg: string, opts: ConnectOptions, ctx: CommandContext): Promise<number> {
  // First of all, so that SIGINT, SIGTERM, SIGHUP or a lost stdout at any phase end it cleanly.
  return withShutdown((shutdown) => chat(keyArg, opts, ctx, shutdown))
}

async function chat(keyArg: string, opts: ConnectOptions, ctx: CommandContext, shutdown: Shutdown): Promise<number> {
  const { output } = ctx
  // Validate everything before touching the network.
  let contacts = await loadContacts(contactsPath(ctx))
  const invite = inviteCodeOf(keyArg, contacts)
  if (!invite && (opts.name !== undefined || opts.saveAs !== undefined)) throw ChatError.usage('--name and --save-as go with an invite code (connect 7-orbit-tunnel-maple)')
  if (opts.name !== undefined) validateContactName(opts.name)
  if (opts.saveAs !== undefined) validateContactName(opts.saveAs)
  let remoteKey = invite ? null : contacts.resolve(keyArg)
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const relays = resolveRelays(opts.relayThrough, ctx.env, (k) => contacts.resolve(k))
  // Pairing is for good: it needs a key that stays (created like listen does when there is none).
  const { identity, throwaway, created } = invite ? await pairingIdentity(opts.identity, ctx) : { ...(await chooseIdentity(opts.identity, ctx)), created: null }
  let remoteName = remoteKey ? contacts.displayName(toHex(remoteKey)) : ''

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
  if (created) ui.notice(`created a new identity in ${created} (the inviter saves its key)`)
  if (throwaway) {
    ui.notice(
      "no identity: using a throwaway key for this session; the listener's --allow and contact names cannot recognise it; run 'p2pchat keygen' to get a permanent one"
    )
  }

  try {
    ui.stage('joining', 'joining the DHT…')
    // Dial while the bootstrap walk is still going: hyperdht's lookup waits
    // for what it needs. `joined` only explains a failure (DHT unreachable).
    // The node's own key is ours too: the relays we go through (and a room
    // member's volunteer relay, which shows whom it relays) see who we are.
    const { dht, joined } = await openNode(network, identity)
    if (invite) {
      let paired: Awaited<ReturnType<typeof pair>> | undefined
      try {
        paired = await shutdown.race(pair(dht, invite, identity, opts, ctx, ui, relays))
      } catch (err) {
        try {
          // A lookup that found nobody may be our network's fault: then say that instead.
          if (err instanceof ChatError && err.code === 'INVITE_UNAVAILABLE') await joined
        } finally {
          await leaveNetwork(dht)
        }
        throw err
      }
      if (!paired) {
        // Stopped (Ctrl+C) while pairing, as a stop while connecting: nothing was saved.
        await leaveNetwork(dht)
        ui.stop()
        ui.closed('stopped before pairing finished')
        return 0
      }
      ;({ remoteKey, remoteName } = paired)
      // The inviter is a contact now: name it so from here on.
      contacts = await loadContacts(contactsPath(ctx)).catch(() => contacts)
    }
    const peerKey = remoteKey!
    // A member of the room relays for newcomers (unless --no-relay); see core/volunteers.ts.
    const memberRelay = opts.relay !== false ? new MemberRelay(dht, identity, peerKey, generateIdentity) : null
    try {
      const connector: Connector = new Connector(dht, peerKey, {
        keyPair: identity,
        timeoutMs: opts.timeout * 1000,
        reconnect: Boolean(opts.reconnect),
        relays,
        roomRelays: () => findRoomRelays(dht, peerKey),
        relayName: (hex: string): string | null => (connector.isVolunteer(hex) ? "a room member's relay" : null),
        nameOf: (hex) => contacts.displayName(hex),
        joined,
        stopped: shutdown.stopped
      })
      const controller: ChatController = {
        role: 'connect',
        peers: () => (connector.peer ? [connector.peer.info()] : []),
        send: (lines) => connector.send(lines),
        sendTo: () => '/send-to works on a listener',
        // Input is done: deliver it, close, exit 0 (or 10: not all acknowledged).
        inputEnded: () => connector.endInput(),
        quit: () => connector.quit()
      }
      let lastPath = ''
      connector.on('connecting', (relayed) =>
        ui.stage('connecting', `connecting to ${remoteName}${relayed ? ' through a relay' : ''}: looking up the key, hole punching…`)
      )
      connector.on('confirming', () => ui.stage('confirming', 'connection open; waiting for the peer to answer…'))
      if (memberRelay) showMemberRelay(memberRelay, ui, (hex) => contacts.displayName(hex))
      connector.on('connected', (info, reconnect) => {
        memberRelay?.connected()
        lastPath = formatPathSummary(info)
        ui.connected(info, reconnect)
        if (mode === 'interactive' && !reconnect) ui.start(controller)
      })
      connector.on('path-changed', (info) => {
        ui.pathChanged(info, lastPath)
        lastPath = formatPathSummary(info)
      })
      connector.on('lines', (sender, lines) => ui.messages(sender, lines))
      connector.on('drain', () => ui.drain())
      showDelivery(connector.conversation, ui)
      connector.on('relay-retry', (failure, n, of, relay, wait) =>
        ui.notice(
          `${failure.message}; trying again${wait ? ` in ${Math.ceil(wait / 1000)} s` : ''}${relay ? ` through relay ${relay.slice(0, 8)}` : ''} (${n} of ${of})${wait ? ' (a hole punch with a randomizing NAT may start only some seconds after the last one, on either side)' : ''}`
        )
      )
      connector.on('via-relay', (failure, relay, count, volunteer, wait) =>
        ui.notice(
          `direct connection failed (${failure.message}); retrying through ${volunteer ? "a room member's relay" : 'relay'} ${relay.slice(0, 8)}${count > 1 ? ` (or one of ${count})` : ''}${wait > 0 ? ` in ${Math.ceil(wait / 1000)} s (a hole punch from behind a randomizing NAT may start only 20 s after the last one)` : ''}`
        )
      )
      connector.on('retrying', (failure, wait, attempt) =>
        ui.notice(`could not connect (${failure.message}); retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt})`)
      )
      connector.on('lost', (error) => {
        memberRelay?.disconnected()
        const why = error ? error.message : 'the peer closed the connection'
        ui.notice(`${why.startsWith('connection lost') ? why : `connection lost (${why})`}; reconnecting`)
      })

      if (mode !== 'interactive') ui.start(controller)
      const { code, error, reason } = await connector.run()
      memberRelay?.disconnected()
      ui.stop()
      if (error) throw error
      ui.closed(reason)
      return code
    } finally {
      // Those we relay for hear at once that we stopped (and our relay key is unannounced).
      await memberRelay?.close()
      // Bounded: see DHT_LEAVE_GRACE_MS in core/dht/network.ts.
      await leaveNetwork(dht)
    }
  } catch (err) {
    ui.stop()
    throw showFailure(err, ui)
  }
}

/** The invite code a connect argument means, if any: a contact's name always wins. */
function inviteCodeOf(arg: string, contacts: Contacts): InviteCode | null {
  if (contacts.keyOf(arg.trim()) || !looksLikeInviteCode(arg)) return null
  return parseInviteCode(arg)
}

/**
 * Runs the invite code's PAKE with the inviter, then saves the inviter in our
 * contacts (never over another key: see rememberPeer). Returns whom to connect to.
 */
async function pair(
  dht: Parameters<typeof redeemInvite>[0],
  code: InviteCode,
  identity: Identity,
  opts: ConnectOptions,
  ctx: CommandContext,
  ui: Awaited<ReturnType<typeof createUi>>,
  relays: Buffer[]
): Promise<{ remoteKey: Buffer; remoteName: string }> {
  ui.stage('pairing', `pairing with invite ${code.nameplate}-…: reaching the inviter, proving the words…`)
  const offered = opts.name ?? defaultOfferedName(ctx.env.USER ?? ctx.env.LOGNAME)
  const inviter = await redeemInvite(dht, code, { identity, name: offered, timeoutMs: opts.timeout * 1000, relayThrough: relays })
  const keyHex = toHex(inviter.key)
  const saved = await rememberPeer(contactsPath(ctx), keyHex, opts.saveAs ?? (inviter.name || 'peer'))
  const fields = { key: keyHex, name: inviter.name, savedAs: saved.savedAs, offeredAs: offered }
  showKeyChanged(ui, `the inviter's key ${keyHex}`, keyHex, saved, fields)
  const how = saved.already ? `already saved as contact ${saved.savedAs}` : `saved as contact ${saved.savedAs}`
  ui.pairing('paired', `paired with ${keyHex} by invite code (${how}; you offered the name ${offered}); next time: p2pchat connect ${saved.savedAs}`, fields)
  return { remoteKey: inviter.key, remoteName: saved.savedAs }
}

/** The identity to pair with: --identity, else the default one, created if missing (its path is returned when created). */
async function pairingIdentity(flag: string | undefined, ctx: CommandContext): Promise<{ identity: Identity; throwaway: false; created: string | null }> {
  if (flag !== undefined) return { identity: await loadIdentity(flag), throwaway: false, created: null }
  const file = defaultIdentityPath(ctx.env, ctx.homeDir)
  const { identity, created } = await loadOrCreateIdentity(file)
  return { identity, throwaway: false, created: created ? file : null }
}

async function chooseIdentity(flag: string | undefined, ctx: CommandContext): Promise<{ identity: Identity; throwaway: boolean }> {
  if (flag !== undefined) return { identity: await loadIdentity(flag), throwaway: false }
  try {
    return { identity: await loadIdentity(defaultIdentityPath(ctx.env, ctx.homeDir)), throwaway: false }
  } catch (err) {
    // No default identity: connect with a throwaway key pair (and say so).
    if (err instanceof ChatError && err.code === 'IDENTITY_NOT_FOUND') return { identity: generateIdentity(), throwaway: true }
    throw err
  }
}
