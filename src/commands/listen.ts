import { Conversation } from '../core/peer/conversation.js'
import { defaultIdentityPath, loadIdentity, loadOrCreateIdentity } from '../core/store/identity.js'
import { AllowList } from '../core/store/allowlist.js'
import { ContactBook, defaultOfferedName, rememberPeer, validateContactName } from '../core/store/contacts.js'
import { ChatError } from '../core/errors.js'
import { INVITE_DEFAULT_EXPIRES_MS, Invitation } from '../core/invite/invitation.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../core/peer/ratelimit.js'
import { ChatListener } from '../core/roles/listener.js'
import { formatBootstrap, leaveNetwork, openNode, resolveNetwork, resolveRelays } from '../core/dht/network.js'
import { trackRelaySockets } from '../core/relay/addresses.js'
import { RoomRelays } from '../core/relay/room-relays.js'
import { formatPathSummary } from '../ui/render.js'
import { withShutdown, type Shutdown } from '../process/shutdown.js'
import { chooseMode, createUi, showDelivery, showFailure, showKeyChanged, showRoomRelays, type ChatController } from '../ui/views.js'
import { contactsPath, type CommandContext } from './context.js'

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
  /** The contact name offered to those who pair by invite. */
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
  const { output } = ctx
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const file = opts.identity ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  // The address book is re-read when it changes: names follow `contacts add` at once.
  const book = await ContactBook.load(contactsPath(ctx))
  // Names of keys that just paired by invite code, until their contact is saved: the joiner's
  // chat connection can arrive before the contacts file is written, and must not show as a stranger.
  const pairedNames = new Map<string, string>()
  const nameOf = (hex: string): string | undefined => book.current.nameOf(hex) ?? pairedNames.get(hex)
  const contacts = { displayName: (hex: string) => nameOf(hex) ?? hex.slice(0, 8), nameOf }
  if (!opts.invite && (opts.inviteUses !== undefined || opts.inviteExpires !== undefined || opts.name !== undefined)) {
    throw ChatError.usage('--invite-uses, --invite-expires and --name go with --invite')
  }
  if (opts.name !== undefined) validateContactName(opts.name)
  // Resolve the allow list before anything else: a typo must not open the room.
  // Names given with --allow are resolved once, here; names in --allow-file each time it is read.
  const allowList =
    opts.allow !== undefined || opts.allowFile !== undefined
      ? new AllowList(new Set((opts.allow ?? []).map((k) => toHex(book.current.resolve(k)))), opts.allowFile, () => book.current)
      : null
  await allowList?.load()
  const limits: RateLimits = {
    linesPerSec: opts.rateLines ?? DEFAULT_RATE_LIMITS.linesPerSec,
    bytesPerSec: opts.rateBytes ?? DEFAULT_RATE_LIMITS.bytesPerSec,
    floodGraceMs: opts.floodGrace !== undefined ? opts.floodGrace * 1000 : DEFAULT_RATE_LIMITS.floodGraceMs
  }
  const relays = resolveRelays(opts.relayThrough, ctx.env, (k) => book.current.resolve(k))
  // A path the user named must exist (a typo must not silently make a new key); the default is created on first use.
  const { identity, created } = opts.identity !== undefined ? { identity: await loadIdentity(opts.identity), created: false } : await loadOrCreateIdentity(file)

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
  if (created) ui.notice(`created a new identity in ${file}`)

  // Watch the files from now on (an edit made while joining counts), and
  // stop watching on every way out.
  let listener: ChatListener | null = null
  book.on('changed', (current) => {
    ui.notice(`contacts reloaded: ${current.size} name${current.size === 1 ? '' : 's'}`)
    for (const peer of listener?.peers ?? []) peer.refreshName()
    // Contact names in the allow file may now mean other keys.
    void allowList?.reload()
  })
  book.on('error', (err) => ui.notice(`contacts not reloaded, keeping the previous names: ${err.message}`))
  allowList?.on('reloaded', (count) => ui.notice(`allow file reloaded: ${count} key${count === 1 ? '' : 's'}`))
  allowList?.on('error', (err) => ui.notice(`allow file not reloaded, keeping the previous list: ${err.message}`))
  book.watch()
  allowList?.watch()
  try {
    return await run()
  } finally {
    allowList?.close()
    book.close()
  }

  async function run(): Promise<number> {
    if (shutdown.signal.aborted) return 0
    const checkEnv = parseAnnounceCheck(ctx.env[ANNOUNCE_CHECK_ENV])

    try {
      ui.stage('joining', 'joining the DHT…')
      // The node's own key is the listener's: a room member's volunteer relay
      // pairs only requests from this key (hyperdht connects to relays with it).
      const { dht, joined } = await openNode(network, identity)
      await shutdown.race(joined)
      if (shutdown.signal.aborted) {
        await leaveNetwork(dht)
        ui.closed('listener stopped')
        return 0
      }
      // A listener dials nobody: every connection its node opens goes to a relay.
      const relayAddresses = trackRelaySockets(dht)
      // Which members volunteer as relays, listed (signed) for newcomers; see core/volunteers.ts.
      // Made after the tracking above: its links to the relays are tracked when they open.
      const roomRelays = opts.relay !== false ? new RoomRelays(dht, identity) : null
      // Keys paired by invite code in this run are admitted whatever the allow list says: the code was the invitation.
      const paired = new Set<string>()
      const restricted = allowList !== null || opts.allowContacts === true
      const room = new ChatListener(dht, identity, {
        allow: restricted
          ? (hex) => paired.has(hex) || (allowList?.allows(hex) ?? false) || (opts.allowContacts === true && book.current.nameOf(hex) !== undefined)
          : undefined,
        maxPeers: opts.maxPeers,
        forward: opts.forward !== false,
        limits,
        nameOf: (hex) => contacts.displayName(hex),
        relayThrough: relays,
        relayAddresses,
        relayName: (hex) => {
          const owner = roomRelays?.ownerOf(hex)
          return owner ? `${contacts.displayName(owner)}'s relay` : null
        },
        announceCheckMs: checkEnv
      })
      listener = room

      let stopping = false
      let invitation: Invitation | null = null
      // The one way out from here on, whatever the phase: stop reading, then
      // close what was started, in order: peers, unannounce, the DHT node.
      const stop = async (): Promise<number> => {
        stopping = true
        ui.stop()
        await invitation?.close()
        roomRelays?.close()
        await room.close()
        ui.closed('listener stopped')
        return 0
      }

      // Our lines, numbered, and which peer acknowledged which. No outbox: a
      // line typed into an empty room is refused (and said so).
      const conversation = new Conversation({ keepUndelivered: false, outbox: false, bounded: true })
      showDelivery(conversation, ui)

      const controller: ChatController = {
        role: 'listen',
        peers: () => [...room.peers].map((p) => p.info()),
        // Backpressure (`wait`): stop reading stdin while a peer's queue is over its soft mark.
        send: (lines) => conversation.send(lines, [...room.peers]),
        sendTo: (target, text) => {
          const t = target.toLowerCase()
          const matches = [...room.peers].filter((p) => p.remoteKeyHex.startsWith(t) || contacts.nameOf(p.remoteKeyHex) === target)
          if (matches.length === 0) return `no connected peer matches ${JSON.stringify(target)}`
          if (matches.length > 1) return `${JSON.stringify(target)} matches ${matches.length} peers: give more of the key`
          return conversation.send([Buffer.from(text)], matches)
        },
        // stdin ending only ends typing: keep serving until signalled.
        inputEnded: () => {},
        quit: () => shutdown.stop('quit'),
        invite: () => {
          if (opening) return 'an invite code is being opened'
          void openInvite().catch((err: unknown) => ui.notice(`could not open an invite code: ${err instanceof Error ? err.message : String(err)}`))
          return null
        }
      }

      const paths = new WeakMap<object, string>()
      const volunteers = new WeakMap<object, object>()
      if (roomRelays) showRoomRelays(roomRelays, ui, (hex) => contacts.displayName(hex))
      room.on('peer-joined', (peer) => {
        if (roomRelays) volunteers.set(peer, roomRelays.add(peer.remotePublicKey))
        conversation.attach(peer)
        paths.set(peer, formatPathSummary(peer.info()))
        ui.peerJoined(peer.info())
      })
      room.on('path-changed', (peer) => {
        const info = peer.info()
        ui.pathChanged(info, paths.get(peer) ?? 'unknown')
        paths.set(peer, formatPathSummary(info))
      })
      room.on('peer-left', (peer, error) => {
        const volunteer = volunteers.get(peer)
        if (volunteer) roomRelays?.remove(volunteer)
        if (!stopping) ui.peerLeft(peer.info(), error)
      })
      room.on('messages', (peer, lines) => ui.messages(peer.sender(), lines))
      room.on('drain', () => ui.drain())
      room.on('refused', (hex, reason) => {
        const why = reason === 'full' ? `the room is full (${opts.maxPeers} peer${opts.maxPeers === 1 ? '' : 's'})` : 'not on the allow list'
        ui.notice(`refused ${contacts.displayName(hex)} (${hex}) at ${new Date().toISOString()}: ${why}; refused so far: ${room.refusedCount}`)
      })
      // One notice per peer every few seconds, with the count, not one per chunk.
      const throttled = new WeakMap<object, { at: number; dropped: number }>()
      room.on('throttled', (peer, n) => {
        const now = Date.now()
        const t = throttled.get(peer) ?? { at: 0, dropped: 0 }
        t.dropped += n
        throttled.set(peer, t)
        if (now - t.at < 5000) return
        ui.notice(`${peer.info().name} is sending too fast: over its rate limit, ${t.dropped} line${t.dropped === 1 ? '' : 's'} dropped so far`)
        t.at = now
      })

      room.on('probed', (verdict) => {
        if (verdict === 'stale') ui.notice('a previous listener with this identity did not answer (it crashed or lost its network): replacing its stale announcement')
        if (verdict === 'unknown') ui.notice('could not tell in time whether another listener serves this identity; announcing anyway')
      })
      room.on('rival', () => ui.notice('another listener with this identity tried to start and was refused'))
      room.on('address-changed', (from, to) =>
        ui.notice(`this network's public address changed (${from.host}:${from.port} -> ${to.host}:${to.port}): announcing the key again from the new one`)
      )
      room.on('reannounced', () =>
        ui.notice('the announcement of this key was lost (another process with this identity announced it and left?): announcing it again')
      )

      // Invite codes: one open at a time, from --invite at start or /invite later.
      const inviteUses = opts.inviteUses ?? 1
      const inviteExpiresMs = opts.inviteExpires !== undefined ? Math.round(opts.inviteExpires * 60_000) : INVITE_DEFAULT_EXPIRES_MS
      const inviteName = opts.name ?? defaultOfferedName(ctx.env.USER ?? ctx.env.LOGNAME)
      const newCodeHint = mode === 'interactive' ? 'type /invite' : 'run listen --invite again'
      let opening = false
      const openInvite = async (): Promise<void> => {
        opening = true
        try {
          const previous = invitation
          if (previous && previous.ended === null) {
            await previous.close()
            ui.pairing('replaced', `invite code ${previous.code.text} closed: replaced by a new one`, { code: previous.code.text })
          }
          const inv = await Invitation.open(dht, { identity, name: inviteName, uses: inviteUses, expiresMs: inviteExpiresMs, relayThrough: relays })
          if (stopping) return void (await inv.close())
          invitation = inv
          showInvitation(inv)
        } finally {
          opening = false
        }
      }
      const showInvitation = (inv: Invitation): void => {
        const uses = inviteUses
        const expiresMs = inviteExpiresMs
        const name = inviteName
        const code = inv.code.text
        const command = `p2pchat connect ${code}${bootstrapFlag}`
        // A time today; a date too when it is further off (up to a week).
        const expires = expiresMs < 12 * 3_600_000 ? inv.expiresAt.toTimeString().slice(0, 5) : `${inv.expiresAt.toDateString().slice(4, 10)} ${inv.expiresAt.toTimeString().slice(0, 5)}`
        ui.pairing(
          'invite',
          `invite code: ${code} — it pairs ${uses === 1 ? 'one peer' : `${uses} peers`} and expires at ${expires} (in ${formatMinutes(expiresMs)}); one wrong guess burns it. They run: ${command}`,
          { code, uses, expiresAt: inv.expiresAt.toISOString(), command, name }
        )
        inv.on('paired', (peer, left) => {
          const hex = toHex(peer.key)
          paired.add(hex)
          // The name it will be saved under, unless that name belongs to another key (then it shows as a stranger until saved as name-2).
          const taken = peer.name ? book.current.keyOf(peer.name) : undefined
          if (peer.name && (taken === undefined || taken === hex)) pairedNames.set(hex, peer.name)
          void rememberPeer(contactsPath(ctx), hex, peer.name || 'peer').then(
            async (saved) => {
              // Show the name at once (the file watch would take a moment): the joiner is already on its way.
              await book.reload().catch(() => {})
              const fields = { key: hex, name: peer.name, savedAs: saved.savedAs, usesLeft: left }
              showKeyChanged(ui, `the key that paired as ${saved.conflict?.name} (${hex})`, hex, saved, fields)
              const how = saved.already ? `already saved as contact ${saved.savedAs}` : `saved as contact ${saved.savedAs}`
              ui.pairing('paired', `paired with ${saved.savedAs} (${hex}) by invite code: ${how}; ${left > 0 ? `the code pairs ${left} more` : 'the code is used up'}`, fields)
            },
            (err: unknown) =>
              ui.pairing('paired', `paired with ${hex} by invite code, but could not save the contact: ${err instanceof Error ? err.message : String(err)}`, { key: hex, name: peer.name, savedAs: null, usesLeft: left }, true)
          )
            .catch(() => {}) // the UI is gone (stdout lost): nothing left to tell
        })
        inv.on('contested', (other) =>
          ui.pairing(
            'contested',
            `someone else (${toHex(other).slice(0, 8)}) also announces invite number ${inv.code.nameplate}: joiners will see two and refuse to send the words (no guess is given away); for a working code, ${newCodeHint}`,
            { nameplate: inv.code.nameplate, otherKey: toHex(other) },
            true
          )
        )
        inv.on('busy', () =>
          ui.notice(`invite code ${inv.code.nameplate}-…: strangers hold every rendezvous slot; further attempts are turned away for now (a joiner told so may retry)`)
        )
        inv.on('wrong-code', () =>
          ui.pairing('wrong-code', `someone tried invite code ${inv.code.nameplate}-… with wrong words: the code is burned and pairs nobody now (for a new code, ${newCodeHint})`, { nameplate: inv.code.nameplate }, true)
        )
        inv.on('ended', (reason) => {
          if (reason === 'expired') ui.pairing('expired', `invite code ${code} expired${inv.remaining < uses ? '' : ' unused'}`, { code })
        })
      }

      ui.stage('announcing', 'checking that no other listener serves this identity, then announcing the key…')
      try {
        await shutdown.race(room.listen({ signal: shutdown.signal }))
      } catch (err) {
        await room.close()
        throw err
      }
      if (shutdown.signal.aborted) return await stop()
      roomRelays?.start()

      const hex = toHex(identity.publicKey)
      const bootstrapFlag = network.bootstrap ? ` --bootstrap ${formatBootstrap(network.bootstrap)}` : ''
      ui.ready(hex, toZ32(identity.publicKey), `p2pchat connect ${hex}${bootstrapFlag}`)
      if (restricted) ui.notice(describeAllowList(allowList?.size ?? 0, book.current.size, opts))
      if (opts.qr) {
        const { renderQr } = await import('../ui/qr.js')
        ui.notice('scan to get the key:')
        ui.block(renderQr(hex))
      }
      if (opts.invite) {
        ui.stage('announcing', 'opening an invite code: picking a free number, announcing its rendezvous…')
        await shutdown.race(openInvite())
        if (shutdown.signal.aborted) return await stop()
      }
      ui.start(controller)
      await shutdown.stopped
      return await stop()
    } catch (err) {
      ui.stop()
      throw showFailure(err, ui)
    }
  }
}

/** The test seam's value, within what a timer can hold (else the default). */
function parseAnnounceCheck(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,8}$/.test(value)) return undefined
  // A timer over 2^31 - 1 ms fires at once in Node.
  return Math.min(Number(value), 2 ** 31 - 1)
}

/** What a listener with an allow list says when it starts: who may join. */
function describeAllowList(count: number, contacts: number, opts: ListenOptions): string {
  const from = [
    opts.allow?.length ? '--allow' : '',
    opts.allowFile !== undefined ? `--allow-file ${opts.allowFile}, re-read when it changes` : '',
    opts.allowContacts ? `--allow-contacts: your ${contacts} contact${contacts === 1 ? '' : 's'}, re-read when they change` : ''
  ]
    .filter(Boolean)
    .join(' and ')
  const invited = opts.invite ? ' and whoever pairs by the invite code' : ''
  if (count === 0 && !(opts.allowContacts && contacts > 0)) {
    return opts.invite ? `only whoever pairs by the invite code may join for now: the allow list is empty (${from})` : `no key may join yet: the allow list is empty (${from})`
  }
  if (!opts.allowFile && !opts.allow?.length) return `only your contacts${invited} may join (${from}); others are refused`
  return `only ${count} allowed key${count === 1 ? '' : 's'}${opts.allowContacts ? ', your contacts' : ''}${invited} may join (${from}); others are refused`
}

function formatMinutes(ms: number): string {
  const min = ms / 60_000
  return min >= 1 ? `${Number.isInteger(min) ? min : min.toFixed(1)} min` : `${Math.round(ms / 1000)} s`
}
