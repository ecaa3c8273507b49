import type { default as DHT, KeyPair } from 'hyperdht'
import { ChatError } from '../errors.js'
import { PeerConnection, type PeerOptions } from '../peer/connection.js'

export interface DialOptions extends PeerOptions {
  keyPair?: KeyPair
  /** Relays to use for this attempt (hyperdht's relayThrough). */
  relayThrough?: Buffer[]
  /** Give up when the peer has not answered by then. */
  timeoutMs: number
  /** After hyperdht reports 'open', how long to wait for the peer's stream header. */
  confirmMs?: number
}

/**
 * Dials `remoteKey`. The PeerConnection is returned at once so that lines can
 * be written before the connection opens (the stream queues them, in order,
 * with backpressure); `ready` settles when the peer has answered or failed.
 */
export function dial(dht: DHT, remoteKey: Buffer, opts: DialOptions): { peer: PeerConnection; ready: Promise<void> } {
  const stream = dht.connect(remoteKey, {
    ...(opts.keyPair ? { keyPair: opts.keyPair } : {}),
    ...(opts.relayThrough?.length ? { relayThrough: opts.relayThrough.length === 1 ? opts.relayThrough[0]! : opts.relayThrough } : {})
  })
  const peer = new PeerConnection(stream, opts)
  const confirmMs = opts.confirmMs ?? DEFAULT_CONFIRM_MS

  const ready = new Promise<void>((resolve, reject) => {
    let poll: NodeJS.Timeout | null = null
    const deadline = setTimeout(() => fail(ChatError.timeout(opts.timeoutMs)), opts.timeoutMs)
    const cleanup = () => {
      clearTimeout(deadline)
      if (poll) clearInterval(poll)
      peer.off('close', onclose)
    }
    const fail = (error: ChatError) => {
      cleanup()
      peer.destroy(error)
      reject(error)
    }
    const onclose = (error: ChatError | null) => {
      fail(error ?? ChatError.closedBeforeOpen())
    }
    peer.on('close', onclose)
    stream.once('open', () => {
      const openedAt = Date.now()
      const check = () => {
        if (peer.heardFromPeer) {
          cleanup()
          peer.markConfirmed()
          resolve()
        } else if (Date.now() - openedAt >= confirmMs) {
          fail(ChatError.halfOpen(Math.round(confirmMs / 1000)))
        }
      }
      poll = setInterval(check, CONFIRM_POLL_MS)
      check()
    })
  })
  return { peer, ready }
}

const DEFAULT_CONFIRM_MS = 8000
// Short: on a working connection the peer's header is there within a round trip.
const CONFIRM_POLL_MS = 2
