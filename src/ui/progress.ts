import type { Output } from './output.js'

/** What a one-shot command (doctor) is waiting for, shown while it waits. */
export interface Progress {
  /** A new stage; `stallHint` replaces it if the stage is still running after a while. */
  stage(text: string, stallHint?: string): void
  /** Ends the display (a spinner is cleared; plain lines stay). */
  stop(): void
}

/**
 * On a terminal stderr: one spinner line naming the stage (ora, loaded only
 * then). Otherwise: a plain `* stage…` line per stage, and the hint once if a
 * stage stalls, so a log shows where it waited.
 */
export async function createProgress(output: Output, stallMs = 5000): Promise<Progress> {
  let stallTimer: NodeJS.Timeout | null = null
  const clearStall = () => {
    if (stallTimer) clearTimeout(stallTimer)
    stallTimer = null
  }
  const onStall = (hint: string | undefined, show: (hint: string) => void) => {
    clearStall()
    if (!hint) return
    stallTimer = setTimeout(() => show(hint), stallMs)
    stallTimer.unref()
  }

  if (!(output.stderr as { isTTY?: boolean }).isTTY) {
    return {
      stage(text, hint) {
        output.notice(text)
        onStall(hint, (h) => output.notice(h))
      },
      stop: clearStall
    }
  }
  const { default: ora } = await import('ora')
  // Never touch stdin (raw mode would swallow typing); animate whenever stderr is a terminal.
  const spinner = ora({ text: '', stream: output.stderr, discardStdin: false, isEnabled: true })
  return {
    stage(text, hint) {
      spinner.text = text
      if (!spinner.isSpinning) spinner.start()
      onStall(hint, (h) => {
        spinner.text = h
      })
    },
    stop() {
      clearStall()
      spinner.stop()
    }
  }
}
