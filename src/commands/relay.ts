import path from 'node:path'
import { defaultIdentityPath, loadIdentity, loadOrCreateIdentity } from '../core/store/identity.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import { formatBootstrap, leaveNetwork, openNode, resolveNetwork } from '../core/dht/network.js'
import { RelayService } from '../core/relay/service.js'
import { formatBytes } from '../ui/render.js'
import { withShutdown, type Shutdown } from '../process/shutdown.js'
import type { CommandContext } from './context.js'

export interface RelayOptions {
  identity?: string
  bootstrap?: string
  statsInterval: number
}

export async function relay(opts: RelayOptions, ctx: CommandContext): Promise<number> {
  // First of all, so that a signal at any phase ends it cleanly (and unannounces).
  return withShutdown((shutdown) => serveRelay(opts, ctx, shutdown))
}

async function serveRelay(opts: RelayOptions, ctx: CommandContext, shutdown: Shutdown): Promise<number> {
  const { output } = ctx
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  // Its own identity by default: a relay must not share a key with a listener on the same machine.
  // A path the user named must exist; the default one is created on first use.
  const file = opts.identity ?? path.join(path.dirname(defaultIdentityPath(ctx.env, ctx.homeDir)), 'relay.json')
  const { identity, created } =
    opts.identity !== undefined
      ? { identity: await loadIdentity(file), created: false }
      : await loadOrCreateIdentity(file, { recreate: "rerun 'p2pchat relay', which creates a new one; peers must then use its new key" })
  if (created) output.notice(`created a relay identity in ${file}`)

  if (shutdown.signal.aborted) return 0
  const { dht, joined } = await openNode(network)
  await shutdown.race(joined)
  if (shutdown.signal.aborted) {
    await leaveNetwork(dht)
    return 0
  }
  const service = new RelayService(dht, identity)
  try {
    await shutdown.race(service.listen())
  } catch (err) {
    await service.close()
    throw err
  }
  if (shutdown.signal.aborted) {
    await service.close()
    return 0
  }
  const hex = toHex(identity.publicKey)
  // stdout: the key alone, for scripts.
  output.message(hex)
  output.notice(`relay running on ${hex} (z-base-32: ${toZ32(identity.publicKey)})`)
  // Whether peers reach it without hole punching: a relay that cannot be reached
  // from outside fails some peers behind randomizing NATs.
  const reach = await shutdown.race(service.checkReachability())
  if (shutdown.signal.aborted || !reach) {
    await service.close()
    return 0
  }
  if (reach.reachable) output.notice(`reachable at ${reach.address!.host}:${reach.address!.port}: peers connect to it directly, no hole punching needed`)
  else output.notice(`warning: not reachable from outside: ${reach.reason}; peers behind randomizing NATs may fail to pair through it: run it on a host with a public address whose UDP port is open`)
  const bootstrapFlag = network.bootstrap ? ` --bootstrap ${formatBootstrap(network.bootstrap)}` : ''
  output.notice(`peers use it with: --relay-through ${hex}${bootstrapFlag}   (it only ever sees encrypted bytes)`)

  let last = ''
  const report = () => {
    const s = service.stats()
    const line = `relaying ${s.active} connection${s.active === 1 ? '' : 's'} now, ${s.total} since start, ${formatBytes(s.bytes)} relayed`
    if (line !== last) output.notice(line)
    last = line
  }
  const timer = setInterval(report, opts.statsInterval * 1000)
  await shutdown.stopped
  clearInterval(timer)
  report()
  await service.close()
  return 0
}
