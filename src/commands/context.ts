import os from 'node:os'
import path from 'node:path'
import { defaultContactsPath } from '../core/store/contacts.js'
import { defaultIdentityPath } from '../core/store/identity.js'
import { Output } from '../ui/output.js'

/** The process's I/O, passed in so commands can be driven from tests. */
export interface CommandContext {
  env: NodeJS.ProcessEnv
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  output: Output
  homeDir: string
}

export async function processContext(color?: boolean): Promise<CommandContext> {
  return {
    env: process.env,
    stdin: process.stdin,
    output: await Output.create({ stdout: process.stdout, stderr: process.stderr, env: process.env, color }),
    homeDir: os.homedir()
  }
}

/** The address book lives next to the default identity. */
export function contactsPath(ctx: CommandContext): string {
  return defaultContactsPath(path.dirname(defaultIdentityPath(ctx.env, ctx.homeDir)))
}
