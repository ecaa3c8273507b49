import { defaultIdentityPath, generateIdentity, writeIdentity } from '../core/store/identity.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import { presentNewIdentity } from '../ui/present/identity.js'
import type { CommandContext } from './context.js'

export interface KeygenOptions {
  out?: string
  force?: boolean
}

export async function keygen(opts: KeygenOptions, ctx: CommandContext): Promise<number> {
  const file = opts.out ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  const identity = generateIdentity()
  await writeIdentity(file, identity, { force: opts.force === true })
  presentNewIdentity(ctx.output, file, toHex(identity.publicKey), toZ32(identity.publicKey))
  return 0
}
