import { EXIT } from '../core/errors.js'

/**
 * First SIGINT/SIGTERM: run `graceful` (once). A second one: exit at once,
 * as users expect from a second Ctrl+C.
 */
export function onInterrupt(graceful: () => void): () => void {
  let count = 0
  const handler = () => {
    count++
    if (count === 1) graceful()
    else process.exit(EXIT.INTERRUPTED)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}
