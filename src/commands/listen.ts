import { encodeLines } from '../core/framing.js'
import { defaultIdentityPath, loadOrCreateIdentity } from '../core/identity.js'
import { AllowList } from '../core/allowlist.js'
import { loadContacts } from '../core/contacts.js'
import { toHex, toZ32 } from '../core/keys.js'
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../core/ratelimit.js'
import { ChatListener } from '../core/listener.js'
import { formatBootstrap, joinNetwork, resolveNetwork, resolveRelays } from '../core/network.js'
import { trackRelaySockets } from '../core/path.js'
import { formatPathSummary } from '../ui/render.js'
import { onInterrupt } from '../ui/signals.js'
import { chooseMode, createUi, showFailure, type ChatController } from '../ui/views.js'
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
}

export async function listen(opts: ListenOptions, ctx: CommandContext): Promise<number> {
  const { output } = ctx
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const file = opts.identity ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  const contacts = await loadContacts(contactsPath(ctx))
  // Resolve the allow list before anything else: a typo must not open the room.
  const allowList =
    opts.allow !== undefined || opts.allowFile !== undefined
      ? new AllowList(new Set((opts.allow ?? []).map((k) => toHex(contacts.resolve(k)))), opts.allowFile, contacts)
      : null
  allowList?.load()
  const limits: RateLimits = {
    linesPerSec: opts.rateLines ?? DEFAULT_RATE_LIMITS.linesPerSec,
    bytesPerSec: opts.rateBytes ?? DEFAULT_RATE_LIMITS.bytesPerSec,
    floodGraceMs: opts.floodGrace !== undefined ? opts.floodGrace * 1000 : DEFAULT_RATE_LIMITS.floodGraceMs
  }
  const relays = resolveRelays(opts.relayThrough, ctx.env, (k) => contacts.resolve(k))
  const { identity, created } = await loadOrCreateIdentity(file)

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
  if (created) ui.notice(`created a new identity in ${file}`)

  try {
    ui.stage('joining', 'joining the DHT…')
    const dht = await joinNetwork(network)
    const listener = new ChatListener(dht, identity, {
      allow: allowList ? (hex) => allowList.allows(hex) : undefined,
      maxPeers: opts.maxPeers,
      forward: opts.forward !== false,
      limits,
      nameOf: (hex) => contacts.displayName(hex),
      relayThrough: relays,
      // A listener dials nobody: every connection its node opens goes to a relay.
      relayAddresses: trackRelaySockets(dht)
    })
    allowList?.watch()
    allowList?.on('reloaded', (count) => ui.notice(`allow file reloaded: ${count} key${count === 1 ? '' : 's'}`))
    allowList?.on('error', (err) => ui.notice(`allow file not reloaded, keeping the previous list: ${err.message}`))

    let stopping = false
    let quit = () => {}
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        if (stopping) return
        stopping = true
        ui.stop()
        allowList?.close()
        void listener.close().finally(() => {
          ui.closed('listener stopped')
          resolve()
        })
      }
      onInterrupt(stop)
      quit = stop
    })

    const controller: ChatController = {
      role: 'listen',
      peers: () => [...listener.peers].map((p) => p.info()),
      send: (lines) => {
        if (listener.broadcastRaw(encodeLines(lines)) === 0) ui.notice('no peers connected: line not sent')
        // Backpressure: stop reading stdin while a peer's queue is over its soft mark.
        return !listener.backlogged
      },
      sendTo: (target, text) => {
        const t = target.toLowerCase()
        const matches = [...listener.peers].filter((p) => p.remoteKeyHex.startsWith(t) || contacts.nameOf(p.remoteKeyHex) === target)
        if (matches.length === 0) return `no connected peer matches ${JSON.stringify(target)}`
        if (matches.length > 1) return `${JSON.stringify(target)} matches ${matches.length} peers: give more of the key`
        matches[0]!.sendBounded(text)
        return null
      },
      // stdin ending only ends typing: keep serving until signalled.
      inputEnded: () => {},
      quit: () => quit()
    }

    const paths = new WeakMap<object, string>()
    listener.on('peer-joined', (peer) => {
      paths.set(peer, formatPathSummary(peer.info()))
      ui.peerJoined(peer.info())
    })
    listener.on('path-changed', (peer) => {
      const info = peer.info()
      ui.pathChanged(info, paths.get(peer) ?? 'unknown')
      paths.set(peer, formatPathSummary(info))
    })
    listener.on('peer-left', (peer, error) => {
      if (!stopping) ui.peerLeft(peer.info(), error)
    })
    listener.on('messages', (peer, lines) => ui.messages(peer.sender(), lines))
    listener.on('drain', () => ui.drain())
    listener.on('refused', (hex, reason) => {
      const why = reason === 'full' ? `the room is full (${opts.maxPeers} peer${opts.maxPeers === 1 ? '' : 's'})` : 'not on the allow list'
      ui.notice(`refused ${contacts.displayName(hex)} (${hex}) at ${new Date().toISOString()}: ${why}; refused so far: ${listener.refusedCount}`)
    })
    // One notice per peer every few seconds, with the count, not one per chunk.
    const throttled = new WeakMap<object, { at: number; dropped: number }>()
    listener.on('throttled', (peer, n) => {
      const now = Date.now()
      const t = throttled.get(peer) ?? { at: 0, dropped: 0 }
      t.dropped += n
      throttled.set(peer, t)
      if (now - t.at < 5000) return
      ui.notice(`${peer.info().name} is sending too fast: over its rate limit, ${t.dropped} line${t.dropped === 1 ? '' : 's'} dropped so far`)
      t.at = now
    })

    ui.stage('announcing', 'announcing the key on the DHT…')
    try {
      await listener.listen()
    } catch (err) {
      await listener.close()
      throw err
    }

    const hex = toHex(identity.publicKey)
    const bootstrapFlag = network.bootstrap ? ` --bootstrap ${formatBootstrap(network.bootstrap)}` : ''
    ui.ready(hex, toZ32(identity.publicKey), `p2pchat connect ${hex}${bootstrapFlag}`)
    if (opts.qr) {
      const { renderQr } = await import('../ui/qr.js')
      ui.notice(`scan to get the key:\n${renderQr(hex)}`)
    }
    ui.start(controller)
    await stopped
    return 0
  } catch (err) {
    ui.stop()
    throw showFailure(err, ui)
  }
}
