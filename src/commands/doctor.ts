import os from 'node:os'
import { diagnose } from '../core/dht/doctor.js'
import { localIPv4Addresses } from '../core/dht/network.js'
import { describeNetwork, doctorStage, presentDiagnosis } from '../ui/present/network.js'
import { createProgress } from '../ui/progress.js'
import type { CommandContext } from './context.js'
import { networkOf } from './shared.js'

/**
 * Prints the findings as a table, or with --json as one `doctor` event. A
 * failure (e.g. DHT unreachable) is an error like any other: the top-level
 * catch prints it, as a JSON error event too with --json.
 */
export async function doctor(opts: { bootstrap?: string; json?: boolean }, ctx: CommandContext): Promise<number> {
  const network = networkOf(opts, ctx)
  const where = describeNetwork(network)
  // Joining normally takes a second or two: after 3 s, say what it is waiting for.
  const progress = await createProgress(ctx.output, 3000)
  progress.stage(doctorStage.joining(where), doctorStage.stalled)
  let diagnosis: Awaited<ReturnType<typeof diagnose>>
  try {
    diagnosis = await diagnose(network, localIPv4Addresses(os.networkInterfaces()))
  } finally {
    progress.stop()
  }
  presentDiagnosis(ctx.output, diagnosis, where, opts.json === true)
  return 0
}
