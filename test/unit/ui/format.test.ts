import { describe, expect, it } from 'vitest'
import { clockTime, formatDuration, formatPathSummary, formatPeerRow, peerColor } from '../../../src/ui/format.js'

describe('formatting', () => {
  it('durations, clock, /peers rows', () => {
    expect(formatDuration(12_400)).toBe('12s')
    expect(formatDuration(184_000)).toBe('3m 04s')
    expect(formatDuration(3_720_000)).toBe('1h 02m')
    expect(clockTime(new Date(2026, 0, 1, 9, 5, 7).getTime())).toBe('09:05:07')
    const peer = { key: 'ab'.repeat(32), shortKey: 'abababab', name: 'abababab', connectedAt: 0, address: '1.2.3.4:5', rttMs: 0, path: 'direct' as const, relay: null }
    expect(formatPeerRow(peer, 'abababab', 65_000)).toBe(`abababab  connected 1m 05s  direct  1.2.3.4:5  rtt <1 ms\n    key ${'ab'.repeat(32)}`)
    expect(formatPathSummary({ ...peer, path: 'relayed', relay: 'cd'.repeat(32), rttMs: 12 })).toBe('relayed through cdcdcdcd, 1.2.3.4:5, rtt 12 ms')
    expect(formatPeerRow({ ...peer, rttMs: 42, address: null }, 'x', 0)).toContain('address ?  rtt 42 ms')
  })

  it('gives each key a stable colour, and different keys spread over the palette', () => {
    expect(peerColor('ab'.repeat(32))).toBe(peerColor('ab'.repeat(32)))
    const colours = new Set(Array.from({ length: 64 }, (_, i) => peerColor(i.toString(16).padStart(64, '0'))))
    expect(colours.size).toBeGreaterThan(8)
  })
})
