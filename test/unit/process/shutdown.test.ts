import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { REPEATED_SIGNAL_MS, Shutdown } from '../../../src/process/shutdown.js'

/** A process stand-in: signals are events, exit() is recorded. */
function fakeProcess(): NodeJS.Process & { exits: number[] } {
  const proc = new EventEmitter() as unknown as NodeJS.Process & { exits: number[] }
  proc.exits = []
  proc.exit = ((code: number) => {
    proc.exits.push(code)
  }) as NodeJS.Process['exit']
  return proc
}

describe('Shutdown and repeated signals', () => {
  it('a signal repeated within a few milliseconds (a process group signalled after its child) is the same request', () => {
    const proc = fakeProcess()
    let now = 1000
    const shutdown = new Shutdown(proc, () => now)
    proc.emit('SIGINT')
    expect(shutdown.reason).toBe('SIGINT')
    now += 5
    proc.emit('SIGINT')
    now += 10
    proc.emit('SIGTERM')
    expect(proc.exits).toEqual([])
    shutdown.dispose()
  })

  it('a second Ctrl+C later than that exits at once with 130', () => {
    const proc = fakeProcess()
    let now = 1000
    const shutdown = new Shutdown(proc, () => now)
    proc.emit('SIGINT')
    now += REPEATED_SIGNAL_MS + 1
    proc.emit('SIGINT')
    expect(proc.exits).toEqual([130])
    shutdown.dispose()
  })

  it('a SIGHUP while stopping lets the shutdown finish', () => {
    const proc = fakeProcess()
    let now = 1000
    const shutdown = new Shutdown(proc, () => now)
    proc.emit('SIGTERM')
    now += 5000
    proc.emit('SIGHUP')
    expect(proc.exits).toEqual([])
    shutdown.dispose()
  })
})

describe('after a stopped command is done', () => {
  it('a late signal (the rest of a repeated one) is ignored, not left to its default action, which would kill the process', () => {
    const proc = fakeProcess()
    const shutdown = new Shutdown(proc, () => 0)
    proc.emit('SIGTERM')
    shutdown.dispose()
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(proc.listenerCount(sig), sig).toBe(1)
    proc.emit('SIGTERM')
    expect(proc.exits).toEqual([])
  })

  it('a command that ended by itself leaves the signals alone', () => {
    const proc = fakeProcess()
    const shutdown = new Shutdown(proc, () => 0)
    shutdown.dispose()
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(proc.listenerCount(sig), sig).toBe(0)
  })

  it('ending by SIGHUP after a terminal closed still works: endBySignal lifts the ignoring handler first', async () => {
    const { endBySignal } = await import('../../../src/process/shutdown.js')
    const proc = fakeProcess()
    const killed: string[] = []
    ;(proc as unknown as { pid: number }).pid = 4242
    proc.kill = ((pid: number, sig: string) => {
      killed.push(`${pid} ${sig} ${proc.listenerCount(sig)}`)
      return true
    }) as NodeJS.Process['kill']
    const shutdown = new Shutdown(proc, () => 0)
    proc.emit('SIGHUP')
    shutdown.dispose()
    expect(proc.listenerCount('SIGHUP')).toBe(1)
    endBySignal('SIGHUP', proc)
    // Raised with no handler left: its default action ends the process.
    expect(killed).toEqual(['4242 SIGHUP 0'])
  })
})
