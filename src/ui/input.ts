import { LineDecoder, type Line } from '../core/framing.js'

export interface LineSource {
  pause(): void
  resume(): void
  stop(): void
}

/**
 * Reads lines from an input stream (stdin). `onLine` returns false to ask
 * for a pause (backpressure); the caller resumes when it has drained.
 */
export function readLines(
  input: NodeJS.ReadableStream,
  maxLineBytes: number,
  onLine: (line: Line) => boolean | void,
  onEnd: () => void
): LineSource {
  const decoder = new LineDecoder(maxLineBytes)
  let stopped = false
  const ondata = (chunk: Buffer | string) => {
    if (stopped) return
    const lines = decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    let wantPause = false
    for (const line of lines) if (onLine(line) === false) wantPause = true
    if (wantPause) input.pause()
  }
  const onend = () => {
    if (stopped) return
    for (const line of decoder.end()) onLine(line)
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
