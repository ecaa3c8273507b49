import { defaultIdentityPath, loadIdentity } from '../core/store/identity.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import { presentPublicKey } from '../ui/present/identity.js'
import type { CommandContext } from './context.js'

export async function whoami(opts: { identity?: string }, ctx: CommandContext): Promise<number> {
  const identity = await loadIdentity(opts.identity ?? defaultIdentityPath(ctx.env, ctx.homeDir))
  presentPublicKey(ctx.output, toHex(identity.publicKey), toZ32(identity.publicKey))
  return 0
}
