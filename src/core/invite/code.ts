import { randomInt } from 'node:crypto'
import { ChatError } from '../errors.js'
import { BIP39_ENGLISH } from '../wordlist.js'

/**
 * Invite codes as people say and type them: `7-orbit-tunnel-maple`, a number
 * (the nameplate, public: it names the rendezvous) and three words from the
 * BIP39 English list (the secret, 33 bits). See docs/invite-protocol.md.
 */
export const INVITE_WORD_COUNT = 3

export interface InviteCode {
  nameplate: number
  words: string[]
  /** Canonical spelling: `7-orbit-tunnel-maple`. */
  text: string
}

const CODE_LIKE = /^\s*\d{1,6}(?:[\s-]+[A-Za-z]+)+\s*$/

/** The invite code a connect argument means, if any: a contact's name always wins. */
export function inviteCodeOf(arg: string, contacts: { keyOf(name: string): string | undefined }): InviteCode | null {
  if (contacts.keyOf(arg.trim()) || !looksLikeInviteCode(arg)) return null
  return parseInviteCode(arg)
}

/** Whether a connect argument is meant as an invite code (a number, then words). */
export function looksLikeInviteCode(text: string): boolean {
  return CODE_LIKE.test(text)
}

/** Words are unique in their first 4 letters (BIP39): `orbi` is `orbit`. */
const BY_PREFIX = new Map(BIP39_ENGLISH.map((w) => [w.slice(0, 4), w]))

/**
 * Parses what a person typed: any case, dashes or spaces, a word's first four
 * letters for the word. A word that is not on the list is a usage error that
 * names it, found before the network is touched (a typo must not burn a code).
 */
export function parseInviteCode(input: string): InviteCode {
  const parts = input.trim().toLowerCase().split(/[\s-]+/)
  const number = parts.shift() ?? ''
  const bad = (why: string) => ChatError.invalidInviteCode(input, why)
  if (!/^\d{1,6}$/.test(number) || Number(number) < 1) throw bad('it starts with the number the inviter was given (1 or more)')
  if (parts.length !== INVITE_WORD_COUNT) throw bad(`an invite code is a number and ${INVITE_WORD_COUNT} words, like 7-orbit-tunnel-maple`)
  const words = parts.map((word) => {
    const known = word.length >= 4 ? BY_PREFIX.get(word.slice(0, 4)) : BIP39_ENGLISH.includes(word) ? word : undefined
    if (!known || (word.length > 4 && !known.startsWith(word))) {
      const near = closeWords(word)
      throw bad(`${JSON.stringify(word)} is not an invite word${near.length ? ` (${near.join(' or ')}?)` : ''}; check the code with the person who gave it (nothing was sent)`)
    }
    return known
  })
  const nameplate = Number(number)
  return { nameplate, words, text: [nameplate, ...words].join('-') }
}

/** The list words closest to a mistyped one (within 2 edits, at most 3): what the person probably meant. */
function closeWords(word: string): string[] {
  const scored = BIP39_ENGLISH.map((w) => [w, editDistance(word, w)] as const).filter(([, d]) => d <= 2)
  const best = Math.min(...scored.map(([, d]) => d))
  return scored
    .filter(([, d]) => d === best)
    .slice(0, 3)
    .map(([w]) => w)
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
}

/** A fresh code for a nameplate: three words from the 2048-word list, uniformly. */
export function newInviteCode(nameplate: number): InviteCode {
  const words = Array.from({ length: INVITE_WORD_COUNT }, () => BIP39_ENGLISH[randomInt(BIP39_ENGLISH.length)]!)
  return { nameplate, words, text: [nameplate, ...words].join('-') }
}

