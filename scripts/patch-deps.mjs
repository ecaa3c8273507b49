#!/usr/bin/env node
// Applies patches/<package>+<version>.patch to installed dependencies (postinstall).
// Each patch is a unified diff against the package's own directory. Every hunk must
// match exactly once, either unapplied (then it is applied) or already applied (then
// it is left alone), so running this twice is harmless; anything else (another
// version installed, the upstream file changed) fails the install loudly.
// No dependency on `patch(1)`: the hunks are applied as exact text replacements.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(join(root, 'package.json'))
const dir = join(root, 'patches')

function fail(msg) {
  console.error(`p2pchat postinstall: ${msg}`)
  process.exit(1)
}

/** { file: [{ before, after }] } from a unified diff; text before the first `--- ` is ignored. */
function parse(text) {
  const files = new Map()
  let hunks = null
  let hunk = null
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('--- ')) continue
    if (line.startsWith('+++ ')) {
      hunks = []
      files.set(line.slice(4).trim().replace(/^b\//, ''), hunks)
    } else if (line.startsWith('@@') && hunks) {
      hunk = { before: [], after: [] }
      hunks.push(hunk)
    } else if (hunk) {
      const body = line.slice(1)
      if (line.startsWith(' ') || line === '') {
        hunk.before.push(body)
        hunk.after.push(body)
      } else if (line.startsWith('-')) hunk.before.push(body)
      else if (line.startsWith('+')) hunk.after.push(body)
    }
  }
  return files
}

const count = (s, sub) => s.split(sub).length - 1

for (const name of readdirSync(dir).filter((f) => f.endsWith('.patch')).sort()) {
  const m = name.match(/^(.+)\+(\d+\.\d+\.\d+)\.patch$/)
  if (!m) fail(`${name}: expected <package>+<version>.patch`)
  const [, pkg, version] = m
  let pkgJson
  try {
    pkgJson = require.resolve(`${pkg}/package.json`)
  } catch {
    fail(`${name}: ${pkg} is not installed`)
  }
  const installed = JSON.parse(readFileSync(pkgJson, 'utf8')).version
  if (installed !== version) fail(`${name}: ${pkg} ${installed} is installed, the patch is for ${version} (update or remove the patch)`)
  let applied = 0
  for (const [file, hunks] of parse(readFileSync(join(dir, name), 'utf8'))) {
    const path = join(dirname(pkgJson), file)
    let src = readFileSync(path, 'utf8')
    for (const [i, { before, after }] of hunks.entries()) {
      const b = before.join('\n')
      const a = after.join('\n')
      if (count(src, b) === 1) {
        src = src.replace(b, () => a)
        applied++
      } else if (count(src, a) !== 1) {
        fail(`${name}: hunk ${i + 1} of ${file} matches neither the original nor the patched ${pkg} ${version} (was the file changed?)`)
      }
    }
    writeFileSync(path, src)
  }
  console.log(`p2pchat postinstall: ${name}: ${applied ? `applied ${applied} hunk(s)` : 'already applied'}`)
}
