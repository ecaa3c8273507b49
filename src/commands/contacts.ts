import { ChatError } from '../core/errors.js'
import { loadContacts, updateContacts, validateContactName } from '../core/store/contacts.js'
import { parseKey, toHex } from '../core/store/keys.js'
import { contactWords, presentContacts } from '../ui/present/identity.js'
import { contactsPath, type CommandContext } from './context.js'

export async function contactsAdd(name: string, key: string, opts: { force?: boolean }, ctx: CommandContext): Promise<number> {
  validateContactName(name)
  const keyHex = toHex(parseKey(key))
  const other = await updateContacts(contactsPath(ctx), (contacts) => {
    const existing = contacts.keyOf(name)
    if (existing && existing !== keyHex && !opts.force) throw ChatError.contactExists(name, existing)
    return { next: contacts.with(name, keyHex), result: contacts.nameOf(keyHex) }
  })
  if (other && other !== name) ctx.output.notice(contactWords.alsoSavedAs(other))
  ctx.output.notice(contactWords.saved(name, keyHex))
  return 0
}

export async function contactsList(ctx: CommandContext): Promise<number> {
  presentContacts(ctx.output, (await loadContacts(contactsPath(ctx))).list())
  return 0
}

export async function contactsRemove(name: string, ctx: CommandContext): Promise<number> {
  await updateContacts(contactsPath(ctx), (contacts) => {
    if (!contacts.keyOf(name)) throw ChatError.unknownContact(name)
    return { next: contacts.without(name), result: undefined }
  })
  ctx.output.notice(contactWords.removed(name))
  return 0
}

export async function contactsRename(from: string, to: string, ctx: CommandContext): Promise<number> {
  validateContactName(to)
  await updateContacts(contactsPath(ctx), (contacts) => {
    const key = contacts.keyOf(from)
    if (!key) throw ChatError.unknownContact(from)
    const taken = contacts.keyOf(to)
    if (taken && taken !== key) throw ChatError.contactNameTaken(to, taken)
    return { next: contacts.without(from).with(to, key), result: undefined }
  })
  ctx.output.notice(contactWords.renamed(from, to))
  return 0
}
