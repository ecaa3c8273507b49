import path from 'node:path'
import type { default as DHT, KeyPair } from 'hyperdht'
import { ChatError } from '../core/errors.js'
import { formatBootstrap, leaveNetwork, openNode, resolveNetwork, resolveRelays, type NetworkConfig } from '../core/dht/network.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, loadOrCreateIdentity, RELAY_IDENTITY_HINTS, type Identity } from '../core/store/identity.js'
import type { Shutdown } from '../process/shutdown.js'
import { chooseMode, createUi, type ChatUi, type UiMode } from '../ui/chat-ui.js'
import type { CommandContext } from './context.js'

/*
 * What several commands need: which identity to run as, which network and
 * relays to use, a DHT node to join and leave, and the chat's UI.
 */

/**
 * Which identity a command runs as, when --identity is not given (a path the
 * user names must exist: a typo must not silently make a new key):
 * - `listen` and `pair` (connect CODE): the default one, created on first use;
 * - `connect`: the default one if it exists, else a throwaway key;
 * - `relay`: a relay identity of its own next to the default one, created on
 *   first use (a relay must not share a key with a listener on the same machine).
 */
export type IdentityUse = 'listen' | 'pair' | 'connect' | 'relay'

export interface ChosenIdentity {
  identity: Identity
  /** The file it was created in, when it was created now. */
  created: string | null
  /** A throwaway key pair (connect without an identity). */
  throwaway: boolean
}

export async function chooseIdentity(use: IdentityUse, flag: string | undefined, ctx: CommandContext): Promise<ChosenIdentity> {
  if (flag !== undefined) return { identity: await loadIdentity(flag), created: null, throwaway: false }
  const file = defaultIdentityPath(ctx.env, ctx.homeDir)
  if (use === 'connect') {
    try {
      return { identity: await loadIdentity(file), created: null, throwaway: false }
    } catch (err) {
      if (err instanceof ChatError && err.code === 'IDENTITY_NOT_FOUND') return { identity: generateIdentity(), created: null, throwaway: true }
      throw err
    }
  }
  const target = use === 'relay' ? path.join(path.dirname(file), 'relay.json') : file
  const hints = use === 'relay' ? RELAY_IDENTITY_HINTS : {}
  const { identity, created } = await loadOrCreateIdentity(target, hints)
  return { identity, created: created ? target : null, throwaway: false }
}

/** The network (--bootstrap, else P2PCHAT_BOOTSTRAP, else the public DHT). */
export function networkOf(opts: { bootstrap?: string }, ctx: CommandContext): NetworkConfig {
  return resolveNetwork(opts.bootstrap, ctx.env)
}

/** Relays from --relay-through, else P2PCHAT_RELAY: keys or contact names. */
export function relaysOf(opts: { relayThrough?: string[] }, ctx: CommandContext, resolve: (keyOrName: string) => Buffer): Buffer[] {
  return resolveRelays(opts.relayThrough, ctx.env, resolve)
}

/** What the other side must add to a printed command: ` --bootstrap LIST` on a private network, else nothing. */
export function bootstrapFlag(network: NetworkConfig): string {
  return network.bootstrap ? ` --bootstrap ${formatBootstrap(network.bootstrap)}` : ''
}

/**
 * Opens a DHT node as `identity` and, with `wait`, waits until it has
 * joined. Returns null when stopped meanwhile (the node is left then).
 */
export async function joinDht(
  network: NetworkConfig,
  identity: KeyPair | undefined,
  shutdown: Shutdown,
  wait: boolean
): Promise<{ dht: DHT; joined: Promise<void> } | null> {
  const node = await openNode(network, identity)
  if (!wait) return node
  await shutdown.race(node.joined)
  if (shutdown.signal.aborted) {
    await leaveNetwork(node.dht)
    return null
  }
  return node
}

/** The chat's UI for these options and this process's terminals. */
export async function chatUi(
  opts: { json?: boolean; timestamps?: boolean; sanitize?: boolean },
  ctx: CommandContext
): Promise<{ ui: ChatUi; mode: UiMode }> {
  const mode = chooseMode(opts, ctx.stdin, ctx.output.stdout)
  const ui = await createUi(mode, { output: ctx.output, stdin: ctx.stdin, timestamps: opts.timestamps, sanitize: opts.sanitize })
  return { ui, mode }
}
