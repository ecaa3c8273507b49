import os from 'node:os'
import { adviceFor, diagnose } from '../core/dht/doctor.js'
import { formatBootstrap, localIPv4Addresses, resolveNetwork } from '../core/dht/network.js'
import { createProgress } from '../ui/progress.js'
import type { CommandContext } from './context.js'

/**
 * Prints the findings as a table, or with --json as one object with
 * `"ok": true`. A failure (e.g. DHT unreachable) is an error like any other:
 * the top-level catch prints it, as a JSON error object too with --json.
 */
export async function doctor(opts: { bootstrap?: string; json?: boolean }, ctx: CommandContext): Promise<number> {
  const network = resolveNetwork(opts.bootstrap, ctx.env)
  const where = network.bootstrap ? formatBootstrap(network.bootstrap) : 'the public HyperDHT bootstrap nodes'
  // Joining normally takes a second or two: after 3 s, say what it is waiting for.
  const progress = await createProgress(ctx.output, 3000)
  progress.stage(
    `joining the DHT through ${where}, to learn this host's public address and NAT type…`,
    'still joining the DHT: waiting for bootstrap nodes to answer (is this machine online? is UDP blocked?)'
  )
  let d: Awaited<ReturnType<typeof diagnose>>
  try {
    d = await diagnose(network, localIPv4Addresses(os.networkInterfaces()))
  } finally {
    progress.stop()
  }
  if (opts.json) {
    ctx.output.message(JSON.stringify({ ok: true, bootstrap: where, ...d, advice: adviceFor(d.natType, d.firewalled) }))
    return 0
  }
  const out = (label: string, value: string) => ctx.output.message(`${label.padEnd(16)}${value}`)
  out('bootstrap', `reachable (${where}) in ${d.bootstrapMs} ms; ${d.nodes} DHT nodes answered`)
  out('public address', d.publicAddress ?? 'unknown')
  const notes = [
    ...(d.noNat ? ["no NAT: the public address is this machine's own"] : []),
    d.firewalled ? 'firewalled: unsolicited incoming UDP is dropped' : 'not firewalled'
  ]
  out('NAT type', `${d.natType} (${notes.join('; ')})`)
  out('what it means', adviceFor(d.natType, d.firewalled))
  return 0
}
