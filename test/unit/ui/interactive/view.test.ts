import { PassThrough } from 'node:stream'
import type { Ora } from 'ora'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ChatController } from '../../../../src/ui/chat-ui.js'
import { InteractiveUi } from '../../../../src/ui/interactive/view.js'
import { Output } from '../../../../src/ui/output.js'

/** A terminal's two ends as streams: what the view writes is collected; keys are written into `stdin`. */
export function fakeTerminal(columns = 80, rows = 24) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(raw: boolean) { stdin.isRaw = raw; return stdin } })
  let written = ''
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns, rows })
  stdout.on('data', (d: Buffer) => (written += d.toString('utf8')))
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns, rows })
  stderr.on('data', (d: Buffer) => (written += d.toString('utf8')))
  const output = new Output({ stdout, stderr, env: {} })
  return { stdin, stdout, stderr, output, written: () => written }
}

export const controller: ChatController = { role: 'listen', peers: () => [], send: () => ({ fate: 'dropped', reason: 'test', wait: false }), inputEnded() {}, quit() {} }

/** Spinners as ora makes them, recording what happens to each. */
function spinners() {
  const made: { text: string; running: boolean }[] = []
  const make = (o: { text: string }) => {
    const s = { text: o.text, running: false }
    made.push(s)
    const ora = {
      start() {
        s.running = true
        return ora
      },
      stop() {
        s.running = false
        return ora
      },
      stopAndPersist() {
        s.running = false
        return ora
      },
      get text() {
        return s.text
      },
      set text(t: string) {
        s.text = t
      }
    }
    return ora as unknown as Ora
  }
  return { made, make }
}

describe('the spinner and the prompt', () => {
  let ui: InteractiveUi | null = null
  afterEach(() => {
    ui?.stop()
    ui = null
    vi.useRealTimers()
  })

  it('start() ends a spinner still running (a stage after the ✔ line: listen --invite), and its stall hint never comes', () => {
    vi.useFakeTimers()
    const term = fakeTerminal()
    const { made, make } = spinners()
    ui = new InteractiveUi({ output: term.output, stdin: term.stdin }, make)
    ui.stage('announcing', 'announcing…')
    ui.ready('ab'.repeat(32), 'z', 'p2pchat connect KEY')
    expect(made.map((s) => s.running)).toEqual([false])
    ui.stage('inviting', 'opening an invite code…')
    expect(made.at(-1)!.running).toBe(true)
    ui.start(controller)
    expect(made.every((s) => !s.running)).toBe(true)
    vi.advanceTimersByTime(6000)
    expect(made.every((s) => !s.running)).toBe(true)
    expect(made.at(-1)!.text).toBe('opening an invite code…')
  })

  it('once the prompt is up, no stage starts a spinner: each is a notice, and so is its stall hint', () => {
    vi.useFakeTimers()
    const term = fakeTerminal()
    const { made, make } = spinners()
    ui = new InteractiveUi({ output: term.output, stdin: term.stdin }, make)
    ui.start(controller)
    for (const stage of ['joining', 'announcing', 'inviting', 'pairing', 'connecting', 'confirming'] as const) ui.stage(stage, `stage ${stage}`)
    vi.advanceTimersByTime(6000)
    expect(made).toEqual([])
    expect(term.written()).toContain('* stage inviting')
    expect(term.written()).toContain('* connection opened; waiting for the peer to answer')
    // Also after the prompt went away (the chat is ending): never a spinner again.
    ui.stop()
    ui.stage('connecting', 'late stage')
    expect(made).toEqual([])
    expect(term.written()).toContain('* late stage')
  })
})

describe('what a settled line shows', () => {
  const alice = { key: 'a'.repeat(64), name: 'alice' }
  const bob = { key: 'b'.repeat(64), name: 'bob' }
  const line = (seq: number) => ({ seq, bytes: Buffer.from(`line ${seq}`) })

  it('✓ when everyone it went to has it, ◒ when some were reported not to, ✗ when all were (at once); a queued line is ✓ once the connection delivers it', () => {
    const term = fakeTerminal()
    const ui = new InteractiveUi({ output: term.output, stdin: term.stdin }, spinners().make)
    ui.start(controller)
    ui.printOwn('you: one', 1, [alice, bob])
    ui.printOwn('you: two', 2, [alice, bob])
    ui.printOwn('you: three', 3, [alice])
    ui.printOwn('you (queued): four', 4, [])
    ui.undelivered(alice, [line(2), line(3)], false)
    // Line 3 went to alice alone: lost at once. Line 2 waits for bob.
    ui.stop()
    expect(term.written()).toMatch(/✗/)
    expect(term.written()).not.toMatch(/[✓◒]/)
    ui.confirmed(4)
    const marks = [...term.written().matchAll(/[✓◒✗]/g)].map((m) => m[0])
    expect(marks).toEqual(['✗', '✓', '◒', '✓'])
    expect(term.written()).toContain('* not delivered to alice: 2 lines (#2 "line 2", #3 "line 3")')
  })
})
