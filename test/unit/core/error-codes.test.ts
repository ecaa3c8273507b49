import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChatError, ERROR_CODES, EXIT } from '../../../src/core/errors.js'
import { ROOT } from '../../helpers/proc.js'

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name)
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : []
  })
}

describe('error codes: one list, one place', () => {
  it('no error is built outside src/core/errors.ts (every code comes from a factory there)', () => {
    const offenders = sources(path.join(ROOT, 'src'))
      .filter((f) => !f.endsWith(path.join('core', 'errors.ts')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ where: `${path.relative(ROOT, f)}:${i + 1}`, line }))
          .filter(({ line }) => /new ChatError\(|ChatError\.identity\(/.test(line))
      )
    expect(offenders).toEqual([])
  })

  it('every factory gives a listed code with that code\u2019s exit code', () => {
    const samples: ChatError[] = [
      ChatError.usage('x'),
      ChatError.badKey('x'),
      ChatError.peerNotFound(),
      ChatError.timeout(1),
      ChatError.halfOpen(1),
      ChatError.vanished(1000),
      ChatError.relayGone('ab'),
      ChatError.relayUnreachable('ab', 'why'),
      ChatError.pathDead(1000),
      ChatError.flooding(),
      ChatError.tooSlow(1024),
      ChatError.identityInUse('ab'),
      ChatError.stalled(1024, 1000),
      ChatError.notDelivered(1, null),
      ChatError.dhtUnreachable('x', null),
      ChatError.dhtJoinFailed('x', null),
      ChatError.bootstrapPortInUse('127.0.0.1', 1),
      ChatError.bootstrapHostNotLocal('10.0.0.1'),
      ChatError.privateDhtFailed('x', null),
      ChatError.connectWords(['a', 'b']),
      ChatError.ownKey('ab'),
      ChatError.ownInvite('7-orbit-tunnel-maple'),
      ChatError.closedBeforeOpen(),
      ChatError.unknownContact('x'),
      ChatError.notKeyNorContact('x'),
      ChatError.contactExists('x', 'ab'),
      ChatError.contactNameTaken('x', 'ab'),
      ChatError.contactsCorrupt('f', 'why'),
      ChatError.contactsIo('f', 'read', 'why', null),
      ChatError.contactsIo('f', 'lock', 'why', null),
      ChatError.allowFileInvalid('f', 1, 'x'),
      ChatError.allowFileUnreadable('f', 'why'),
      ChatError.identityCorrupt('f', 'why', 'fix'),
      ChatError.identityPermissions('f', 0o644, 'chmod 600 f'),
      ChatError.identityExists('f'),
      ChatError.identityNotFound('f', 'p2pchat keygen'),
      ChatError.identityIo('f', 'write', 'why', null),
      ChatError.invalidInviteCode('x', 'why'),
      ChatError.noFreeNameplate(),
      ChatError.inviteWrongCode('7-a-b-c'),
      ChatError.inviteBurned(7),
      ChatError.inviteUnavailable(7),
      ChatError.inviteTurnedAway(7),
      ChatError.inviteContested(7, 2),
      ChatError.inviteImpostor('7-a-b-c'),
      ChatError.inviteNoAnswer('7-a-b-c'),
      ChatError.inviteProtocol('why'),
      ChatError.inviteTimeout(1000, true)
    ]
    for (const e of samples) {
      expect(Object.keys(ERROR_CODES), e.code).toContain(e.code)
      expect(e.exitCode, e.code).toBe(ERROR_CODES[e.code as keyof typeof ERROR_CODES])
      expect(e.message, e.code).not.toMatch(/\n/)
    }
    // Every listed code's exit code is a documented one.
    for (const exit of Object.values(ERROR_CODES)) expect(Object.values(EXIT)).toContain(exit)
  })
})
