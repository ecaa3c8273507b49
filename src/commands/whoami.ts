import { defaultIdentityPath, loadIdentity } from '../core/store/identity.js'
import { toHex, toZ32 } from '../core/store/keys.js'
import type { CommandContext } from './context.js'

export async function whoami(opts: { identity?: string }, ctx: CommandContext): Promise<number> {
  const file = opts.identity ?? defaultIdentityPath(ctx.env, ctx.homeDir)
  const identity = await loadIdentity(file)
  ctx.output.message(toHex(identity.publicKey))
  ctx.output.message(toZ32(identity.publicKey))
  return 0
}
