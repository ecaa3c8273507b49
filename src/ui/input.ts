import { DEFAULT_MAX_LINE_BYTES, LineDecoder, type Line } from '../core/peer/framing.js'
import type { ChatController, Sent, UiOptions } from './chat-ui.js'
import { lineNotice } from './format.js'

export interface LineSource {
  pause(): void
  resume(): void
  stop(): void
}

/**
 * Reads lines from an input stream (stdin), handing over all the lines of a
 * chunk at once (so they can be sent in one write). `onLines` returns false
 * to ask for a pause (backpressure); the caller resumes when it has drained.
 */
function readLines(
  input: NodeJS.ReadableStream,
  maxLineBytes: number,
  onLines: (lines: Line[]) => boolean | void,
  onEnd: () => void
): LineSource {
  const decoder = new LineDecoder(maxLineBytes)
  let stopped = false
  const ondata = (chunk: Buffer | string) => {
    if (stopped) return
    const lines = decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    if (lines.length > 0 && onLines(lines) === false) input.pause()
  }
  const onend = () => {
    if (stopped) return
    const last = decoder.end()
    if (last.length > 0) onLines(last)
    stopped = true
    onEnd()
  }
  input.on('data', ondata)
  input.on('end', onend)
  // A closed or broken stdin is just the end of input.
  input.on('error', onend)
  return {
    pause: () => input.pause(),
    resume: () => {
      if (!stopped) input.resume()
    },
    stop: () => {
      stopped = true
      input.off('data', ondata)
      input.off('end', onend)
      input.pause()
      const maybeDestroy = input as NodeJS.ReadableStream & { destroy?: () => void }
      maybeDestroy.destroy?.()
    }
  }
}

/** stdin lines → controller, raw bytes, with backpressure. Shared by pipe and JSON modes. */
export function startRawInput(
  opts: UiOptions,
  controller: ChatController,
  onCut: (notice: string) => void,
  onSent: (lines: Uint8Array[], sent: Sent) => void = () => {}
): LineSource {
  // Lines nobody received are reported at once, then at most every few
  // seconds with a count: a big pipe into an empty room is one notice per
  // interval, not one per chunk.
  const now = opts.now ?? Date.now
  let unsent = { lines: 0, reason: '', reportedAt: -Infinity }
  let timer: NodeJS.Timeout | null = null
  let toldHeld = false
  const reportUnsent = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (unsent.lines === 0) return
    onCut(`${unsent.reason}: ${unsent.lines === 1 ? 'line' : `${unsent.lines} lines`} not sent`)
    unsent = { lines: 0, reason: '', reportedAt: now() }
  }
  const source = readLines(
    opts.stdin,
    DEFAULT_MAX_LINE_BYTES,
    (lines) => {
      for (const line of lines) {
        const notice = lineNotice(line, 'sent')
        if (notice) onCut(notice)
      }
      const bytes = lines.map((l) => l.bytes)
      const sent = controller.send(bytes)
      onSent(bytes, sent)
      if (sent.fate === 'queued' && controller.role === 'listen' && !toldHeld) {
        toldHeld = true
        onCut(HELD_NOTICE)
      }
      if (sent.fate === 'dropped') {
        if (unsent.lines > 0 && unsent.reason !== sent.reason) reportUnsent()
        unsent.lines += lines.length
        unsent.reason = sent.reason ?? 'nobody to send to'
        const wait = unsent.reportedAt + UNSENT_REPORT_MS - now()
        if (wait <= 0) reportUnsent()
        else timer ??= setTimeout(reportUnsent, wait).unref()
      } else {
        reportUnsent()
      }
      return !sent.wait
    },
    () => {
      reportUnsent()
      controller.inputEnded()
    }
  )
  return {
    ...source,
    stop: () => {
      // Stopping is the end of the session: say now what was not sent, never after it.
      reportUnsent()
      source.stop()
    }
  }
}

const UNSENT_REPORT_MS = 2000

/** A listener fed by a pipe, before anyone joined. */
const HELD_NOTICE = 'no peer has joined yet: piped lines wait for the first one (up to 4 MiB; reading pauses past 256 KiB)'

