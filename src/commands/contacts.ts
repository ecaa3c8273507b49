import { ChatError } from '../core/errors.js'
import { loadContacts, updateContacts, validateContactName } from '../core/store/contacts.js'
import { parseKey, toHex } from '../core/store/keys.js'
import { contactsPath, type CommandContext } from './context.js'

export async function contactsAdd(name: string, key: string, opts: { force?: boolean }, ctx: CommandContext): Promise<number> {
  validateContactName(name)
  const keyHex = toHex(parseKey(key))
  const other = await updateContacts(contactsPath(ctx), (contacts) => {
    const existing = contacts.keyOf(name)
    if (existing && existing !== keyHex && !opts.force) {
      throw ChatError.contactExists(name, existing)
    }
    return { next: contacts.with(name, keyHex), result: contacts.nameOf(keyHex) }
  })
  if (other && other !== name) ctx.output.notice(`note: that key is also saved as ${other}`)
  ctx.output.notice(`saved ${name} = ${keyHex}`)
  return 0
}

export async function contactsList(ctx: CommandContext): Promise<number> {
  const contacts = await loadContacts(contactsPath(ctx))
  for (const { name, key } of contacts.list()) ctx.output.message(`${name}\t${key}`)
  if (contacts.size === 0) ctx.output.notice("no contacts yet: add one with 'p2pchat contacts add NAME KEY'")
  return 0
}

export async function contactsRemove(name: string, ctx: CommandContext): Promise<number> {
  await updateContacts(contactsPath(ctx), (contacts) => {
    if (!contacts.keyOf(name)) throw ChatError.unknownContact(name)
    return { next: contacts.without(name), result: undefined }
  })
  ctx.output.notice(`removed ${name}`)
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
  ctx.output.notice(`renamed ${from} to ${to}`)
  return 0
}
