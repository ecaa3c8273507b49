import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/proc.js'

/** The anchors GitHub makes for a Markdown file's headings. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  let fence = false
  for (const line of readFileSync(path.join(ROOT, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) fence = !fence
    const m = fence ? null : /^#{1,6} (.*)$/.exec(line)
    if (!m) continue
    const slug = m[1]!
      .replace(/`/g, '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n ? `${slug}-${n}` : slug)
  }
  return out
}

describe('README.md and docs/', () => {
  it('every relative link and #anchor resolves', () => {
    const files = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    const broken: string[] = []
    for (const file of files) {
      for (const [, link] of readFileSync(path.join(ROOT, file), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:)/.test(link!)) continue
        const [target, anchor] = link!.split('#')
        const to = target ? path.normalize(path.join(path.dirname(file), target)) : file
        if (!existsSync(path.join(ROOT, to))) broken.push(`${file}: ${link} (no such file)`)
        else if (anchor && to.endsWith('.md') && !anchors(to).has(anchor)) broken.push(`${file}: ${link} (no such heading)`)
      }
    }
    expect(broken).toEqual([])
  })
})
