/*
 * A room's forwarded lines toward one member. The listener forwards every
 * member's lines to the others; a member that sends faster than another can
 * take must cost only itself: never the receiver's connection (which is
 * dropped past maxQueueBytes, see PeerConnection) and never the other
 * members' lines or the listener's own.
 *
 * So forwarded lines never go straight into a receiver's stream past a mark.
 * Above it they wait in one small queue per sender; the queues share a
 * budget per receiver, and when it is exceeded the longest queue (the
 * fastest sender's) loses its newest lines, counted, whoever sent last. The
 * stream is refilled from the queues in turn, a quantum each, whenever it
 * drains, so one sender's backlog delays nobody else's line by more than a
 * quantum, and what waits stays here (fair, droppable), not in the stream. The
 * listener's own lines (and the room's notices) do not pass through here:
 * they are written at once, ahead of whatever waits.
 */

/**
 * Forwarded bytes are written into a receiver's stream only while fewer than
 * this many are queued there. Kept well under the soft mark
 * (DEFAULT_SOFT_QUEUE_BYTES, 256 KiB) even with a whole maximal line on top,
 * so forwarding alone never makes a receiver backlogged (which would pause
 * the listener's own input) and never comes near maxQueueBytes (1 MiB,
 * where the receiver is dropped).
 */
export const FORWARD_MARK_BYTES = 128 * 1024
/** Most forwarded bytes waiting for one receiver, all senders together; past it the longest queue is cut. */
export const FORWARD_BUDGET_BYTES = 256 * 1024
/** What one sender's turn writes at most (whole lines; at least one): a waiting line from another sender comes after at most this much. */
const QUANTUM_BYTES = 16 * 1024
/**
 * While lines wait and the stream did not ask for 'drain' (it is over the
 * mark because of the listener's own lines, or its transport's queue is
 * full while the encrypted stream's is not): how often to look again.
 */
const PUMP_RETRY_MS = 10

const NEWLINE = 0x0a

/** What a forwarder writes into: a member's connection (PeerConnection). */
export interface ForwardTarget {
  readonly queuedBytes: number
  readonly isClosed: boolean
  /** false: wait for 'drain' before writing more. */
  sendBoundedRaw(data: Uint8Array): boolean
  on(event: 'drain', listener: () => void): unknown
  off(event: 'drain', listener: () => void): unknown
}

export interface ForwarderOptions<S> {
  /** `lines` forwarded lines from `sender` were dropped for this receiver. */
  onDropped: (sender: S, lines: number) => void
  markBytes?: number
  budgetBytes?: number
}

/** One sender's waiting lines for one receiver: whole `\n`-terminated lines, oldest first. */
class SenderQueue {
  private items: Buffer[] = []
  private head = 0
  bytes = 0

  push(data: Buffer): void {
    this.items.push(data)
    this.bytes += data.byteLength
  }

  /** Takes whole lines from the front, up to `limit` bytes (at least one line). */
  take(limit: number): Buffer {
    const parts: Buffer[] = []
    let taken = 0
    while (this.head < this.items.length) {
      const item = this.items[this.head]!
      const room = limit - taken
      if (item.byteLength <= room) {
        parts.push(item)
        taken += item.byteLength
        this.head++
        continue
      }
      // Cut at the last line end that fits; the first line goes whole, however long.
      let cut = room > 0 ? item.lastIndexOf(NEWLINE, room - 1) + 1 : 0
      if (cut === 0 && taken === 0) cut = item.indexOf(NEWLINE) + 1 || item.byteLength
      if (cut > 0) {
        parts.push(item.subarray(0, cut))
        this.items[this.head] = item.subarray(cut)
        taken += cut
      }
      break
    }
    this.compact()
    this.bytes -= taken
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, taken)
  }

  /** Drops whole lines from the back (the newest) until at least `bytes` are gone or nothing is left. */
  dropNewest(bytes: number): { bytes: number; lines: number } {
    let dropped = 0
    let lines = 0
    while (dropped < bytes && this.items.length > this.head) {
      const last = this.items.length - 1
      const item = this.items[last]!
      // Lines end with \n: the line before the last ends at the previous one.
      const start = item.byteLength > 1 ? item.lastIndexOf(NEWLINE, item.byteLength - 2) + 1 : 0
      dropped += item.byteLength - start
      lines++
      if (start === 0) this.items.pop()
      else this.items[last] = item.subarray(0, start)
    }
    // What is left of a cut item is copied: a view would keep the whole batch (up to the sender's burst) in memory.
    const last = this.items.length - 1
    if (dropped > 0 && last >= this.head && this.items[last]!.buffer.byteLength > this.items[last]!.byteLength * 2) {
      this.items[last] = Buffer.from(this.items[last]!)
    }
    this.bytes -= dropped
    this.compact()
    return { bytes: dropped, lines }
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/**
 * The forwarded lines toward one receiver: written at once while its stream
 * is under the mark, else queued per sender (see the top of this file).
 */
export class Forwarder<S> {
  private readonly queues = new Map<S, SenderQueue>()
  /** Senders with lines waiting, in turn order. */
  private readonly turns: S[] = []
  private turn = 0
  private waiting = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false
  /** The stream's last write asked us to wait for 'drain'. */
  private blocked = false
  private readonly markBytes: number
  private readonly budgetBytes: number
  private readonly onDrain = () => {
    this.blocked = false
    this.pump()
  }

  constructor(
    private readonly target: ForwardTarget,
    private readonly opts: ForwarderOptions<S>
  ) {
    this.markBytes = opts.markBytes ?? FORWARD_MARK_BYTES
    this.budgetBytes = opts.budgetBytes ?? FORWARD_BUDGET_BYTES
    target.on('drain', this.onDrain)
  }

  /** Bytes waiting here (not yet in the receiver's stream). */
  get waitingBytes(): number {
    return this.waiting
  }

  /** Forwards whole `\n`-terminated lines from `sender`. */
  push(sender: S, data: Buffer): void {
    if (this.closed || this.target.isClosed || data.byteLength === 0) return
    // Nothing waits and there is room: straight in (the common case: no copy, no queue).
    if (this.waiting === 0 && !this.blocked && this.target.queuedBytes + data.byteLength <= this.markBytes) {
      if (!this.target.sendBoundedRaw(data)) this.blocked = true
      return
    }
    let queue = this.queues.get(sender)
    if (!queue) {
      queue = new SenderQueue()
      this.queues.set(sender, queue)
    }
    if (queue.bytes === 0) this.turns.push(sender)
    queue.push(data)
    this.waiting += data.byteLength
    this.enforceBudget()
    this.pump()
  }

  /** Over budget: the longest queue loses its newest lines until the total fits. */
  private enforceBudget(): void {
    const dropped = new Map<S, number>()
    while (this.waiting > this.budgetBytes) {
      let longest: S | null = null
      let most = 0
      for (const sender of this.turns) {
        const bytes = this.queues.get(sender)!.bytes
        if (bytes > most) {
          most = bytes
          longest = sender
        }
      }
      if (longest === null) break
      const queue = this.queues.get(longest)!
      const cut = queue.dropNewest(this.waiting - this.budgetBytes)
      this.waiting -= cut.bytes
      dropped.set(longest, (dropped.get(longest) ?? 0) + cut.lines)
      if (queue.bytes === 0) this.leaveTurns(longest)
    }
    for (const [sender, lines] of dropped) this.opts.onDropped(sender, lines)
  }

  /**
   * Moves waiting lines into the stream, a quantum per sender in turn, while
   * it is under the mark and takes more without asking for 'drain'.
   */
  private pump(): void {
    if (this.closed || this.waiting === 0 || this.blocked) return
    if (this.target.isClosed) return this.close()
    let room = this.markBytes - this.target.queuedBytes
    while (room > 0 && this.turns.length > 0) {
      if (this.turn >= this.turns.length) this.turn = 0
      const sender = this.turns[this.turn]!
      const queue = this.queues.get(sender)!
      const data = queue.take(Math.min(QUANTUM_BYTES, room))
      this.waiting -= data.byteLength
      if (queue.bytes === 0) this.leaveTurns(sender)
      else this.turn++
      const more = this.target.sendBoundedRaw(data)
      if (this.target.isClosed) return this.close()
      room -= data.byteLength
      if (!more) {
        // 'drain' calls again.
        this.blocked = true
        return
      }
    }
    if (this.waiting > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.pump()
      }, PUMP_RETRY_MS)
      this.timer.unref()
    }
  }

  private leaveTurns(sender: S): void {
    const at = this.turns.indexOf(sender)
    if (at === -1) return
    this.turns.splice(at, 1)
    if (at < this.turn) this.turn--
    this.queues.delete(sender)
  }

  /** The receiver left: what waits for it is dropped, silently (it is gone). */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.target.off('drain', this.onDrain)
    this.queues.clear()
    this.turns.length = 0
    this.waiting = 0
  }
}
