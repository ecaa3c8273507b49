import { defaultIdentityPath, loadOrCreateIdentity } from '../core/identity.js'
import { toHex, toZ32 } from '../core/keys.js'
import { ChatListener } from '../core/listener.js'
import { formatBootstrap, joinNetwork, resolveNetwork } from '../core/network.js'
import { onInterrupt } from '../ui/signals.js'
import { chooseMode, createUi, showFailure, type ChatController } from '../ui/views.js'
import type { CommandContext } from './context.js'

export interface ListenOptions {
  identity?: string
  bootstrap?: string
  json?: boolean
  timestamps?: boolean
  sanitize?: boolean
  qr?: boolean
}

export async function listen(opts: ListenOptions, ctx: CommandContext): Promise<number> {
  const { output } = ctx
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const file = opts.identity ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  const { identity, created } = await loadOrCreateIdentity(file)

  const mode = chooseMode(opts, ctx.stdin, output.stdout)
  const ui = await createUi(mode, { output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
  if (created) ui.notice(`created a new identity in ${file}`)

  try {
    ui.stage('joining', 'joining the DHT…')
    const dht = await joinNetwork(network)
    const listener = new ChatListener(dht, identity)

    let stopping = false
    let quit = () => {}
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        if (stopping) return
        stopping = true
        ui.stop()
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
      send: (bytes) => {
        if (listener.broadcast(bytes) === 0) ui.notice('no peers connected: line not sent')
        return true
      },
      sendTo: (target, text) => {
        const t = target.toLowerCase()
        const matches = [...listener.peers].filter((p) => p.remoteKeyHex.startsWith(t))
        if (matches.length === 0) return `no connected peer matches ${JSON.stringify(target)}`
        if (matches.length > 1) return `${JSON.stringify(target)} matches ${matches.length} peers: give more of the key`
        matches[0]!.send(text)
        return null
      },
      // stdin ending only ends typing: keep serving until signalled.
      inputEnded: () => {},
      quit: () => quit()
    }

    listener.on('peer-joined', (peer) => ui.peerJoined(peer.info()))
    listener.on('peer-left', (peer, error) => {
      if (!stopping) ui.peerLeft(peer.info(), error)
    })
    listener.on('message', (peer, line) => ui.message(peer.info(), line))

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
