import { DEFAULT_MAX_LINE_BYTES } from '../core/framing.js'
import { defaultIdentityPath, loadOrCreateIdentity } from '../core/identity.js'
import { toHex, toZ32 } from '../core/keys.js'
import { ChatListener } from '../core/listener.js'
import { formatBootstrap, joinNetwork, resolveNetwork } from '../core/network.js'
import { readLines } from '../ui/input.js'
import { describeClose, formatPeerLine, lineNotice } from '../ui/render.js'
import { onInterrupt } from '../ui/signals.js'
import type { CommandContext } from './context.js'

export interface ListenOptions {
  identity?: string
  bootstrap?: string
}

export async function listen(opts: ListenOptions, ctx: CommandContext): Promise<number> {
  const { output } = ctx
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const file = opts.identity ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  const { identity, created } = await loadOrCreateIdentity(file)
  if (created) output.notice(`created a new identity in ${file}`)

  const dht = await joinNetwork(network)
  const listener = new ChatListener(dht, identity)

  let stopping = false
  const stopped = new Promise<void>((resolve) => {
    onInterrupt(() => {
      stopping = true
      output.notice('shutting down…')
      input.stop()
      void listener.close().finally(resolve)
    })
  })

  listener.on('peer-joined', (peer) => output.notice(`${peer.shortKey} joined (${peer.remoteKeyHex})`))
  listener.on('peer-left', (peer, error) => {
    if (!stopping) output.notice(`${peer.shortKey} left${describeClose(error)}`)
  })
  listener.on('message', (peer, line) => {
    const notice = lineNotice(line)
    if (notice) output.notice(`${peer.shortKey}: ${notice}`)
    output.message(formatPeerLine(peer.shortKey, line.bytes))
  })

  // Typed lines go to every peer. stdin ending only ends typing: the listener
  // keeps serving until it is signalled.
  const input = readLines(ctx.stdin, DEFAULT_MAX_LINE_BYTES, (line) => {
    const sent = listener.broadcast(line.bytes)
    if (sent === 0) output.notice('no peers connected: line not sent')
  }, () => {})

  try {
    await listener.listen()
  } catch (err) {
    input.stop()
    await listener.close()
    throw err
  }

  const hex = toHex(identity.publicKey)
  const bootstrapFlag = network.bootstrap ? ` --bootstrap ${formatBootstrap(network.bootstrap)}` : ''
  output.notice(`listening on ${hex}`)
  output.notice(`z-base-32: ${toZ32(identity.publicKey)}`)
  output.notice(`to chat, run: p2pchat connect ${hex}${bootstrapFlag}`)

  await stopped
  return 0
}
