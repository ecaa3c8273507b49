import { adviceFor, diagnose } from '../core/doctor.js'
import { formatBootstrap, resolveNetwork } from '../core/network.js'
import type { CommandContext } from './context.js'

export async function doctor(opts: { bootstrap?: string; json?: boolean }, ctx: CommandContext): Promise<number> {
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const where = network.bootstrap ? formatBootstrap(network.bootstrap) : 'the public HyperDHT bootstrap nodes'
  const d = await diagnose(network)
  if (opts.json) {
    ctx.output.message(JSON.stringify({ bootstrap: where, ...d, advice: adviceFor(d.natType) }))
    return 0
  }
  const out = (label: string, value: string) => ctx.output.message(`${label.padEnd(16)}${value}`)
  out('bootstrap', `reachable (${where}) in ${d.bootstrapMs} ms; ${d.nodes} DHT nodes answered`)
  out('public address', d.publicAddress ?? 'unknown')
  out('NAT type', `${d.natType}${d.firewalled ? ' (firewalled: unsolicited incoming UDP is dropped)' : ' (not firewalled)'}`)
  out('what it means', adviceFor(d.natType))
  return 0
}
