import DHT from 'hyperdht'
import { describe, expect, it } from 'vitest'
import { randomPunchPauseLeft } from '../../../../src/core/relay/link.js'

/** The hyperdht internals randomPunchPauseLeft reads. */
type PunchState = { randomized: boolean; _lastRandomPunch: number; _randomPunchInterval: number }

describe('the random-punch pause', () => {
  it('hyperdht still keeps it where p2pchat reads it (a renamed field would silently disable the wait)', async () => {
    const dht = new DHT({ bootstrap: [], host: '127.0.0.1', port: 0 } as ConstructorParameters<typeof DHT>[0])
    try {
      const state = dht as unknown as PunchState
      expect(typeof state._lastRandomPunch).toBe('number')
      expect(state._randomPunchInterval).toBe(20_000)
    } finally {
      await dht.destroy()
    }
  })

  it('is what is left of the interval since the last random punch, only behind a randomizing NAT', () => {
    const at = (state: PunchState, now: number) => randomPunchPauseLeft(state as unknown as DHT, now)
    const t = Date.now()
    const state: PunchState = { randomized: true, _lastRandomPunch: t, _randomPunchInterval: 20_000 }
    expect(at(state, t + 5000)).toBe(15_000)
    expect(at(state, t + 20_000)).toBe(0)
    expect(at(state, t + 30_000)).toBe(0)
    // Never punched: hyperdht starts the clock at 0.
    expect(at({ ...state, _lastRandomPunch: 0 }, t)).toBe(0)
    // Elsewhere a punch to a relay is seldom a random one: an attempt refused for it is simply retried.
    expect(at({ ...state, randomized: false }, t + 5000)).toBe(0)
  })
})
