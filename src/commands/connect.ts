import { ChatError, EXIT } from '../core/errors.js'
import { DEFAULT_MAX_LINE_BYTES, encodeLine } from '../core/framing.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, type Identity } from '../core/identity.js'
import { parseKey, toHex } from '../core/keys.js'
import { joinNetwork, resolveNetwork } from '../core/network.js'
import { dial } from '../core/session.js'
import { readLines } from '../ui/input.js'
import { lineNotice } from '../ui/render.js'
import { onInterrupt } from '../ui/signals.js'
import type { CommandContext } from './context.js'

export interface ConnectOptions {
  identity?: string
  bootstrap?: string
  timeout: number
}

/** How long to let the peer acknowledge our last lines after stdin ends. */
const FINISH_TIMEOUT_MS = 5000

export async function connect(keyArg: string, opts: ConnectOptions, ctx: CommandContext): Promise<number> {
  const { output } = ctx
  // Validate everything before touching the network.
  const remoteKey = parseKey(keyArg)
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  if (!(opts.timeout > 0)) throw ChatError.usage('--timeout must be a positive number of seconds')
  const identity = await chooseIdentity(opts.identity, ctx)

  const remoteHex = toHex(remoteKey)
  output.notice(`connecting to ${remoteHex}…`)
  const dht = await joinNetwork(network)
  const { peer, ready } = dial(dht, remoteKey, { keyPair: identity, timeoutMs: opts.timeout * 1000 })

  let result: { code: number; error: ChatError | null } | null = null
  let finish!: (r: { code: number; error: ChatError | null }) => void
  const finished = new Promise<{ code: number; error: ChatError | null }>((resolve) => {
    finish = (r) => {
      if (result) return
      result = r
      resolve(r)
    }
  })

  // Lines typed (or piped) before the connection opens are written into the
  // stream, which queues them in order; backpressure pauses stdin.
  let stdinEnded = false
  const input = readLines(ctx.stdin, DEFAULT_MAX_LINE_BYTES, (line) => {
    const notice = lineNotice(line, 'sent')
    if (notice) output.notice(notice)
    return peer.sendRaw(encodeLine(line.bytes))
  }, () => {
    stdinEnded = true
    // Piped input is done: deliver it, close, exit 0.
    void ready.then(() => peer.finish(FINISH_TIMEOUT_MS)).then(() => finish({ code: EXIT.OK, error: null }), () => {})
  })
  peer.on('drain', () => input.resume())

  peer.on('line', (line) => {
    const notice = lineNotice(line)
    if (notice) output.notice(notice)
    output.message(line.bytes)
  })
  peer.on('close', (error) => {
    if (result || stdinEnded) return
    if (error) finish({ code: error.exitCode, error })
    else {
      output.notice('the peer closed the connection')
      finish({ code: EXIT.OK, error: null })
    }
  })

  onInterrupt(() => finish({ code: EXIT.OK, error: null }))

  try {
    await Promise.race([ready, finished])
    if (!result) output.notice(`connected to ${remoteHex}`)
  } catch (err) {
    finish({ code: (err as ChatError).exitCode ?? EXIT.CONNECTION_FAILED, error: err as ChatError })
  }

  const { code, error } = await finished
  input.stop()
  peer.destroy()
  await dht.destroy().catch(() => {})
  if (error) throw error
  return code
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
