import { ChatError } from '../core/errors.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, type Identity } from '../core/identity.js'
import { loadContacts } from '../core/contacts.js'
import { Connector } from '../core/connector.js'
import { toHex } from '../core/keys.js'
import { leaveNetwork, openNode, resolveNetwork, resolveRelays } from '../core/network.js'
import { findRoomRelays, MemberRelay } from '../core/volunteers.js'
import { formatPathSummary } from '../ui/render.js'
import { withShutdown, type Shutdown } from '../ui/signals.js'
import { chooseMode, createUi, showDelivery, showFailure, showMemberRelay, type ChatController } from '../ui/views.js'
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
}

export async function connect(keyArg: string, opts: ConnectOptions, ctx: CommandContext): Promise<number> {
  // First of all, so that SIGINT, SIGTERM, SIGHUP or a lost stdout at any phase end it cleanly.
  return withShutdown((shutdown) => chat(keyArg, opts, ctx, shutdown))
}

async function chat(keyArg: string, opts: ConnectOptions, ctx: CommandContext, shutdown: Shutdown): Promise<number> {
  const { output } = ctx
  // Validate everything before touching the network.
  const contacts = await loadContacts(contactsPath(ctx))
  const remoteKey = contacts.resolve(keyArg)
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const relays = resolveRelays(opts.relayThrough, ctx.env, (k) => contacts.resolve(k))
  const { identity, throwaway } = await chooseIdentity(opts.identity, ctx)
  const remoteName = contacts.displayName(toHex(remoteKey))

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
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
    // A member of the room relays for newcomers (unless --no-relay); see core/volunteers.ts.
    const memberRelay = opts.relay !== false ? new MemberRelay(dht, identity, remoteKey, generateIdentity) : null
    try {
      const connector: Connector = new Connector(dht, remoteKey, {
        keyPair: identity,
        timeoutMs: opts.timeout * 1000,
        reconnect: Boolean(opts.reconnect),
        relays,
        roomRelays: () => findRoomRelays(dht, remoteKey),
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
          `${failure.message}; trying again${wait ? ` in ${wait / 1000} s` : ''}${relay ? ` through relay ${relay.slice(0, 8)}` : ''} (${n} of ${of})${wait ? " (a room member's relay behind a NAT lets in one newcomer behind a randomizing NAT every 20 s)" : ''}`
        )
      )
      connector.on('via-relay', (failure, relay, count, volunteer) =>
        ui.notice(
          `direct connection failed (${failure.message}); retrying through ${volunteer ? "a room member's relay" : 'relay'} ${relay.slice(0, 8)}${count > 1 ? ` (or one of ${count})` : ''}`
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
      // Bounded: see LEAVE_GRACE_MS in core/network.ts.
      await leaveNetwork(dht)
    }
  } catch (err) {
    ui.stop()
    throw showFailure(err, ui)
  }
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
