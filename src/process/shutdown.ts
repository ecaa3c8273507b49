import { EXIT } from '../core/errors.js'

/** Why a command is stopping: a signal, the terminal or reader going away, or the user (/quit). */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'output-lost' | 'quit'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * A signal this soon after the one that started the shutdown is the same
 * request, not an impatient second one: GNU `timeout` signals the child and
 * then its process group, service managers signal whole groups, and a
 * terminal's Ctrl+C reaches every process of the foreground group. Exiting
 * at once on it would skip unannouncing. Measured when the handler runs, not
 * when the signal was sent, so a loaded machine stretches the gap: 250 ms
 * leaves room for that, and a person's impatient second Ctrl+C still comes
 * later (and a third one always does).
 */
export const REPEATED_SIGNAL_MS = 250

/** The stdout/stderr errors that mean nobody reads us any more (reader gone, terminal closed). */
export function isOutputLoss(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return code === 'EPIPE' || code === 'EIO'
}

let active: Shutdown | null = null

/**
 * For the top level's stdout/stderr error handler: hands a lost output to the
 * running command's shutdown, if one is installed (a listener must unannounce
 * before it goes). Returns false when nobody took it: then exit at once.
 */
export function routeOutputLoss(err: unknown): boolean {
  if (!active || !isOutputLoss(err)) return false
  active.stop('output-lost')
  return true
}

/**
 * The one way a long-running command (listen, connect, relay, bootstrap)
 * ends. Installed first thing in the command, so every phase (loading,
 * joining, announcing, serving) is covered: SIGINT, SIGTERM, SIGHUP and a lost
 * stdout/stderr all abort `signal`; each phase watches it, abandons what it
 * was waiting for and closes what it started. A second SIGINT or SIGTERM
 * exits at once (130), as users expect from a second Ctrl+C.
 */
export class Shutdown {
  private readonly controller = new AbortController()
  readonly signal: AbortSignal = this.controller.signal
  private readonly handlers = new Map<NodeJS.Signals, () => void>()
  /** Resolves with the reason on the first stop. */
  readonly stopped: Promise<StopReason>
  private resolveStopped!: (reason: StopReason) => void

  /** When a signal started the shutdown (ms), to tell a repeated signal from a second request. */
  private signalledAt: number | null = null

  constructor(
    private readonly proc: NodeJS.Process = process,
    private readonly now: () => number = Date.now
  ) {
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve
    })
    for (const sig of SIGNALS) {
      const handler = () => {
        const at = this.now()
        if (!this.signal.aborted) {
          this.signalledAt = at
          this.stop(sig)
          return
        }
        // The same request delivered twice (see REPEATED_SIGNAL_MS): the shutdown goes on.
        if (this.signalledAt !== null && at - this.signalledAt < REPEATED_SIGNAL_MS) return
        // Impatient: a second Ctrl+C (or TERM) leaves now. A HUP while
        // stopping (terminal closed meanwhile) lets the shutdown finish.
        if (sig !== 'SIGHUP') proc.exit(EXIT.INTERRUPTED)
      }
      this.handlers.set(sig, handler)
      proc.on(sig, handler)
    }
    active = this
  }

  get reason(): StopReason | null {
    return this.signal.aborted ? (this.signal.reason as StopReason) : null
  }

  /** Starts the shutdown (idempotent: the first reason wins). */
  stop(reason: StopReason): void {
    if (this.signal.aborted) return
    this.controller.abort(reason)
    this.resolveStopped(reason)
  }

  /**
   * Waits for `work`, or for a stop, whichever comes first: then `undefined`
   * (check `signal.aborted`). A failure of `work` before any stop propagates.
   */
  async race<T>(work: Promise<T>): Promise<T | undefined> {
    work.catch(() => {}) // if abandoned, its failure no longer matters
    return Promise.race([work, this.stopped.then(() => undefined)])
  }

  /**
   * Removes the signal handlers (stdout/stderr loss is still routed here until
   * the process exits). A command that was stopped is done: the process exits
   * next, and a signal arriving meanwhile (the rest of a repeated one) must not
   * kill it by the signal's default action, so such signals are ignored from
   * then on.
   */
  dispose(): void {
    for (const [sig, handler] of this.handlers) this.proc.off(sig, handler)
    this.handlers.clear()
    if (this.signal.aborted) ignoreSignals(this.proc)
  }
}

const ignoring = new WeakSet<object>()

/**
 * Ends the process by `sig`, its default action (the way a hung-up program
 * ends), even after ignoreSignals().
 */
export function endBySignal(sig: NodeJS.Signals, proc: NodeJS.Process = process): void {
  proc.removeAllListeners(sig)
  proc.kill(proc.pid, sig)
}

/** From now on, SIGINT, SIGTERM and SIGHUP do nothing in this process (it is about to exit). */
function ignoreSignals(proc: NodeJS.Process): void {
  if (ignoring.has(proc)) return
  ignoring.add(proc)
  for (const sig of SIGNALS) proc.on(sig, () => {})
}

/**
 * Runs a long-running command with its shutdown installed first (before
 * anything that can block) and removed however the command ends.
 */
export async function withShutdown<T>(run: (shutdown: Shutdown) => Promise<T>): Promise<T> {
  const shutdown = installShutdown()
  try {
    return await run(shutdown)
  } finally {
    shutdown.dispose()
  }
}

/** Installs the shutdown of a long-running command. Call it before anything that can block. */
export function installShutdown(proc: NodeJS.Process = process): Shutdown {
  return new Shutdown(proc)
}
