import { readFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/proc.js'

/** Fields every event has (`type`, `time`) or that name it (`event`): documented once, not per event. */
const COMMON = new Set(['type', 'time', 'event'])

interface Member {
  /** `status`, or `relay · volunteering` for a relay or pairing event. */
  name: string
  fields: string[]
}

/** The members of the JsonEventBody union in src/ui/events.ts, read by the TypeScript checker. */
function unionMembers(): Member[] {
  const file = path.join(ROOT, 'src/ui/events.ts')
  const program = ts.createProgram([file], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)!
  const alias = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === 'JsonEventBody')!
  const union = checker.getTypeAtLocation(alias.name)
  expect(union.isUnion()).toBe(true)
  const literal = (t: ts.Type, prop: string): string | null => {
    const symbol = t.getProperty(prop)
    if (!symbol) return null
    const type = checker.getTypeOfSymbolAtLocation(symbol, alias)
    return type.isStringLiteral() ? type.value : null
  }
  return (union as ts.UnionType).types.map((t) => {
    const type = literal(t, 'type')!
    const event = literal(t, 'event')
    return {
      name: event ? `${type} · ${event}` : type,
      fields: checker
        .getPropertiesOfType(t)
        .map((p) => p.name)
        .filter((p) => !COMMON.has(p))
        .sort()
    }
  })
}

/**
 * The sections of docs/json-events.md: a heading "### `status`" (or
 * "### `relay` · `volunteering`", with anything after it, e.g. "(listen)"),
 * then a table whose first column holds the fields, as `name`.
 */
function documented(): Member[] {
  const text = readFileSync(path.join(ROOT, 'docs/json-events.md'), 'utf8')
  const sections: Member[] = []
  let current: Member | null = null
  for (const line of text.split('\n')) {
    const heading = /^### `([a-z-]+)`(?: · `([a-z-]+)`)?/.exec(line)
    if (heading) {
      current = { name: heading[2] ? `${heading[1]} · ${heading[2]}` : heading[1]!, fields: [] }
      sections.push(current)
      continue
    }
    if (/^#{1,3} /.test(line)) current = null
    const row = /^\| `([A-Za-z][A-Za-z0-9]*)` \|/.exec(line)
    if (current && row && !COMMON.has(row[1]!)) current.fields.push(row[1]!)
  }
  for (const s of sections) s.fields.sort()
  return sections
}

const key = (m: Member) => `${m.name}: ${m.fields.join(', ')}`

describe('docs/json-events.md and src/ui/events.ts', () => {
  it('document every event of the union, field by field, and nothing else', () => {
    const members = unionMembers()
    // The union is what it is meant to be (guards the parser above as well).
    expect(members.length).toBeGreaterThan(25)
    expect(members.map((m) => m.name)).toContain('relay · volunteering')
    expect(members.map((m) => m.name)).toContain('error')
    expect(members.map(key).sort()).toEqual(documented().map(key).sort())
  })
})
