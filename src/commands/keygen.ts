import { defaultIdentityPath, generateIdentity, writeIdentity } from '../core/store/identity.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import type { CommandContext } from './context.js'

export interface KeygenOptions {
  out?: string
  force?: boolean
}

export async function keygen(opts: KeygenOptions, ctx: CommandContext): Promise<number> {
  const file = opts.out ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  const identity = generateIdentity()
  await writeIdentity(file, identity, { force: opts.force === true })
  // stdout carries only the hex key, so `KEY=$(p2pchat keygen)` works.
  ctx.output.message(toHex(identity.publicKey))
  ctx.output.notice(`identity saved to ${file} (mode 0600)`)
  ctx.output.notice(`z-base-32: ${toZ32(identity.publicKey)}`)
  return 0
}
