/**
 * The one error type p2pchat raises on purpose. `code` is stable (tests and
 * --json match on it); `exitCode` is what the process exits with. Everything
 * else that escapes is a bug and exits with EXIT.INTERNAL.
 */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  IDENTITY: 3,
  PEER_NOT_FOUND: 4,
  CONNECTION_FAILED: 5,
  HOLEPUNCH_FAILED: 6,
  TIMEOUT: 7,
  CONNECTION_LOST: 8,
  NETWORK: 9,
  NOT_DELIVERED: 10,
  INVITE_WRONG_CODE: 11,
  INVITE_UNAVAILABLE: 12,
  INTERRUPTED: 130
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/**
 * Every error code p2pchat reports (stderr, `--json` error events), with the
 * exit code it ends the process with. hyperdht's own codes are listed in
 * DHT_ERRORS below; an unknown library code is passed through as it is (exit 5).
 * A unit test checks that every factory of ChatError uses a code listed here.
 */
export const ERROR_CODES = {
  INTERNAL: EXIT.INTERNAL,
  USAGE: EXIT.USAGE,
  INVALID_KEY: EXIT.USAGE,
  UNKNOWN_CONTACT: EXIT.USAGE,
  CONTACT_EXISTS: EXIT.USAGE,
  INVALID_INVITE_CODE: EXIT.USAGE,
  ALLOW_FILE_INVALID: EXIT.USAGE,
  ALLOW_FILE_UNREADABLE: EXIT.USAGE,
  IDENTITY_NOT_FOUND: EXIT.IDENTITY,
  IDENTITY_EXISTS: EXIT.IDENTITY,
  IDENTITY_CORRUPT: EXIT.IDENTITY,
  IDENTITY_PERMISSIONS: EXIT.IDENTITY,
  IDENTITY_UNREADABLE: EXIT.IDENTITY,
  IDENTITY_IN_USE: EXIT.IDENTITY,
  CONTACTS_CORRUPT: EXIT.IDENTITY,
  CONTACTS_UNREADABLE: EXIT.IDENTITY,
  CONTACTS_LOCKED: EXIT.IDENTITY,
  PEER_NOT_FOUND: EXIT.PEER_NOT_FOUND,
  CONNECTION_CLOSED: EXIT.CONNECTION_FAILED,
  CONNECTION_ERROR: EXIT.CONNECTION_FAILED,
  RELAY_UNREACHABLE: EXIT.CONNECTION_FAILED,
  INVITE_PROTOCOL: EXIT.CONNECTION_FAILED,
  TIMEOUT: EXIT.TIMEOUT,
  HALF_OPEN: EXIT.CONNECTION_LOST,
  PEER_VANISHED: EXIT.CONNECTION_LOST,
  PATH_DEAD: EXIT.CONNECTION_LOST,
  RELAY_GONE: EXIT.CONNECTION_LOST,
  FLOODING: EXIT.CONNECTION_LOST,
  TOO_SLOW: EXIT.CONNECTION_LOST,
  NETWORK_UNREACHABLE: EXIT.NETWORK,
  INVITE_NO_NAMEPLATE: EXIT.NETWORK,
  NOT_DELIVERED: EXIT.NOT_DELIVERED,
  INVITE_WRONG_CODE: EXIT.INVITE_WRONG_CODE,
  INVITE_UNAVAILABLE: EXIT.INVITE_UNAVAILABLE,
  INVITE_CONTESTED: EXIT.INVITE_UNAVAILABLE
} as const satisfies Record<string, ExitCode>

export type ErrorCode = keyof typeof ERROR_CODES

/** A new error with a listed code and that code's exit code. */
function coded(code: ErrorCode, message: string, options?: { cause?: unknown }): ChatError {
  return new ChatError(code, message, ERROR_CODES[code], options)
}

// C0 controls (line breaks, tab, ESC…), DEL, C1 controls, the line and
// paragraph separators, and the bidi embeddings/overrides/isolates/marks.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/**
 * Makes a message safe to print as one line: every control character becomes
 * a visible escape (a newline in a file name shows as \n, ESC as \x1b, U+202E
 * as \u202e), so what a user typed can neither split an error line nor drive
 * the terminal. Idempotent.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (ch) => {
    const named = NAMED[ch]
    if (named) return named
    const code = ch.charCodeAt(0)
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

export class ChatError extends Error {
  readonly code: string
  readonly exitCode: ExitCode

  constructor(code: string, message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    // One line wherever it is shown (stderr, a spinner, JSON), whatever the user typed into it.
    super(escapeControls(message), options)
    this.name = 'ChatError'
    this.code = code
    this.exitCode = exitCode
  }

  static usage(message: string): ChatError {
    return coded('USAGE', message)
  }

  static badKey(input: string): ChatError {
    const shown = input.length > 80 ? input.slice(0, 77) + '...' : input
    return coded(
      'INVALID_KEY',
      `invalid key ${JSON.stringify(shown)}: a key is 64 hex characters or 52 z-base-32 characters (as printed by 'p2pchat listen' or 'p2pchat keygen')`
    )
  }

  /** @deprecated Kept for its unit test: every identity error has its own factory below. */
  static identity(code: string, message: string, cause?: unknown): ChatError {
    return new ChatError(code, message, EXIT.IDENTITY, { cause })
  }

  static peerNotFound(): ChatError {
    return coded(
      'PEER_NOT_FOUND',
      'peer not found: nobody is listening on that key (the peer is offline, has not announced yet, or is on another DHT network)'
    )
  }

  /** `ms`: the --timeout that ran out, said as given (0.5 s, not 0 s). */
  static timeout(ms: number): ChatError {
    return coded(
      'TIMEOUT',
      `timed out after ${inSeconds(ms)} without reaching the peer (try again, or raise --timeout)`
    )
  }

  static halfOpen(seconds: number): ChatError {
    return coded(
      'HALF_OPEN',
      `connection opened but the peer never answered within ${seconds} s (half-open connection); nothing was delivered — try again`
    )
  }

  static vanished(idleMs: number): ChatError {
    return coded('PEER_VANISHED', `no data from the peer for ${Math.round(idleMs / 1000)} s: it vanished or its network is gone`)
  }

  /** The relay a connection went through ended its connection to us or stopped answering (see relay/paths.ts). */
  static relayGone(relayHex: string): ChatError {
    const which = relayHex ? `relay ${relayHex.slice(0, 8)}` : 'the relay'
    return coded('RELAY_GONE', `connection lost: ${which} stopped relaying (it was shut down or went offline)`)
  }

  /** Our own connection to a relay (opened before dialing through it) did not open: `cause` is why (hyperdht's error, or in words). */
  static relayUnreachable(relayHex: string, cause: ChatError | string): ChatError {
    const reason = typeof cause === 'string' ? cause : cause.message.replace(/^(connection failed|connection error|hole punching failed): /, '')
    return coded('RELAY_UNREACHABLE', `connection failed: could not reach relay ${relayHex.slice(0, 8)} (${reason})`, typeof cause === 'string' ? {} : { cause })
  }

  /** Data waited for an acknowledgement far longer than the round trip warrants (see DEFAULT_DEAD_PATH). */
  static pathDead(waitedMs: number): ChatError {
    return coded(
      'PATH_DEAD',
      `connection lost: the peer acknowledged nothing for ${(waitedMs / 1000).toFixed(1)} s while data waited (it was stopped, or its network went down)`
    )
  }

  static flooding(): ChatError {
    return coded('FLOODING', 'disconnected for flooding: sent faster than the rate limit for too long')
  }

  static tooSlow(maxQueueBytes: number): ChatError {
    return coded('TOO_SLOW', `disconnected: did not read its messages (over ${Math.round(maxQueueBytes / 1024)} KiB waiting)`)
  }

  /** Another live listener already serves this identity's key (found by probing before announcing). */
  static identityInUse(keyHex: string): ChatError {
    return coded(
      'IDENTITY_IN_USE',
      `another listener is already serving this identity's key ${keyHex.slice(0, 8)}… (on this machine or another): stop that one first, or start this one with another identity (--identity FILE; create one with 'p2pchat keygen --out FILE')`
    )
  }

  static stalled(queuedBytes: number, stallMs: number): ChatError {
    return coded(
      'TOO_SLOW',
      `disconnected: did not read its messages (${Math.round(queuedBytes / 1024)} KiB waiting, none taken for ${Math.round(stallMs / 1000)} s)`
    )
  }

  /**
   * Lines written to the peer that its transport never acknowledged, after
   * waiting `waitedSeconds` at the end (null: the connection they were sent on ended first).
   */
  static notDelivered(lines: number, waitedSeconds: number | null): ChatError {
    const what = lines === 1 ? '1 line was' : `${lines} lines were`
    const them = lines === 1 ? 'it' : 'them'
    const why = waitedSeconds === null ? `the connection ended before the peer acknowledged ${them}` : `the peer did not acknowledge ${them} within ${waitedSeconds} s`
    return coded('NOT_DELIVERED', `${what} not confirmed delivered: ${why}`)
  }

  // ---- the DHT -------------------------------------------------------------

  /**
   * No DHT node answered the bootstrap walk. `where`: the nodes tried, in
   * words; `bootstrap`: the --bootstrap list when it is a private network
   * (null: the public one). Says what to do offline too: run a DHT here.
   */
  static dhtUnreachable(where: string, bootstrap: string | null): ChatError {
    const next = bootstrap
      ? "check that 'p2pchat bootstrap' runs at that address and that UDP to it is not blocked"
      : "check that this machine is online and UDP is not blocked; offline or on a LAN, run your own DHT with 'p2pchat bootstrap' and pass what it prints with --bootstrap HOST:PORT (or set P2PCHAT_BOOTSTRAP)"
    return coded('NETWORK_UNREACHABLE', `could not reach any DHT node (tried ${where}): ${next}`)
  }

  /** The bootstrap walk itself failed (hyperdht's reason in `detail`). */
  static dhtJoinFailed(detail: string, cause: unknown): ChatError {
    return coded('NETWORK_UNREACHABLE', `could not join the DHT: ${detail}`, { cause })
  }

  /** `p2pchat bootstrap`: its UDP port is taken. */
  static bootstrapPortInUse(host: string, port: number): ChatError {
    return coded('NETWORK_UNREACHABLE', `cannot start the bootstrap node: ${host}:${port} is already in use (choose another --port)`)
  }

  /** `p2pchat bootstrap --host` names an address this machine does not have. */
  static bootstrapHostNotLocal(host: string): ChatError {
    return coded('NETWORK_UNREACHABLE', `cannot start the bootstrap node: ${host} is not an address of this machine`)
  }

  static privateDhtFailed(detail: string, cause: unknown): ChatError {
    return coded('NETWORK_UNREACHABLE', `cannot start the private DHT: ${detail}`, { cause })
  }

  // ---- what connect is given ------------------------------------------------

  /** `connect` got several words that are not an invite code (an invite code may be typed as words). */
  static connectWords(words: string[]): ChatError {
    const shown = words.join(' ')
    return ChatError.usage(
      `connect takes one invite code, contact name or key, not ${words.length} words (${JSON.stringify(shown.length > 80 ? shown.slice(0, 77) + '...' : shown)}); an invite code is a number and three words, like 7-orbit-tunnel-maple or 7 orbit tunnel maple`
    )
  }

  /** `connect` to the key of the identity it runs as: it would dial itself. */
  static ownKey(keyHex: string): ChatError {
    return ChatError.usage(
      `${keyHex.slice(0, 8)}… is your own key (the identity this connect runs as), not a peer's: connect to the other side's key; to try p2pchat on one machine, run the second side with a config directory of its own (XDG_CONFIG_HOME=DIR p2pchat connect …: its own identity and contacts)`
    )
  }

  /** `connect CODE` to an invite of a listener with our own identity (the same identity on one machine). */
  static ownInvite(code: string): ChatError {
    return ChatError.usage(
      `invite code ${code} belongs to a listener with your own identity, so it paired you with yourself (nothing was saved): to try p2pchat on one machine, run the second side with a config directory of its own (XDG_CONFIG_HOME=DIR p2pchat connect CODE …: its own identity and contacts) and ask for a new code`
    )
  }

  /** connect: --name or --save-as without an invite code. */
  static pairingOptionsWithoutCode(): ChatError {
    return ChatError.usage('--name and --save-as go with an invite code (connect 7-orbit-tunnel-maple)')
  }

  /** listen: --invite-uses, --invite-expires or --name without --invite. */
  static inviteOptionsWithoutInvite(): ChatError {
    return ChatError.usage('--invite-uses, --invite-expires and --name go with --invite')
  }

  /** The same error, its message prefixed with where the bad value came from (`--relay-through: …`). */
  from(source: string): ChatError {
    return new ChatError(this.code, `${source}: ${this.message}`, this.exitCode, { cause: this })
  }

  // ---- dialing -------------------------------------------------------------

  static closedBeforeOpen(): ChatError {
    return coded('CONNECTION_CLOSED', 'connection failed: the peer closed the connection before it was established')
  }

  // ---- contacts, allow lists, identities ----------------------------------

  static unknownContact(name: string): ChatError {
    return coded('UNKNOWN_CONTACT', `no contact named ${JSON.stringify(name)}`)
  }

  /** Neither a contact name nor a key (what connect ALICE says when there is no alice). */
  static notKeyNorContact(text: string): ChatError {
    return coded(
      'UNKNOWN_CONTACT',
      `invalid key ${JSON.stringify(text)}: no contact has that name, and a key is 64 hex characters or 52 z-base-32 characters (see 'p2pchat contacts list')`
    )
  }

  /** `contacts add` of a name another key has. */
  static contactExists(name: string, existingKey: string): ChatError {
    return coded('CONTACT_EXISTS', `contact ${name} already has key ${existingKey}; use --force to replace it`)
  }

  /** `contacts rename` to a name another key has. */
  static contactNameTaken(name: string, existingKey: string): ChatError {
    return coded('CONTACT_EXISTS', `contact ${name} already has key ${existingKey}: remove it first`)
  }

  static contactsCorrupt(file: string, why: string): ChatError {
    return coded('CONTACTS_CORRUPT', `contacts file ${file} is not valid: ${why} (fix it, or move it away to start an empty address book)`)
  }

  /** The contacts file could not be read, written, or (`lock`) locked for an update; `reason` from explainFsError. */
  static contactsIo(file: string, action: 'read' | 'write' | 'lock', reason: string, cause: unknown): ChatError {
    return coded(action === 'lock' ? 'CONTACTS_LOCKED' : 'CONTACTS_UNREADABLE', `cannot ${action === 'lock' ? 'update' : action} contacts ${file}: ${reason}`, { cause })
  }

  static allowFileInvalid(file: string, line: number, entry: string): ChatError {
    return coded('ALLOW_FILE_INVALID', `allow file ${file}, line ${line}: ${JSON.stringify(entry)} is not a key or a contact name`)
  }

  static allowFileUnreadable(file: string, reason: string): ChatError {
    return coded('ALLOW_FILE_UNREADABLE', `cannot read allow file ${file}: ${reason}`)
  }

  /** `remedy` completes "move it away and …". */
  static identityCorrupt(file: string, why: string, remedy: string): ChatError {
    return coded('IDENTITY_CORRUPT', `identity file ${file} is not valid: ${why} (move it away and ${remedy})`)
  }

  /** `chmod`: the command that fixes it. */
  static identityPermissions(file: string, mode: number, chmod: string): ChatError {
    return coded('IDENTITY_PERMISSIONS', `identity file ${file} has permissions ${mode.toString(8).padStart(4, '0')}, which let other users read your secret key; fix with: ${chmod}`)
  }

  static identityExists(file: string): ChatError {
    return coded('IDENTITY_EXISTS', `identity file ${file} already exists; refusing to overwrite it (use --force to replace it, which changes your public key)`)
  }

  /** `keygen`: the command that makes one. */
  static identityNotFound(file: string, keygen: string, cause?: unknown): ChatError {
    return coded('IDENTITY_NOT_FOUND', `identity file ${file} does not exist (create one with '${keygen}')`, { cause })
  }

  static identityIo(file: string, action: 'read' | 'write', reason: string, cause: unknown): ChatError {
    return coded('IDENTITY_UNREADABLE', `cannot ${action} identity ${file}: ${reason}`, { cause })
  }

  // ---- invite codes (`code` is its text, `nameplate` its number) ----------

  static invalidInviteCode(input: string, why: string): ChatError {
    return coded('INVALID_INVITE_CODE', `invalid invite code ${JSON.stringify(input.trim().slice(0, 80))}: ${why}`)
  }

  static noFreeNameplate(): ChatError {
    return coded('INVITE_NO_NAMEPLATE', 'could not find a free invite number on the DHT (8 tries): try again')
  }

  static inviteWrongCode(code: string): ChatError {
    return coded(
      'INVITE_WRONG_CODE',
      `wrong invite code: the words do not match ${code} (or whoever answered is not the inviter); the code is now burned (no second guess): ask for a new one`
    )
  }

  static inviteBurned(nameplate: number): ChatError {
    return coded('INVITE_UNAVAILABLE', `invite code ${nameplate}-… was burned by a wrong guess before yours (someone else tried it): ask for a new one`)
  }

  static inviteUnavailable(nameplate: number): ChatError {
    return coded(
      'INVITE_UNAVAILABLE',
      `no open invite with number ${nameplate}: it expired, was used up or burned, or the inviter stopped (or is on another DHT network): ask for a new code`
    )
  }

  static inviteTurnedAway(nameplate: number): ChatError {
    return coded(
      'INVITE_UNAVAILABLE',
      `the invite with number ${nameplate} is announced but its inviter turned the connection away (busy with other attempts, or the code just ended); nothing was sent, so trying again in a minute is safe`
    )
  }

  static inviteContested(nameplate: number, count: number): ChatError {
    return coded(
      'INVITE_CONTESTED',
      `${count} peers announce invite number ${nameplate}: someone other than the inviter is squatting on it, so the words were not sent to anyone; ask for a new code`
    )
  }

  static inviteImpostor(code: string): ChatError {
    return coded(
      'INVITE_WRONG_CODE',
      `invite code ${code} failed: whoever answered at its rendezvous did not prove the same words (a wrong code, or not the inviter); nothing was saved and the code must not be tried again: ask for a new one`
    )
  }

  static inviteNoAnswer(code: string): ChatError {
    return coded(
      'INVITE_WRONG_CODE',
      `invite code ${code} failed: the rendezvous closed without answering the words (a wrong code, not the inviter, or its answer was lost: then it may have saved you anyway); nothing was saved here and the code must not be tried again: ask for a new one`
    )
  }

  /** A connection error after the words were sent: the inviter may have judged them. */
  static inviteFailedAfterWords(error: ChatError, nameplate: number): ChatError {
    return new ChatError(
      error.code,
      `${error.message}, after the words of ${nameplate}-… were sent: the inviter may have paired with you or burned the code; nothing was saved here: ask for a new code`,
      error.exitCode,
      { cause: error }
    )
  }

  static inviteProtocol(why: string): ChatError {
    return coded('INVITE_PROTOCOL', `invite failed: the rendezvous peer broke the protocol (${why}); nothing was exchanged`)
  }

  static inviteTimeout(ms: number, wordsSent: boolean): ChatError {
    const after = wordsSent ? '; the words were sent, so treat the code as spent and ask for a new one' : ''
    return coded('TIMEOUT', `invite timed out after ${inSeconds(ms)}${after}`)
  }
}

/**
 * A duration as a person gave it, in seconds: `30 s`, `2.5 s`, `0.001 s`
 * (never `0 s` for a short one), to the millisecond.
 */
export function inSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`
}

/** hyperdht error codes → one plain-language line each. */
const DHT_ERRORS: Record<string, { message: string; exitCode: ExitCode }> = {
  PEER_NOT_FOUND: {
    message: ChatError.peerNotFound().message,
    exitCode: EXIT.PEER_NOT_FOUND
  },
  PEER_CONNECTION_FAILED: {
    message: 'connection failed: the peer was found but did not accept the connection',
    exitCode: EXIT.CONNECTION_FAILED
  },
  // A p2pchat listener answers a key it does not accept with an error reply
  // (see ChatListener's firewall), so this arrives within a round trip.
  SERVER_ERROR: {
    message:
      "connection refused: the listener did not accept this connection (its room may be full, or it admits only listed keys: show your key with 'p2pchat whoami' and ask to be allowed)",
    exitCode: EXIT.CONNECTION_FAILED
  },
  SERVER_INCOMPATIBLE: {
    message: 'connection failed: the peer runs an incompatible HyperDHT version',
    exitCode: EXIT.CONNECTION_FAILED
  },
  DUPLICATE_CONNECTION: {
    message: 'connection failed: a connection with this identity to that peer already exists',
    exitCode: EXIT.CONNECTION_FAILED
  },
  HANDSHAKE_INVALID: {
    message: 'connection failed: the encrypted handshake with the peer failed',
    exitCode: EXIT.CONNECTION_FAILED
  },
  HANDSHAKE_UNFINISHED: {
    message: 'connection failed: the peer did not finish the encrypted handshake',
    exitCode: EXIT.CONNECTION_FAILED
  },
  BAD_HANDSHAKE_REPLY: {
    message: 'connection failed: the peer sent an invalid handshake reply',
    exitCode: EXIT.CONNECTION_FAILED
  },
  HOLEPUNCH_ABORTED: {
    message:
      'hole punching failed: no direct path to the peer could be opened (both sides may be behind strict NATs or firewalls blocking UDP)',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  HOLEPUNCH_DOUBLE_RANDOMIZED_NATS: {
    message:
      'hole punching failed: both peers are behind randomizing NATs, so no direct path is possible',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  HOLEPUNCH_PROBE_TIMEOUT: {
    message: 'hole punching failed: the peer did not answer hole-punch probes in time',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  HOLEPUNCH_INVALID: {
    message: 'hole punching failed: the peer sent an invalid hole-punch message',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  BAD_HOLEPUNCH_REPLY: {
    message: 'hole punching failed: the peer sent an invalid hole-punch reply',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  CANNOT_HOLEPUNCH: {
    message: 'hole punching failed: this network does not allow hole punching',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  REMOTE_NOT_HOLEPUNCHABLE: {
    message: 'hole punching failed: the peer is behind a NAT that cannot be punched through',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  REMOTE_NOT_HOLEPUNCHING: {
    message: 'hole punching failed: the peer stopped hole punching',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  REMOTE_ABORTED: {
    message: 'hole punching failed: the peer aborted the attempt',
    exitCode: EXIT.HOLEPUNCH_FAILED
  },
  ETIMEDOUT: {
    message: 'connection timed out: the peer stopped answering',
    exitCode: EXIT.TIMEOUT
  },
  ECONNRESET: {
    message: 'connection lost: the peer reset the connection',
    exitCode: EXIT.CONNECTION_LOST
  },
  NODE_DESTROYED: {
    message: 'connection closed: the local DHT node was shut down',
    exitCode: EXIT.CONNECTION_LOST
  },
  // blind-relay's pairing failures (hyperdht relayThrough): the relay gave up
  // on the pair, often only for this attempt (connect retries them, then
  // moves to the next relay).
  CHANNEL_CLOSED: {
    message: 'connection failed: the relay dropped us before the peer reached it (the relay stopped, or one side lost its connection to it)',
    exitCode: EXIT.CONNECTION_FAILED
  },
  RELAY_ABORTED: {
    message: 'connection failed: the relay could not pair us with the peer within 15 s (one side could not reach the relay in time)',
    exitCode: EXIT.CONNECTION_FAILED
  }
}

/** Relay failures that a new attempt through the relay (or the next one) usually gets past: a dropped pairing, or our link to the relay that did not open. */
export function relayPairingFailed(error: ChatError): boolean {
  return error.code === 'CHANNEL_CLOSED' || error.code === 'RELAY_ABORTED' || error.code === 'RELAY_UNREACHABLE'
}

/** Turns whatever hyperdht (or a stream) threw into a ChatError. */
export function fromDhtError(err: unknown): ChatError {
  if (err instanceof ChatError) return err
  const raw = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  const code = typeof raw === 'string' && raw.length > 0 ? raw : ''
  const known = code && Object.hasOwn(DHT_ERRORS, code) ? DHT_ERRORS[code] : undefined
  if (known) return new ChatError(code, known.message, known.exitCode, { cause: err })
  // Keep it one line whatever the library put in its message.
  const detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim()
  return new ChatError(code || 'CONNECTION_ERROR', `connection error: ${detail}`, EXIT.CONNECTION_FAILED, { cause: err })
}

/** Failures a relay can get around: no direct UDP path between the two peers. */
const RELAY_FIXABLE = new Set([
  'HOLEPUNCH_ABORTED',
  'HOLEPUNCH_DOUBLE_RANDOMIZED_NATS',
  'HOLEPUNCH_PROBE_TIMEOUT',
  'REMOTE_NOT_HOLEPUNCHABLE',
  'CANNOT_HOLEPUNCH',
  'REMOTE_ABORTED',
  'HALF_OPEN'
])

export function relayCouldHelp(error: ChatError): boolean {
  return RELAY_FIXABLE.has(error.code)
}

/** The listener refused us (its allow list, or a full room): final, the same answer comes again. */
export function isRefusal(error: ChatError): boolean {
  return error.code === 'SERVER_ERROR'
}

/**
 * A refusal, said for the key we used: a throwaway key (connect without an
 * identity) cannot be on anyone's allow list, so 'p2pchat whoami' (which
 * shows the default identity, and there is none) would not help: make a
 * permanent key first.
 */
export function explainRefusal(error: ChatError, ctx: { throwaway: boolean }): ChatError {
  if (!isRefusal(error) || !ctx.throwaway) return error
  return new ChatError(
    error.code,
    "connection refused: the listener did not accept this connection (its room may be full, or it admits only listed keys); this connect used a throwaway key, made for this session only, which no allow list can hold: run 'p2pchat keygen', give the listener the key it prints, then connect again",
    error.exitCode,
    { cause: error }
  )
}

/**
 * Adds what hyperdht leaves out: the real cause where we know it (the peer
 * is on our LAN and did not answer there; our own NAT randomizes ports;
 * hyperdht reports both as a plain abort) and, when
 * no relay is configured, that one would help and how to use it.
 */
export function explainHolepunchFailure(
  error: ChatError,
  ctx: {
    localNatRandom: boolean
    relaysConfigured: boolean
    volunteersLookedFor?: boolean
    silentLanPeer?: string | null
    /** The private network's bootstrap list (null or omitted: the public DHT), so that the relay command works as printed. */
    bootstrap?: string | null
  }
): ChatError {
  if (!relayCouldHelp(error)) return error
  let message = error.message
  if (ctx.silentLanPeer && error.code !== 'HALF_OPEN') {
    // hyperdht pinged the peer's LAN address because the peer has our public
    // address (see watchLanPings): NATs are not the problem, its firewall is.
    message = `hole punching failed: the peer is on this network (it has this machine's public address) but did not answer at its LAN address ${ctx.silentLanPeer}: its firewall probably drops incoming UDP (on that machine, allow incoming UDP from this LAN)`
  } else if (error.code === 'HOLEPUNCH_ABORTED' && ctx.localNatRandom) {
    message = 'hole punching failed: this machine is behind a randomizing NAT (a new public port for every destination), so there is no direct path unless the peer\'s NAT is open or consistent'
  }
  if (!ctx.relaysConfigured) {
    // Room members behind an open or consistent NAT relay for the room by themselves: say that none does now.
    if (ctx.volunteersLookedFor) message += '; no member of the room volunteers as a relay now (members behind an open or consistent NAT do, unless they run with --no-relay)'
    const relay = ctx.bootstrap ? `p2pchat relay --bootstrap ${ctx.bootstrap}` : 'p2pchat relay'
    message += `; a relay would help: run '${relay}' on a machine both peers can reach and pass its key with --relay-through KEY (or set P2PCHAT_RELAY)`
  }
  return new ChatError(error.code, message, error.exitCode, { cause: error })
}
