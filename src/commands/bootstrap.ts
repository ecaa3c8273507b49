import { isIP } from 'node:net'
import os from 'node:os'
import { EXIT } from '../core/errors.js'
import { checkOwnAddress, formatBootstrap, localIPv4Addresses } from '../core/dht/network.js'
import { startPrivateNetwork } from '../core/dht/privnet.js'
import { presentPrivateNetwork, PRIVATE_DHT_STOPPED } from '../ui/present/network.js'
import { withShutdown } from '../process/shutdown.js'
import type { CommandContext } from './context.js'

export interface BootstrapOptions {
  host: string
  port: number
}

export async function bootstrap(opts: BootstrapOptions, ctx: CommandContext): Promise<number> {
  // Malformed values and 0.0.0.0 get startPrivateNetwork's own message.
  if (isIP(opts.host) === 4 && opts.host !== '0.0.0.0') checkOwnAddress(opts.host, localIPv4Addresses(os.networkInterfaces()))
  // First of all: a signal while the nodes start still stops them cleanly.
  return withShutdown(async (shutdown) => {
    const net = await startPrivateNetwork({ host: opts.host, port: opts.port })
    // stdout: just the value, for scripts; the explanation goes to stderr.
    if (!shutdown.signal.aborted) presentPrivateNetwork(ctx.output, formatBootstrap(net.bootstrap), net.nodes.length, opts.host)
    await shutdown.stopped
    await net.close()
    ctx.output.notice(PRIVATE_DHT_STOPPED)
    return EXIT.OK
  })
}
