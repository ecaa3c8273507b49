import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../helpers/env.js'
import { useTestNetwork } from '../helpers/net.js'
import { p2pchat } from '../helpers/proc.js'
import { PtyProc } from '../helpers/pty.js'

// What the user types: duration bounds, one-line errors whatever the input,
// help with examples, and JSON errors for --json commands.

const net = useTestNetwork()
const HEX = 'a'.repeat(64)
const NOWHERE = '127.0.0.1:9'

async function run(args: string[], env: NodeJS.ProcessEnv = tempHome().env, timeoutMs = 20_000) {
  const proc = p2pchat(args, env)
  proc.end()
  const { code } = await proc.exit(timeoutMs)
  return { code, stdout: proc.stdout, stderr: proc.stderr }
}

/** stderr is exactly one `p2pchat:` line, with no raw control character in it. */
function oneErrorLine(stderr: string): string {
  expect(stderr.endsWith('\n')).toBe(true)
  const lines = stderr.slice(0, -1).split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^p2pchat: /)
  // eslint-disable-next-line no-control-regex
  expect(lines[0]).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/)
  return lines[0]!
}

describe('no number overflows a timer', () => {
  it.each([
    ['connect --timeout past one day', ['connect', HEX, '--timeout', '3000000']],
    ['connect --timeout 86400.5', ['connect', HEX, '--timeout', '86400.5']],
    ['relay --stats-interval past one day', ['relay', '--stats-interval', '3000000']],
    ['relay --stats-interval below 0.1 s (a busy loop)', ['relay', '--stats-interval', '0.001']],
    ['listen --flood-grace past one hour', ['listen', '--flood-grace', '3601']],
    ['a hex number', ['connect', HEX, '--timeout', '0x10']],
    ['an exponent', ['connect', HEX, '--timeout', '1e3']],
    ['Infinity', ['connect', HEX, '--timeout', 'Infinity']],
    ['NaN', ['listen', '--flood-grace', 'NaN']],
    ['a negative number', ['connect', HEX, '--timeout=-5']],
    ['zero', ['connect', HEX, '--timeout', '0']],
    ['empty', ['relay', '--stats-interval', '']],
    ['a count too large to be exact', ['listen', '--max-peers', '9'.repeat(400)]]
  ])('%s: exit 2, one line, no Node warning', async (_, args) => {
    const { code, stderr } = await run([...args, '--bootstrap', NOWHERE])
    expect(code).toBe(2)
    expect(oneErrorLine(stderr)).toMatch(/is invalid\. expected (a positive number of seconds, at most \d+|a number of seconds from 0\.1 to 86400|a whole number)/)
    expect(stderr).not.toContain('Warning')
  })

  it('--help states the bounds', async () => {
    expect((await run(['connect', '--help'])).stdout).toMatch(/--timeout <seconds>[^]*at most 86400/)
    expect((await run(['listen', '--help'])).stdout).toMatch(/--flood-grace <seconds>[^]*at most 3600/)
    expect((await run(['relay', '--help'])).stdout).toMatch(/--stats-interval <seconds>[^]*0\.1 to 86400/)

    // The bound itself is accepted and does not overflow: the lookup runs its course.
    const { code, stderr } = await run(['connect', HEX, '--timeout', '86400', '--bootstrap', net.flag])
    expect(code).toBe(4) // peer not found, not an instant timeout
    expect(stderr).not.toContain('TimeoutOverflowWarning')
  })
})

describe('an error is one line, whatever the user typed', () => {
  it.each([
    ['a newline in an option value', ['connect', HEX, '--timeout', '5\nx'], 2, "argument '5\\nx' is invalid"],
    ['a newline in an unknown option name', ['listen', '--bo\ngus'], 2, "unknown option '--bo\\ngus'"],
    ['a newline in an unknown command', ['fro\nb'], 2, "unknown command 'fro\\nb'"],
    ['a newline in a file path', ['whoami', '--identity', '/tmp/no\nsuch.json'], 3, 'identity file /tmp/no\\nsuch.json does not exist'],
    ['a newline in an allow-file path', ['listen', '--allow-file', '/tmp/no\nallow', '--bootstrap', NOWHERE], 2, 'allow file /tmp/no\\nallow: it does not exist'],
    ['escape sequences and bidi in a key', ['connect', '\x1b[2J\u202eabc\x9b'], 2, 'invalid key "\\u001b[2J\\u202eabc\\x9b"'],
  ])('%s', async (_, args, exitCode, shown) => {
    const { code, stderr } = await run(args)
    expect(code).toBe(exitCode)
    expect(oneErrorLine(stderr)).toContain(shown)
  })
})

describe('a notice is one line, whatever path it quotes', () => {
  it('keygen into a path with a newline, and a default identity created under one: each notice is one line', async () => {
    const { dir, env } = tempHome()
    const keygen = await run(['keygen', '--out', `${dir}/a\nb.json`], env)
    expect(keygen.code).toBe(0)
    expect(keygen.stderr.split('\n').filter(Boolean)).toEqual([`* identity saved to ${dir}/a␊b.json (mode 0600)`, expect.stringMatching(/^\* z-base-32: /)])
    // The default identity lives under XDG_CONFIG_HOME: give that a newline too.
    const listen = p2pchat(['listen', '--bootstrap', net.flag], { ...env, XDG_CONFIG_HOME: `${dir}/x\ny` })
    await listen.waitFor('to chat, run')
    expect(listen.stderr).toContain(`* created a new identity in ${dir}/x␊y/p2pchat/identity.json\n`)
  })
})

describe('help', () => {
  it.each([['keygen'], ['listen'], ['connect'], ['relay'], ['doctor'], ['whoami'], ['contacts'], ['contacts', 'add'], ['contacts', 'list'], ['contacts', 'remove'], ['bootstrap']])(
    'p2pchat %s --help ends with real examples',
    async (...cmd) => {
      const { code, stdout } = await run([...cmd, '--help'])
      expect(code).toBe(0)
      const examples = stdout.slice(stdout.lastIndexOf('\nExamples:\n'))
      expect(examples.length).toBeGreaterThan(0)
      const lines = examples.trim().split('\n').slice(1)
      expect(lines.length).toBeGreaterThanOrEqual(2)
      for (const line of lines) expect(line).toMatch(/^ {2}\$ .*p2pchat .*# \S/)
      // They are the last thing printed.
      expect(stdout.trimEnd().endsWith(lines.at(-1)!.trimEnd())).toBe(true)
    }
  )

  it('bare `p2pchat` shows the help, on stdout as --help does, and exits 0 (issue 19 point 10)', async () => {
    const bare = await run([])
    const help = await run(['--help'])
    expect(bare.stderr).toBe('')
    expect(bare.code).toBe(0)
    expect(bare.stdout).toBe(help.stdout)
    expect(bare.stdout).toMatch(/^Usage: p2pchat /)
  })

  const EVERY_COMMAND = [[], ['keygen'], ['listen'], ['connect'], ['relay'], ['doctor'], ['whoami'], ['contacts'], ['contacts', 'add'], ['contacts', 'list'], ['contacts', 'rename'], ['contacts', 'remove'], ['bootstrap'], ['help']]

  /** The entries of a help's Options section, each with its wrapped lines joined. */
  function optionEntries(help: string): string[] {
    const section = help.slice(help.indexOf('\nOptions:\n') + 10).split('\n\n')[0]!
    const entries: string[] = []
    for (const line of section.split('\n')) {
      if (/^ {2}-/.test(line)) entries.push(line.trim())
      else entries[entries.length - 1] += ' ' + line.trim()
    }
    return entries
  }

  it('every option of every command says its default once, as "default: …" (issue 19 point 10)', async () => {
    const seen: string[] = []
    for (const cmd of EVERY_COMMAND) {
      const { code, stdout } = await run([...cmd, '--help'])
      expect(code).toBe(0)
      for (const entry of optionEntries(stdout)) {
        seen.push(entry)
        // "the default identity" names a file; every other "default" states one.
        const defaults = entry.match(/\bdefault\b(?! identity)/g) ?? []
        expect(defaults.length, `${cmd.join(' ')}: ${entry}`).toBeLessThanOrEqual(1)
        for (const d of entry.matchAll(/\bdefault\b(?! identity)(.)/g)) expect(d[1], entry).toBe(':')
      }
    }
    // The options whose values have defaults say them.
    for (const [option, value] of [['--timeout', '30'], ['--stats-interval', '10'], ['--host', '127.0.0.1'], ['--port', '49737'], ['--rate-lines', '2000'], ['--flood-grace', '10'], ['--invite-uses', '1'], ['--invite-expires', '10']] as const) {
      const entry = seen.find((e) => e.includes(`${option} <`))!
      expect(entry, option).toMatch(new RegExp(`default: ${value.replace(/\./g, '\\.')}\\b`))
    }
  })

  it.each([
    ['help --json', ['help', '--json']],
    ['help connect --json', ['help', 'connect', '--json']],
    ['keygen --json', ['keygen', '--json']],
    ['contacts list --json', ['contacts', 'list', '--json']],
    ['--json before the command', ['--json', 'connect', HEX]]
  ])('%s: --json where there is none is one usage error, one line on stderr, no JSON (issue 19 point 10)', async (_, args) => {
    const { code, stdout, stderr } = await run(args)
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(oneErrorLine(stderr)).toContain("unknown option '--json'")
  })

  it('an option value that reads "--json" is a value, not --json (issue 19 point 10)', async () => {
    const { code, stdout, stderr } = await run(['listen', '--name', '--json', '--bootstrap', NOWHERE])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(oneErrorLine(stderr)).toContain('--name go with --invite')
  })

  it('p2pchat help contacts add shows the help of add', async () => {
    const { code, stdout } = await run(['help', 'contacts', 'add'])
    expect(code).toBe(0)
    expect(stdout).toContain('Usage: p2pchat contacts add [options] <name> <key>')
    expect((await run(['help', 'contacts'])).stdout).toContain('Usage: p2pchat contacts')
    const bad = await run(['help', 'contacts', 'nope'])
    expect(bad.code).toBe(2)
    expect(oneErrorLine(bad.stderr)).toContain("unknown command 'contacts nope'")
  })

  it('bare `p2pchat contacts` lists the contacts; an unknown subcommand is an error', async () => {
    const { env } = tempHome()
    expect((await run(['contacts', 'add', 'bob', HEX], env)).code).toBe(0)
    const list = await run(['contacts'], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toBe(`bob\t${HEX}\n`)
    const bad = await run(['contacts', 'lsit'], env)
    expect(bad.code).toBe(2)
    expect(oneErrorLine(bad.stderr)).toContain("unknown command 'contacts lsit'")
  })

  it('contacts subcommands refuse extra words instead of ignoring them', async () => {
    const { env } = tempHome()
    expect((await run(['contacts', 'add', 'alice', HEX], env)).code).toBe(0)
    for (const args of [['contacts', 'remove', 'alice', 'bob'], ['contacts', 'add', 'bob', HEX, 'junk'], ['contacts', 'list', 'junk']]) {
      const r = await run(args, env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(oneErrorLine(r.stderr)).toMatch(/too many arguments/)
    }
    // Nothing was removed or added.
    expect((await run(['contacts'], env)).stdout).toBe(`alice\t${HEX}\n`)
  })
})

describe('doctor shows what it waits for', () => {
  it('plain progress lines on stderr when not a terminal, then the result', async () => {
    const { code, stdout, stderr } = await run(['doctor', '--bootstrap', net.flag])
    expect(code).toBe(0)
    expect(stderr).toMatch(/^\* joining the DHT through 127\.0\.0\.1:\d+/m)
    expect(stdout).toMatch(/^bootstrap\s+reachable/m)
  })

  it('a spinner line naming the stage on a terminal', async () => {
    const pty = new PtyProc(['doctor', '--bootstrap', NOWHERE], tempHome().env)
    const rows = await pty.waitForScreen(/joining the DHT through 127\.0\.0\.1:9/, 10_000)
    // One line, led by a spinner frame, not a `* ` progress line.
    const row = rows.find((r) => r.includes('joining the DHT'))!
    expect(row).not.toMatch(/^\* /)
    pty.kill('SIGKILL')
  })
})

describe('--json commands print a JSON error object on stdout', () => {
  function jsonError(stdout: string) {
    const lines = stdout.trim().split('\n')
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'error')
    expect(errors).toHaveLength(1)
    return errors[0]!
  }

  it('doctor --json when the DHT is unreachable: a JSON object, exit 9 (and the stall was explained on stderr)', async () => {
    const { code, stdout, stderr } = await run(['doctor', '--json', '--bootstrap', NOWHERE], tempHome().env, 40_000)
    expect(code).toBe(9)
    expect(stderr).toMatch(/^\* joining the DHT through 127\.0\.0\.1:9/m)
    expect(stderr).toMatch(/^\* still joining the DHT: waiting for bootstrap nodes to answer/m)
    expect(stderr.split('\n').filter((l) => l.startsWith('p2pchat: '))).toHaveLength(1)
    const obj = JSON.parse(stdout)
    expect(obj).toMatchObject({ type: 'error', code: 'NETWORK_UNREACHABLE', exitCode: 9, message: expect.stringContaining('could not reach any DHT node') })
    expect(obj.ok).toBeUndefined()
    expect(new Date(obj.time).getTime()).not.toBeNaN()
    expect(stderr).toMatch(/^p2pchat: could not reach any DHT node/m)
  }, 45_000)

  it('doctor --json on success: one object with ok: true', async () => {
    const { code, stdout } = await run(['doctor', '--json', '--bootstrap', net.flag])
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, natType: expect.any(String) })
  })

  it.each([
    ['an unknown option', ['listen', '--json', '--bogus'], 'USAGE', 2],
    ['a bad option value', ['connect', HEX, '--json', '--timeout', '3000000'], 'USAGE', 2],
    ['a bad key', ['connect', '--json', 'badkey'], 'UNKNOWN_CONTACT', 2],
    ['a bad --bootstrap', ['doctor', '--json', '--bootstrap', 'nope'], 'USAGE', 2],
    ['a missing identity', ['listen', '--json', '--identity', path.join(tempHome().dir, 'missing', 'id.json'), '--bootstrap', NOWHERE], 'IDENTITY_NOT_FOUND', 3]
  ])('%s', async (_, args, code, exitCode) => {
    const r = await run(args)
    expect(r.code).toBe(exitCode)
    expect(jsonError(r.stdout)).toMatchObject({ type: 'error', code, exitCode, message: expect.any(String) })
    oneErrorLine(r.stderr)
  })

  it('connect --json: an error before the session (identity) and one during it (peer not found) are each printed once, last', async () => {
    const home = tempHome()
    const fifo = path.join(home.dir, 'id.fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const early = await run(['connect', HEX, '--json', '--identity', fifo, '--bootstrap', NOWHERE], home.env)
    expect(early.code).toBe(3)
    expect(jsonError(early.stdout)).toMatchObject({ code: 'IDENTITY_UNREADABLE', exitCode: 3 })

    const r = await run(['connect', 'c'.repeat(64), '--json', '--bootstrap', net.flag])
    expect(r.code).toBe(4)
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string })
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND', exitCode: 4 })
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1)
    expect(events.some((e) => e.type === 'status')).toBe(true)

    // Without --json, stdout stays empty on an error.
    expect((await run(['connect', 'badkey'])).stdout).toBe('')
  })
})

describe('files given on the command line', () => {
  it('an empty path is refused for every file option', async () => {
    for (const args of [['keygen', '--out', ''], ['listen', '--identity', ''], ['listen', '--allow-file', ''], ['whoami', '--identity', ''], ['relay', '--identity', ''], ['connect', HEX, '--identity', '']]) {
      const { code, stderr } = await run(args)
      expect(code).toBe(2)
      expect(oneErrorLine(stderr)).toContain('expected a file path, got an empty string')
    }
  })
})
