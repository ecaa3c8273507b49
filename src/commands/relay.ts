import { RelayService } from '../core/relay/service.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import { withShutdown, type Shutdown } from '../process/shutdown.js'
import { identityWords } from '../ui/present/identity.js'
import { relayWords, reportRelayStats } from '../ui/present/relays.js'
import type { CommandContext } from './context.js'
import { bootstrapFlag } from '../ui/present/network.js'
import { chooseIdentity, joinDht, networkOf } from './shared.js'

export interface RelayOptions {
  identity?: string
  bootstrap?: string
  statsInterval: number
}

export async function relay(opts: RelayOptions, ctx: CommandContext): Promise<number> {
  // First of all, so that a signal at any phase ends it cleanly (and unannounces).
  return withShutdown(async (shutdown) => {
    const code = await serveRelay(opts, ctx, shutdown)
    // Stopped (Ctrl+C, a signal), at whatever phase: say so, as a listener does.
    ctx.output.notice(relayWords.stopped)
    return code
  })
}

/** Runs the relay until stopped; every way out has closed what it started. */
async function serveRelay(opts: RelayOptions, ctx: CommandContext, shutdown: Shutdown): Promise<number> {
  const { output } = ctx
  const network = networkOf(opts, ctx)
  const { identity, created } = await chooseIdentity('relay', opts.identity, ctx)
  if (created) output.notice(identityWords.createdRelay(created))

  if (shutdown.signal.aborted) return 0
  const dht = await joinDht(network, undefined, shutdown)
  if (!dht) return 0
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
  output.notice(relayWords.running(hex, toZ32(identity.publicKey)))
  // Whether peers reach it without hole punching: a relay that cannot be reached
  // from outside fails some peers behind randomizing NATs.
  const reach = await shutdown.race(service.checkReachability())
  if (shutdown.signal.aborted || !reach) {
    await service.close()
    return 0
  }
  output.notice(relayWords.reachability(reach))
  output.notice(relayWords.usage(hex, bootstrapFlag(network)))

  const stats = reportRelayStats(output, () => service.stats(), opts.statsInterval * 1000)
  await shutdown.stopped
  stats.stop()
  await service.close()
  return 0
}
