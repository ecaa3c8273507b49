import { ChatError, EXIT, explainHolepunchFailure, relayCouldHelp, relayPairingFailed } from '../core/errors.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, type Identity } from '../core/identity.js'
import { loadContacts } from '../core/contacts.js'
import { toHex } from '../core/keys.js'
import { leaveNetwork, openNode, resolveNetwork, resolveRelays } from '../core/network.js'
import { trackRelaySockets } from '../core/path.js'
import { formatPathSummary } from '../ui/render.js'
import { Backoff } from '../core/backoff.js'
import { dial, DEFAULT_IDLE_TIMEOUT_MS, type PeerConnection } from '../core/session.js'
import { withShutdown, type Shutdown } from '../ui/signals.js'
import { chooseMode, createUi, showFailure, type ChatController } from '../ui/views.js'
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
}

/**
 * After input ends, how long to wait for the peer to acknowledge more of our
 * lines before giving up on the rest: the same as the idle limit after which
 * a silent connection is declared lost (which also ends the wait).
 */
const FINISH_STALL_MS = DEFAULT_IDLE_TIMEOUT_MS
/** On leaving (Ctrl+C, /quit, done), how long the peer gets to close its side before the stream is destroyed. */
const LEAVE_GRACE_MS = 2000
/** Lines waiting for a connection: reading input pauses past the soft cap; past the hard cap they are dropped. */
const QUEUE_SOFT_BYTES = 256 * 1024
const QUEUE_HARD_BYTES = 4 * 1024 * 1024
/** A relay that drops a pairing (blind-relay's CHANNEL_CLOSED / RELAY_ABORTED, about 6 % of relayed connects in the NAT lab) gets this many more tries. */
const RELAY_PAIRING_RETRIES = 2

type Outcome = { code: number; error: ChatError | null; reason: string | null }

/** Failures worth another attempt with --reconnect (the peer may come back). */
function retryable(error: ChatError): boolean {
  return error.exitCode !== EXIT.USAGE && error.exitCode !== EXIT.IDENTITY && error.code !== 'SERVER_INCOMPATIBLE'
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
  const remoteHex = toHex(remoteKey)
  const remoteName = contacts.displayName(remoteHex)

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
  if (throwaway) {
    ui.notice(
      "no identity: using a throwaway key for this session; the listener's --allow and contact names cannot recognise it; run 'p2pchat keygen' to get a permanent one"
    )
  }

  let outcome: Outcome | null = null
  let settle!: (o: Outcome) => void
  const finished = new Promise<Outcome>((resolve) => {
    settle = (o) => {
      if (outcome) return
      outcome = o
      resolve(o)
    }
  })
  void shutdown.stopped.then(() => settle({ code: EXIT.OK, error: null, reason: 'disconnected' }))

  // Lines typed or piped before a connection is confirmed wait here, in
  // order, and are flushed when it is; reading pauses while it is full.
  let live: PeerConnection | null = null
  let queue: Uint8Array[][] = []
  let queuedBytes = 0
  let inputEnded = false
  let finishing = false
  // Lines sent on earlier connections (--reconnect) that were never acknowledged.
  let lostLines = 0
  const notDelivered = (unconfirmed: number, waitedSeconds: number | null): Outcome => {
    const error = ChatError.notDelivered(unconfirmed + lostLines, unconfirmed > 0 ? waitedSeconds : null)
    return { code: error.exitCode, error, reason: null }
  }
  const finishIfDone = () => {
    if (!inputEnded || !live || finishing) return
    finishing = true
    const peer = live
    const startedAt = Date.now()
    // Exit 0 only once the peer's transport acknowledged every line.
    void peer.finish(FINISH_STALL_MS).then((unconfirmed) => {
      if (unconfirmed + lostLines === 0) settle({ code: EXIT.OK, error: null, reason: null })
      else {
        // Closed at once: say the connection ended, not "within 0 s".
        const waited = Math.round((Date.now() - startedAt) / 1000)
        settle(notDelivered(unconfirmed, waited > 0 ? waited : null))
      }
    })
  }
  const controller: ChatController = {
    role: 'connect',
    peers: () => (live && !live.isClosed ? [live.info()] : []),
    send: (lines) => {
      if (live && !live.isClosed) return { fate: 'sent', wait: !live.sendLines(lines) }
      let bytes = 0
      for (const line of lines) bytes += line.byteLength + 1
      if (queuedBytes + bytes > QUEUE_HARD_BYTES) return { fate: 'dropped', reason: 'not connected and the queue is full', wait: true }
      queue.push(lines)
      queuedBytes += bytes
      return { fate: 'queued', wait: queuedBytes >= QUEUE_SOFT_BYTES }
    },
    sendTo: () => '/send-to works on a listener',
    inputEnded: () => {
      // Input is done: deliver it, close, exit 0.
      inputEnded = true
      finishIfDone()
    },
    quit: () => settle({ code: EXIT.OK, error: null, reason: 'disconnected' })
  }
  const sleep = (ms: number) =>
    Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms)), finished.then(() => undefined)])

  try {
    ui.stage('joining', 'joining the DHT…')
    // Dial while the bootstrap walk is still going: hyperdht's lookup waits
    // for what it needs. `joined` only explains a failure (DHT unreachable).
    const { dht, joined } = await openNode(network)
    try {
      if (mode !== 'interactive') ui.start(controller)
      // Watch the sockets hyperdht opens to relays, to tell relayed paths from direct ones.
      const relayAddresses = trackRelaySockets(dht, (key) => key.equals(remoteKey))
      const backoff = new Backoff()
      let everConnected = false
      // Direct first; through a relay only when a direct path is impossible.
      let viaRelay = false
      let relayRetries = 0
      while (!outcome) {
        ui.stage('connecting', `connecting to ${remoteName}${viaRelay ? ' through a relay' : ''}: looking up the key, hole punching…`)
        const { peer, ready } = dial(dht, remoteKey, {
          keyPair: identity,
          timeoutMs: opts.timeout * 1000,
          idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
          nameOf: (hex) => contacts.displayName(hex),
          relayThrough: viaRelay ? relays : undefined
        })
        peer.stream.once('open', () => {
          if (!outcome) ui.stage('confirming', 'connection open; waiting for the peer to answer…')
        })
        peer.on('lines', (lines) => ui.messages(peer.sender(), lines))
        peer.on('drain', () => ui.drain())

        let failure: ChatError | null = null
        try {
          await Promise.race([ready, finished])
        } catch (err) {
          failure = err as ChatError
        }
        if (outcome) {
          peer.destroy()
          break
        }
        if (failure) {
          // Nobody answered at all: that, not the peer, is the problem.
          const unreachable = await Promise.race([joined.then(() => null, (e: ChatError) => e), sleep(10_000).then(() => null)])
          if (unreachable && !everConnected) {
            settle({ code: unreachable.exitCode, error: unreachable, reason: null })
            break
          }
          if (viaRelay && relayPairingFailed(failure) && relayRetries < RELAY_PAIRING_RETRIES) {
            relayRetries++
            ui.notice(`${failure.message}; trying the relay again (${relayRetries} of ${RELAY_PAIRING_RETRIES})`)
            continue
          }
          if (!viaRelay && relays.length > 0 && relayCouldHelp(failure)) {
            viaRelay = true
            ui.notice(`direct connection failed (${failure.message}); retrying through relay ${toHex(relays[0]!).slice(0, 8)}${relays.length > 1 ? ` (or one of ${relays.length})` : ''}`)
            continue
          }
          failure = explainHolepunchFailure(failure, { localNatRandom: dht.randomized, relaysConfigured: relays.length > 0 })
          if (!opts.reconnect || !retryable(failure)) {
            settle({ code: failure.exitCode, error: failure, reason: null })
            break
          }
          const wait = backoff.next()
          ui.notice(`could not connect (${failure.message}); retrying in ${(wait / 1000).toFixed(1)} s (attempt ${backoff.attempt})`)
          await sleep(wait)
          continue
        }

        // Connected: flush what waited, then talk.
        backoff.reset()
        live = peer
        peer.setRelayAddresses(relayAddresses)
        let lastPath = formatPathSummary(peer.info())
        peer.on('path-changed', (info) => {
          ui.pathChanged(info, lastPath)
          lastPath = formatPathSummary(info)
        })
        ui.connected(peer.info(), everConnected)
        if (mode === 'interactive' && !everConnected) ui.start(controller)
        everConnected = true
        const waiting = queue
        queue = []
        queuedBytes = 0
        let flowing = true
        for (const lines of waiting) flowing = peer.sendLines(lines)
        // Otherwise the peer's 'drain' resumes reading.
        if (flowing) ui.drain()
        finishIfDone()

        const error = await Promise.race([peer.closedPromise(), finished.then(() => null)])
        live = null
        if (outcome) {
          // Leaving (Ctrl+C, /quit, or input done): end, do not reset.
          await peer.leave(LEAVE_GRACE_MS)
          // Ctrl+C or /quit still exits 0, but says what the peer never acknowledged.
          const lost = lostLines + (await peer.delivery.whenDone())
          if ((outcome as Outcome).error === null && lost > 0) ui.notice(ChatError.notDelivered(lost, null).message)
          break
        }
        if (finishing) break // finish() settles
        lostLines += await peer.delivery.whenDone()
        if (!opts.reconnect) {
          if (error) {
            if (lostLines > 0) ui.notice(notDelivered(0, 0).error!.message)
            settle({ code: error.exitCode, error, reason: null })
          } else if (lostLines > 0) {
            ui.notice('the peer closed the connection')
            settle(notDelivered(0, 0))
          } else settle({ code: EXIT.OK, error: null, reason: 'the peer closed the connection' })
          break
        }
        const wait = backoff.next()
        ui.notice(`connection lost (${error ? error.message : 'the peer closed the connection'}); reconnecting in ${(wait / 1000).toFixed(1)} s (attempt ${backoff.attempt})`)
        await sleep(wait)
      }

      const { code, error, reason } = await finished
      ui.stop()
      ;(live as PeerConnection | null)?.destroy()
      if (error) throw error
      ui.closed(reason)
      return code
    } finally {
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
