import { ChatError, EXIT } from '../core/errors.js'
import { encodeLine } from '../core/framing.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, type Identity } from '../core/identity.js'
import { parseKey, toHex } from '../core/keys.js'
import { joinNetwork, resolveNetwork } from '../core/network.js'
import { dial } from '../core/session.js'
import { onInterrupt } from '../ui/signals.js'
import { chooseMode, createUi, showFailure, type ChatController } from '../ui/views.js'
import type { CommandContext } from './context.js'

export interface ConnectOptions {
  identity?: string
  bootstrap?: string
  timeout: number
  json?: boolean
  timestamps?: boolean
  sanitize?: boolean
}

/** How long to let the peer acknowledge our last lines after input ends. */
const FINISH_TIMEOUT_MS = 5000

type Outcome = { code: number; error: ChatError | null; reason: string | null }

export async function connect(keyArg: string, opts: ConnectOptions, ctx: CommandContext): Promise<number> {
  const { output } = ctx
  // Validate everything before touching the network.
  const remoteKey = parseKey(keyArg)
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  if (!(opts.timeout > 0)) throw ChatError.usage('--timeout must be a positive number of seconds')
  const identity = await chooseIdentity(opts.identity, ctx)
  const remoteHex = toHex(remoteKey)

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })

  let outcome: Outcome | null = null
  let settle!: (o: Outcome) => void
  const finished = new Promise<Outcome>((resolve) => {
    settle = (o) => {
      if (outcome) return
      outcome = o
      resolve(o)
    }
  })
  onInterrupt(() => settle({ code: EXIT.OK, error: null, reason: 'disconnected' }))

  try {
    ui.stage('joining', 'joining the DHT…')
    const dht = await Promise.race([joinNetwork(network), finished.then(() => null)])
    if (!dht) return (await finished).code
    try {
      ui.stage('connecting', `connecting to ${remoteHex.slice(0, 8)}: looking up the key, hole punching…`)
      const { peer, ready } = dial(dht, remoteKey, { keyPair: identity, timeoutMs: opts.timeout * 1000 })
      peer.stream.once('open', () => {
        if (!outcome) ui.stage('confirming', 'connection open; waiting for the peer to answer…')
      })

      let inputEnded = false
      const controller: ChatController = {
        role: 'connect',
        peers: () => (peer.isClosed ? [] : [peer.info()]),
        send: (bytes) => peer.sendRaw(encodeLine(bytes)),
        sendTo: () => '/send-to works on a listener',
        inputEnded: () => {
          inputEnded = true
          // Input is done: deliver it, close, exit 0.
          void ready
            .then(() => peer.finish(FINISH_TIMEOUT_MS))
            .then(() => settle({ code: EXIT.OK, error: null, reason: null }), () => {})
        },
        quit: () => settle({ code: EXIT.OK, error: null, reason: 'disconnected' })
      }
      peer.on('drain', () => ui.drain())
      peer.on('line', (line) => ui.message(peer.info(), line))
      peer.on('close', (error) => {
        if (outcome || (inputEnded && !error)) return
        if (error) settle({ code: error.exitCode, error, reason: null })
        else settle({ code: EXIT.OK, error: null, reason: 'the peer closed the connection' })
      })

      // Lines typed or piped before the connection opens are written into the
      // stream, which queues them in order; backpressure pauses reading.
      // (Interactive mode starts its prompt once connected: the terminal
      // buffers what is typed meanwhile.)
      if (mode !== 'interactive') ui.start(controller)
      try {
        await Promise.race([ready, finished])
        if (!outcome) {
          ui.connected(peer.info())
          if (mode === 'interactive') ui.start(controller)
        }
      } catch (err) {
        settle({ code: EXIT.CONNECTION_FAILED, error: err as ChatError, reason: null })
      }

      const { code, error, reason } = await finished
      ui.stop()
      peer.destroy()
      if (error) throw error
      ui.closed(reason)
      return code
    } finally {
      await dht.destroy().catch(() => {})
    }
  } catch (err) {
    ui.stop()
    throw showFailure(err, ui)
  }
}

async function chooseIdentity(flag: string | undefined, ctx: CommandContext): Promise<Identity> {
  if (flag !== undefined) return loadIdentity(flag)
  try {
    return await loadIdentity(defaultIdentityPath(ctx.env, ctx.homeDir))
  } catch (err) {
    // No default identity: connect with a throwaway key pair.
    if (err instanceof ChatError && err.code === 'IDENTITY_NOT_FOUND') return generateIdentity()
    throw err
  }
}
