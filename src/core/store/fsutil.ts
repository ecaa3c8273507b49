import { randomBytes } from 'node:crypto'
import { constants as fsConstants, type Stats } from 'node:fs'
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/**
 * Every file p2pchat reads or writes goes through this module, so three
 * things hold everywhere: nothing blocks on a special file, a system error
 * reaches the user as what to do (not `ENOENT: … open '…tmp'`), and a
 * read-modify-write of a shared file is done under a lock.
 */

/** A file operation that failed, with a one-line reason fit for the user. */
export class FileError extends Error {
  /** The errno code (ENOENT, EACCES…), or ENOTREG / EFBIG / ELOCKED for p2pchat's own refusals. */
  readonly code: string
  readonly file: string
  /** What went wrong, without the path of the file itself: e.g. "permission denied". */
  readonly reason: string

  constructor(code: string, file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options)
    this.name = 'FileError'
    this.code = code
    this.file = file
    this.reason = reason
  }
}

/** What a stat says a path is, in words ("a FIFO (named pipe)"). */
export function describeKind(stat: Stats): string {
  if (stat.isFile()) return 'a regular file'
  if (stat.isDirectory()) return 'a directory'
  if (stat.isFIFO()) return 'a FIFO (named pipe)'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice()) return 'a character device'
  if (stat.isBlockDevice()) return 'a block device'
  if (stat.isSymbolicLink()) return 'a symbolic link'
  return 'a special file'
}

/**
 * The one translation of a file system error into words. `file` is the file
 * the operation was about; for errors caused by a parent (ENOTDIR, a parent
 * that is a file) the culprit is found and named.
 */
export function explainFsError(err: unknown, file: string): FileError {
  if (err instanceof FileError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? ''
  const make = (reason: string) => new FileError(code || 'EIO', file, reason, { cause: err })
  switch (code) {
    case 'ENOENT':
      return make('it does not exist')
    case 'EACCES':
    case 'EPERM': {
      // A directory that could not be made: the one to check is where it was to be made.
      const failed = (err as NodeJS.ErrnoException).syscall === 'mkdir' ? (err as NodeJS.ErrnoException).path : undefined
      if (failed) return make(`permission denied (check the permissions of ${path.dirname(failed)})`)
      return make(`permission denied (check the permissions of the file and of ${path.dirname(file)})`)
    }
    case 'ENOTDIR':
    case 'EEXIST': {
      const blocker = nonDirectoryAncestor(file)
      if (blocker) return new FileError('ENOTDIR', file, `${blocker} is not a directory`, { cause: err })
      return code === 'EEXIST' ? make('it already exists') : make('a part of the path is not a directory')
    }
    case 'EISDIR':
      return make('it is a directory; give the path of a file')
    case 'ENOSPC':
      return make('no space left on the device; free some space and try again')
    case 'EDQUOT':
      return make('the disk quota is exceeded; free some space and try again')
    case 'EROFS':
      return make('the file system is read-only')
    case 'ELOOP':
      return make('too many levels of symbolic links (a symlink loop?)')
    case 'ENAMETOOLONG':
      return make('the path is too long')
    case 'EMFILE':
    case 'ENFILE':
      return make('too many open files; close some programs and try again')
    case 'ENXIO':
      return make('it is a socket or a device with nothing behind it, not a regular file')
    case 'EBUSY':
    case 'ETXTBSY':
      return make('it is busy (in use by the system)')
    case 'EIO':
      return make('an input/output error occurred (a failing disk?)')
    default: {
      // Unknown: keep the system's words but never its temp-file paths or line breaks.
      const text = err instanceof Error ? err.message.replace(/,\s*\w+\s+'.*$/s, '').replace(/\s+/g, ' ').trim() : String(err)
      return make(text || 'unknown error')
    }
  }
}

function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string'
}

/** The nearest existing ancestor of `file` that is not a directory, if any. */
function nonDirectoryAncestor(file: string): string | null {
  let dir = path.dirname(path.resolve(file))
  const chain: string[] = []
  for (;;) {
    chain.unshift(dir)
    const parent = path.dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  for (const d of chain) {
    let stat: Stats
    try {
      stat = fsSync.statSync(d)
    } catch {
      return null // a missing ancestor is ENOENT, not this
    }
    if (!stat.isDirectory()) return d
  }
  return null
}

/**
 * `mkdir -p` with mode 0700, whose errors say what is true. Node 20's
 * recursive mkdir reports ENOENT for any error it does not expect while
 * making a missing directory (EROFS, EDQUOT, ELOOP…: it then stats that
 * directory, which does not exist), and names the whole path, not the
 * directory that failed. So when it fails, the directories are made again one
 * at a time from the root, and the first failure is the kernel's own error
 * for that one mkdir (EROFS: the file system is read-only; EACCES, naming
 * where; ENOTDIR…), or, when a directory on the way is a symbolic link to
 * nothing, a FileError saying so.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    return
  } catch {
    // Found out below, one directory at a time.
  }
  const chain: string[] = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chain.unshift(d)
    if (path.dirname(d) === d) break
  }
  for (const d of chain) {
    try {
      await fs.mkdir(d, { mode: 0o700 })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') continue // there already (a file there fails at the next one: ENOTDIR)
      if (code === 'ENOENT') throw (await danglingLink(path.dirname(d), err)) ?? err
      throw err
    }
  }
}

/** A FileError when `dir` is a symbolic link whose target does not exist, else null. */
async function danglingLink(dir: string, cause: unknown): Promise<FileError | null> {
  const target = await fs.readlink(dir).catch(() => null)
  if (target === null) return null
  return new FileError('ENOENT', dir, `${dir} is a symbolic link to ${target}, which does not exist`, { cause })
}

/**
 * Reads a regular file, never blocking on anything else. It is opened with
 * O_NONBLOCK, so opening a FIFO returns at once instead of waiting for a
 * writer; the open handle is then fstat-ed (no check-then-open race) and
 * anything but a regular file (FIFO, socket, device, directory) is refused,
 * as is a file over `maxBytes`. Throws FileError.
 */
export async function readRegularFile(
  file: string,
  opts: { maxBytes: number; /** Runs on the open file's stat before the size check and the read; may throw. */ check?: (stat: Stats) => void }
): Promise<{ text: string; stat: Stats }> {
  if (file === '') throw new FileError('ENOENT', file, 'the path is empty')
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (fsConstants.O_NOCTTY ?? 0))
  } catch (err) {
    // A socket cannot be opened at all (ENXIO): say what it is.
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
      const kind = await fs.stat(file).then(describeKind, () => null)
      if (kind) throw new FileError('ENOTREG', file, `it is ${kind}, not a regular file`, { cause: err })
    }
    throw explainFsError(err, file)
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new FileError('ENOTREG', file, `it is ${describeKind(stat)}, not a regular file`)
    opts.check?.(stat)
    if (stat.size > opts.maxBytes) throw new FileError('EFBIG', file, `it is too large (${stat.size} bytes; at most ${opts.maxBytes})`)
    // Read at most maxBytes + 1: a file that grows while we read is still capped.
    const buf = Buffer.alloc(opts.maxBytes + 1)
    let filled = 0
    for (;;) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
      if (filled === buf.length) throw new FileError('EFBIG', file, `it is too large (over ${opts.maxBytes} bytes)`)
    }
    return { text: buf.subarray(0, filled).toString('utf8'), stat }
  } catch (err) {
    // Only system errors are translated; a refusal from check() passes through as it is.
    throw isSystemError(err) ? explainFsError(err, file) : err
  } finally {
    await handle.close().catch(() => {})
  }
}

/**
 * Writes a 0600 file atomically: a temp file in the same directory, fsynced,
 * then linked into place (never replacing) or, with overwrite, renamed over
 * the old one. A crash leaves the old file or the new one, never half of one.
 * The directory is created 0700. Throws FileError (code EEXIST without
 * overwrite when the file exists; EISDIR when it is a directory).
 */
export async function writeFileAtomic(file: string, data: string, opts: { overwrite: boolean }): Promise<void> {
  if (file === '') throw new FileError('ENOENT', file, 'the path is empty')
  const dir = path.dirname(file)
  try {
    await makeDirs(dir)
    const target = await fs.stat(file).catch(() => null)
    if (target?.isDirectory()) throw new FileError('EISDIR', file, 'it is a directory; give the path of a file')
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    try {
      const handle = await fs.open(tmp, 'wx', 0o600)
      try {
        await handle.writeFile(data)
        await handle.sync()
      } finally {
        await handle.close()
      }
      // link() fails with EEXIST instead of replacing: no check-then-write race.
      if (opts.overwrite) await fs.rename(tmp, file)
      else await fs.link(tmp, file)
    } finally {
      await fs.rm(tmp, { force: true })
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && !(err instanceof FileError)) {
      // From link(): the target exists. (mkdir's EEXIST is a parent that is a file: explained below.)
      const blocker = nonDirectoryAncestor(file)
      if (!blocker) throw new FileError('EEXIST', file, 'it already exists', { cause: err })
    }
    throw explainFsError(err, file)
  }
  await syncDir(dir)
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, fsConstants.O_RDONLY)
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Best effort: some filesystems cannot fsync a directory.
  }
}

export interface LockOptions {
  /** Give up waiting for another process's lock after this long (default 10 s). */
  waitMs?: number
  /** A lock older than this is broken even if its owner seems alive (default 30 s). */
  staleMs?: number
}

interface LockRecord {
  pid: number
  host: string
  time: number
  nonce: string
}

/**
 * Runs `fn` while holding an exclusive lock on `file` across processes:
 * `<file>.lock`, created with O_EXCL (link of a complete temp file, so a lock
 * is never seen half-written), holding {pid, host, time}. A lock whose owner
 * is dead (same host, no such pid) or that is older than `staleMs` is broken.
 * Waits up to `waitMs`, then throws FileError ELOCKED naming the owner.
 * `fn` must re-read the file inside the lock and write it atomically.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const waitMs = opts.waitMs ?? 10_000
  const staleMs = opts.staleMs ?? 30_000
  const lock = `${file}.lock`
  const dir = path.dirname(file)
  try {
    await makeDirs(dir)
  } catch (err) {
    throw explainFsError(err, file)
  }
  const mine: LockRecord = { pid: process.pid, host: os.hostname(), time: Date.now(), nonce: randomBytes(8).toString('hex') }
  const deadline = Date.now() + waitMs
  for (;;) {
    mine.time = Date.now()
    if (await tryCreateLock(lock, mine)) break
    const owner = await readLock(lock)
    if (owner === undefined) continue // vanished meanwhile: try again at once
    if (isStale(owner, lock, staleMs) && (await breakLock(lock, owner))) continue
    if (Date.now() >= deadline) {
      const who = owner ? `process ${owner.pid} on ${owner.host} since ${new Date(owner.time).toISOString()}` : 'another process'
      throw new FileError('ELOCKED', file, `it is locked by ${who} (lock file ${lock}); if no p2pchat is running, remove the lock file`)
    }
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40))
  }
  try {
    return await fn()
  } finally {
    // Remove it only if it is still ours (a stale-breaker may have taken it).
    const now = await readLock(lock)
    if (now && now.nonce === mine.nonce) await fs.rm(lock, { force: true }).catch(() => {})
  }
}

async function tryCreateLock(lock: string, record: LockRecord): Promise<boolean> {
  const tmp = `${lock}.${record.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await fs.writeFile(tmp, JSON.stringify(record), { flag: 'wx', mode: 0o600 })
    await fs.link(tmp, lock)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw explainFsError(err, lock)
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => {})
  }
}

/** The lock's record; null if unreadable or not ours to parse; undefined if it is gone. */
async function readLock(lock: string): Promise<LockRecord | null | undefined> {
  try {
    const { text } = await readRegularFile(lock, { maxBytes: 4096 })
    const data = JSON.parse(text) as Partial<LockRecord>
    if (typeof data.pid !== 'number' || typeof data.time !== 'number') return null
    return { pid: data.pid, host: String(data.host ?? ''), time: data.time, nonce: String(data.nonce ?? '') }
  } catch (err) {
    if (err instanceof FileError && err.code === 'ENOENT') return undefined
    return null
  }
}

function isStale(owner: LockRecord | null, lock: string, staleMs: number): boolean {
  if (owner && owner.host === os.hostname() && !pidAlive(owner.pid)) return true
  const time = owner?.time ?? lockMtime(lock)
  return time !== null && Date.now() - time > staleMs
}

function lockMtime(lock: string): number | null {
  try {
    return fsSync.statSync(lock).mtimeMs
  } catch {
    return null
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes a stale lock without removing a fresh one that replaced it: the
 * judgement may rest on an old read (its owner finished and exited, and
 * someone else holds the lock now). So breakers take turns through
 * `<lock>.break` (O_EXCL), and under it re-read the lock and remove it only
 * if it is still the very record judged stale. Nobody can create a new lock
 * while the stale one is in place, so nothing fresh is removed. A `.break`
 * file older than 5 s belongs to a breaker that died and is removed.
 * Returns true when the stale lock was removed.
 */
async function breakLock(lock: string, judged: LockRecord | null): Promise<boolean> {
  const breaker = `${lock}.break`
  try {
    await fs.writeFile(breaker, String(process.pid), { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw explainFsError(err, lock)
    const since = lockMtime(breaker)
    if (since !== null && Date.now() - since > 5000) await fs.rm(breaker, { force: true }).catch(() => {})
    return false
  }
  try {
    const now = await readLock(lock)
    if (now === undefined) return true // gone meanwhile
    const same = judged === null ? now === null : now !== null && now.nonce === judged.nonce && now.pid === judged.pid && now.time === judged.time
    if (!same) return false
    await fs.rm(lock, { force: true })
    return true
  } finally {
    await fs.rm(breaker, { force: true }).catch(() => {})
  }
}

/**
 * Calls `onChange` when a file changes (content, size, or replacement by a
 * rename-on-save), by polling: it works across editors and does not need the
 * file to exist yet. Calls never overlap: a change during a running call runs
 * it once more afterwards. Returns a function that stops watching.
 */
export function watchFile(file: string, onChange: () => Promise<void> | void, intervalMs = 250): () => void {
  let running = false
  let again = false
  let stopped = false
  const run = async () => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      do {
        again = false
        // onChange reports its own errors; one must not stop the watching.
        await Promise.resolve().then(onChange).catch(() => {})
      } while (again && !stopped)
    } finally {
      running = false
    }
  }
  const listener = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return
    if (!stopped) void run()
  }
  fsSync.watchFile(file, { interval: intervalMs, persistent: false }, listener)
  return () => {
    stopped = true
    // Only our listener: another watcher of the same path keeps its own.
    fsSync.unwatchFile(file, listener)
  }
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}
