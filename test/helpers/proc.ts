import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = fileURLToPath(new URL('../../bin/p2pchat.js', import.meta.url))
export const RAW_PEER = fileURLToPath(new URL('../fixtures/raw-peer.mjs', import.meta.url))

const live = new Set<Proc>()

/** A spawned process with its output collected, so tests can wait for text. */
export class Proc {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  stdoutBytes: Buffer[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private waiters: Array<() => void> = []

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    // NO_COLOR for plain output; FORCE_COLOR removed, not emptied: Node warns
    // on stderr when both are set, and in a terminal that warning lands in the
    // middle of a spinner's frames.
    const fullEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env }
    if (!('FORCE_COLOR' in env)) delete fullEnv.FORCE_COLOR
    this.child = spawn(cmd, args, {
      cwd: ROOT,
      env: fullEnv,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    live.add(this)
    this.child.stdout.on('data', (d: Buffer) => {
      this.stdoutBytes.push(d)
      this.stdout += d.toString('utf8')
      this.notify()
    })
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8')
      this.notify()
    })
    this.child.stdin.on('error', () => {})
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        live.delete(this)
        resolve({ code, signal })
        this.notify()
      })
    })
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** Waits until `pattern` appears in stdout or stderr (as chosen). */
  async waitFor(pattern: RegExp | string, where: 'stdout' | 'stderr' = 'stderr', timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = where === 'stdout' ? this.stdout : this.stderr
      const m = typeof pattern === 'string' ? (text.includes(pattern) ? ([pattern] as RegExpMatchArray) : null) : text.match(pattern)
      if (m) return m
      const left = deadline - Date.now()
      if (left <= 0 || this.child.exitCode !== null) {
        if (this.child.exitCode !== null) {
          // one last look after exit
          const t = where === 'stdout' ? this.stdout : this.stderr
          const m2 = typeof pattern === 'string' ? (t.includes(pattern) ? ([pattern] as RegExpMatchArray) : null) : t.match(pattern)
          if (m2) return m2
        }
        throw new Error(`timed out waiting for ${String(pattern)} on ${where}\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`)
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Waits until `check` (called on each output event) returns true. Cheap checks only: it runs often. */
  async waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      const left = deadline - Date.now()
      if (left <= 0 || this.child.exitCode !== null) {
        if (check()) return
        throw new Error(`timed out waiting for ${what}\n--- stdout (tail) ---\n${this.stdout.slice(-2000)}\n--- stderr (tail) ---\n${this.stderr.slice(-2000)}`)
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  write(text: string | Buffer): void {
    this.child.stdin.write(text)
  }

  end(text?: string): void {
    this.child.stdin.end(text)
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }

  async exit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`)), timeoutMs)
    })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

export type JsonEvent = Record<string, unknown> & { type: string }

/** The JSON events a --json process printed on stdout so far (its JSON lines), all or of one type. */
export function jsonEvents(proc: Proc, type?: string): JsonEvent[] {
  return proc.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent)
    .filter((e) => type === undefined || e.type === type)
}

export function p2pchat(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc(process.execPath, [BIN, ...args], env)
}

export function rawPeer(args: string[]): Proc {
  return new Proc(process.execPath, [RAW_PEER, ...args])
}

/** Kills whatever a test left running. */
export async function killAll(): Promise<void> {
  const procs = [...live]
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}

/** Starts `p2pchat listen` on a network and waits until it has announced its key. */
export async function startListener(bootstrap: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; key: string }> {
  const proc = p2pchat(['listen', '--bootstrap', bootstrap, ...extra], env)
  const key = (await proc.waitFor(/listening on ([0-9a-f]{64})/))[1]!
  await proc.waitFor('to chat, run')
  return { proc, key }
}
