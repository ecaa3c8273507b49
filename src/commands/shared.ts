import os from 'node:os'
import path from 'node:path'
import type { default as DHT, KeyPair } from 'hyperdht'
import { ChatError } from '../core/errors.js'
import { leaveNetwork, openNode, resolveNetwork, resolveRelays, type NetworkConfig } from '../core/dht/network.js'
import { ContactBook, Contacts, defaultOfferedName, loadContacts } from '../core/store/contacts.js'
import { defaultIdentityPath, generateIdentity, loadIdentity, loadOrCreateIdentity, RELAY_IDENTITY_HINTS, type Identity } from '../core/store/identity.js'
import type { Shutdown } from '../process/shutdown.js'
import { chooseMode, createUi, type ChatUi, type UiMode } from '../ui/chat-ui.js'
import { contactsPath, type CommandContext } from './context.js'

/*
 * What several commands need: which identity to run as, the address book,
 * which network and relays to use, a DHT node to join and leave, and the
 * chat's UI.
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

/** Opens a DHT node as `identity`; `joined` settles when it has joined (see openNode). */
export async function openDht(network: NetworkConfig, identity: KeyPair): Promise<{ dht: DHT; joined: Promise<void> }> {
  return openNode(network, identity)
}

/** Opens a DHT node and waits until it has joined. Returns null when stopped meanwhile (the node is left then). */
export async function joinDht(network: NetworkConfig, identity: KeyPair | undefined, shutdown: Shutdown): Promise<DHT | null> {
  const { dht, joined } = await openNode(network, identity)
  await shutdown.race(joined)
  if (!shutdown.signal.aborted) return dht
  await leaveDht(dht)
  return null
}

/** Leaves the DHT, bounded (see DHT_LEAVE_GRACE_MS). For a node that announced nothing, or has unannounced. */
export const leaveDht = leaveNetwork

/** The address book as it is now. */
export function addressBook(ctx: CommandContext): Promise<Contacts> {
  return loadContacts(contactsPath(ctx))
}

/**
 * The address book for a command that may be given keys rather than names
 * (connect): a file that is corrupt or cannot be read does not stop a key.
 * `contacts` then has no names, and looking one up fails with `problem`,
 * which the command shows as a warning.
 */
export async function addressBookForKeys(ctx: CommandContext): Promise<{ contacts: Contacts; problem: ChatError | null }> {
  try {
    return { contacts: await addressBook(ctx), problem: null }
  } catch (err) {
    if (!(err instanceof ChatError) || !Contacts.UNREADABLE_CODES.has(err.code)) throw err
    return { contacts: Contacts.unreadable(err), problem: err }
  }
}

/**
 * The contact name offered to those we pair with: --name, else the login
 * name (USER, LOGNAME, else the account's own: a service or `env -i` has
 * neither variable), made a valid contact name.
 */
export function offeredName(flag: string | undefined, ctx: CommandContext): string {
  return flag ?? defaultOfferedName(ctx.env.USER || ctx.env.LOGNAME || accountName())
}

/** The name of the account this process runs as; undefined when the system has none for its uid (os.userInfo() throws then). */
function accountName(): string | undefined {
  try {
    return os.userInfo().username
  } catch {
    return undefined
  }
}

/**
 * The address book, kept current for a long-running command (call watch(),
 * then close()). As with addressBookForKeys, an unusable file gives a book
 * without names and the `problem`.
 */
export function watchedAddressBook(ctx: CommandContext): Promise<{ book: ContactBook; problem: ChatError | null }> {
  return ContactBook.loadForKeys(contactsPath(ctx))
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
