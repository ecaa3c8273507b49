import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanupHomes, tempHome } from '../helpers/env.js'
import { BIN, Proc } from '../helpers/proc.js'

const FORBID = fileURLToPath(new URL('../fixtures/forbid-hyperdht.mjs', import.meta.url))

afterAll(() => cleanupHomes())

/** Runs p2pchat with hyperdht made unloadable. */
async function runWithoutHyperdht(args: string[]) {
  const proc = new Proc(process.execPath, ['--import', FORBID, BIN, ...args], tempHome().env)
  proc.end()
  const { code } = await proc.exit()
  return { code, stdout: proc.stdout, stderr: proc.stderr }
}

describe('commands that need no network never load hyperdht', () => {
  it('the guard itself works: listen fails when hyperdht is forbidden', async () => {
    const { code, stderr } = await runWithoutHyperdht(['listen', '--bootstrap', '127.0.0.1:9'])
    expect(code).not.toBe(0)
    expect(stderr).toContain('FORBIDDEN')
  })

  it.each([['--help'], ['--version'], ['connect', '--help'], ['listen', '--help'], ['connect', 'not-a-key'], ['contacts', 'list'], ['contacts'], ['help', 'contacts', 'add'], ['doctor', '--help'], ['listen', '--json', '--bogus'], ['whoami']])('p2pchat %s', async (...args) => {
    const { stderr } = await runWithoutHyperdht(args)
    expect(stderr).not.toContain('FORBIDDEN')
  })

  it('keygen', async () => {
    const { dir } = tempHome()
    const out = path.join(dir, 'id.json')
    const { code, stdout, stderr } = await runWithoutHyperdht(['keygen', '--out', out])
    expect(stderr).not.toContain('FORBIDDEN')
    expect(code).toBe(0)
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).publicKey).toBe(stdout.trim())
  })
})
