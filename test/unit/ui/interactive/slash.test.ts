import { describe, expect, it } from 'vitest'
import { parseInput } from '../../../../src/ui/interactive/slash.js'

describe('parseInput', () => {
  it('reads text, escaped slashes and commands', () => {
    expect(parseInput('hello')).toEqual({ kind: 'text', text: 'hello' })
    expect(parseInput('//etc/passwd')).toEqual({ kind: 'text', text: '/etc/passwd' })
    expect(parseInput('/help')).toEqual({ kind: 'help' })
    expect(parseInput('/PEERS')).toEqual({ kind: 'peers' })
    expect(parseInput('/quit')).toEqual({ kind: 'quit' })
    expect(parseInput('/clear')).toEqual({ kind: 'clear' })
    expect(parseInput('/send-to ab12 hi there')).toEqual({ kind: 'send-to', target: 'ab12', text: 'hi there' })
    expect(parseInput('/send-to ab12')).toEqual({ kind: 'usage', message: 'usage: /send-to <peer> text' })
    expect(parseInput('/frob x')).toEqual({ kind: 'unknown', name: '/frob' })
  })
})
