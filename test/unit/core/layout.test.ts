import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/proc.js'

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name)
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : []
  })
}

describe('src/core/ stands alone', () => {
  const core = path.join(ROOT, 'src/core')
  const files = sources(core)

  it('never imports the UI, the commands or the process layer', () => {
    const offenders = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'|import\('(\.[^']+)'\)/g)]
        .map((m) => path.resolve(path.dirname(f), m[1] ?? m[2]!))
        .filter((target) => !target.startsWith(core + path.sep))
        .map((target) => `${path.relative(ROOT, f)} imports ${path.relative(ROOT, target)}`)
    )
    expect(offenders).toEqual([])
  })

  it('never prints and never exits', () => {
    const offenders = files.filter((f) => /\bconsole\.|process\.exit\(|process\.(stdout|stderr)\./.test(readFileSync(f, 'utf8'))).map((f) => path.relative(ROOT, f))
    expect(offenders).toEqual([])
  })
})
