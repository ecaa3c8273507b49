import { LineDecoder, type Line } from '../core/peer/framing.js'

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
export function readLines(
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
