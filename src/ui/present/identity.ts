import type { Output } from '../output.js'

/*
 * The words of identities (keygen, whoami) and of the address book
 * (contacts add, list, rename, remove).
 */

/** `keygen`: the hex key alone on stdout, so `KEY=$(p2pchat keygen)` works. */
export function presentNewIdentity(output: Output, file: string, hex: string, z32: string): void {
  output.message(hex)
  output.notice(`identity saved to ${file} (mode 0600)`)
  output.notice(`z-base-32: ${z32}`)
}

/** `whoami`: hex, then z-base-32. */
export function presentPublicKey(output: Output, hex: string, z32: string): void {
  output.message(hex)
  output.message(z32)
}

/** Which identity a command runs as, when it is not the user's usual one. */
export const identityWords = {
  /** listen created the default identity on first use. */
  created: (file: string) => `created a new identity in ${file}`,
  /** connect CODE created it: pairing needs a key that stays. */
  createdToPair: (file: string) => `created a new identity in ${file} (the inviter saves its key)`,
  /** `p2pchat relay` created its own. */
  createdRelay: (file: string) => `created a relay identity in ${file}`,
  throwaway:
    "no identity: using a throwaway key for this session; the listener's --allow and contact names cannot recognise it; run 'p2pchat keygen' to get a permanent one"
}

export const contactWords = {
  saved: (name: string, key: string) => `saved ${name} = ${key}`,
  alsoSavedAs: (other: string) => `note: that key is also saved as ${other}`,
  none: "no contacts yet: add one with 'p2pchat contacts add NAME KEY'",
  removed: (name: string) => `removed ${name}`,
  renamed: (from: string, to: string) => `renamed ${from} to ${to}`,
  /** The contacts file is there but cannot be used: keys work, names do not. */
  unavailable: (problem: Error) => `warning: contact names are unavailable (keys still work): ${problem.message}`
}

/** `contacts list`: name<TAB>key lines. */
export function presentContacts(output: Output, list: Array<{ name: string; key: string }>): void {
  for (const { name, key } of list) output.message(`${name}\t${key}`)
  if (list.length === 0) output.notice(contactWords.none)
}
