import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/proc.js'

// The hyperdht patch for issue #304 is applied at install (postinstall): an
// install that skipped it (npm ci --ignore-scripts) would bring the race back.
describe('patches/hyperdht+6.34.0.patch', () => {
  const dir = dirname(createRequire(join(ROOT, 'package.json')).resolve('hyperdht/package.json'))

  it('is applied to the installed hyperdht 6.34.0 (connect.js and server.js)', () => {
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version).toBe('6.34.0')
    for (const file of ['lib/connect.js', 'lib/server.js']) {
      expect(readFileSync(join(dir, file), 'utf8')).toContain('p2pchat patch')
    }
  })

  it('running the postinstall again changes nothing', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'scripts/patch-deps.mjs')], { encoding: 'utf8' })
    expect(out).toBe('p2pchat postinstall: hyperdht+6.34.0.patch: already applied\n')
  })
})
