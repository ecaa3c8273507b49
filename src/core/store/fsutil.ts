import { randomBytes } from 'node:crypto'
import { constants as fsConstants, type Stats } from 'node:fs'
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
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
  /** Give up waiting for a live lock after this long (default 10 s). */
  waitMs?: number
  /** Whatever is at the lock path and was not touched for this long is stale (default 5 s; at least 2 s). */
  staleMs?: number
}

/** How long a command waits for a lock held by a live process. */
const LOCK_WAIT_MS = 10_000
/**
 * A holder touches its lock every LOCK_REFRESH_MS, so a lock untouched for
 * LOCK_STALE_MS belongs to a process that died (or froze that long). The
 * stale bound is under the wait, so a dead process's lock never makes a
 * command fail: it is taken over within LOCK_STALE_MS.
 */
const LOCK_STALE_MS = 5_000
const LOCK_REFRESH_MS = 1_000
/** proper-lockfile may date a new lock up to 1 s ahead (on a file system with whole-second times). */
const MIN_STALE_MS = 2_000

/**
 * Runs `fn` while holding an exclusive lock on `file` across processes, then
 * releases it. `fn` must re-read the file inside the lock and write it
 * atomically. The lock is proper-lockfile's: a directory `<file>.lock` made
 * with mkdir (atomic), whose mtime its holder refreshes every second, and
 * which is removed on release and when the process exits.
 *
 * Whatever is found at the lock path is judged by its own age (lstat: a
 * symbolic link is never followed, a FIFO never opened): a directory from a
 * live p2pchat, a lock file of an older p2pchat, a symbolic link (dangling or
 * a loop), a FIFO, a socket. Touched within `staleMs`: live, waited for.
 * Older (or dated more than `staleMs` ahead): stale, removed and the lock
 * taken, except a directory with something in it, which is not a lock of
 * ours and is never removed (FileError ELOCKED saying so). The wait is
 * bounded by `waitMs` in every case: then FileError ELOCKED names the lock
 * path. Errors making the lock (a read-only file system, permissions) are
 * FileErrors about `file`.
 *
 * proper-lockfile's own stale takeover is turned off (stale: Infinity): it
 * removes what it judged stale by path, so two processes that judge the same
 * stale lock can both end up holding it (node-proper-lockfile issue #121,
 * open); and it cannot judge a symbolic link or remove a file. Takeovers are
 * made here instead, one at a time (see takeOver).
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const waitMs = opts.waitMs ?? LOCK_WAIT_MS
  const staleMs = Math.max(opts.staleMs ?? LOCK_STALE_MS, MIN_STALE_MS)
  const lock = `${path.resolve(file)}.lock`
  try {
    await makeDirs(path.dirname(file))
  } catch (err) {
    throw explainFsError(err, file)
  }
  // Loaded here, not at startup: only commands that change the address book need it.
  const lockfile = await import('proper-lockfile')
  let compromised: Error | null = null
  const deadline = Date.now() + waitMs
  let release: () => Promise<void>
  for (;;) {
    try {
      release = await lockfile.lock(file, {
        realpath: false, // the file need not exist yet
        lockfilePath: lock,
        stale: Infinity, // never taken over by proper-lockfile itself: see above
        update: LOCK_REFRESH_MS,
        retries: 0, // the wait is ours, with its deadline
        onCompromised: (err) => {
          compromised = err
        }
      })
      break
    } catch (err) {
      const found = await lockEntry(lock, lock)
      // Nothing there: the mkdir itself failed (a read-only file system, permissions…).
      if (!found && (err as NodeJS.ErrnoException).code !== 'ELOCKED') throw explainFsError(err, file)
      const stale = found !== null && isStaleEntry(found, staleMs)
      if (stale && (await takeOver(lock, found, staleMs))) continue
      if (Date.now() >= deadline) {
        if (!found) throw new FileError('ELOCKED', file, `its lock ${lock} kept appearing and vanishing for ${waitMs / 1000} s; try again`)
        if (stale) throw new FileError('ELOCKED', file, `its lock ${lock} (${describeKind(found)}) is stale, but another process kept taking it over for ${waitMs / 1000} s; try again`)
        throw new FileError('ELOCKED', file, `it is locked by another process: ${lock} (${describeKind(found)}) was touched ${ago(found)}; if no p2pchat is running, remove it`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 50))
    }
  }
  try {
    const result = await fn()
    if (compromised) {
      throw new FileError('ELOCKED', file, `its lock ${lock} was taken over by another process while this one held it (it was not refreshed for ${staleMs / 1000} s): check the file, the change may be lost`)
    }
    return result
  } finally {
    await release().catch(() => {}) // already released if compromised
  }
}

/** What is at `entry` (the lock path or its `.break`), not following a symbolic link, or null. */
async function lockEntry(entry: string, lock: string): Promise<Stats | null> {
  try {
    return await fs.lstat(entry)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw lockFileError(err, lock, 'cannot be examined', entry)
  }
}

function isStaleEntry(stat: Stats, staleMs: number): boolean {
  return Math.abs(Date.now() - stat.mtimeMs) > staleMs
}

function ago(stat: Stats): string {
  const s = (Date.now() - stat.mtimeMs) / 1000
  return s < 0 ? `${(-s).toFixed(1)} s in the future` : `${s.toFixed(1)} s ago`
}

/** A problem with the lock path (or its `.break`: `entry`), as ELOCKED about the locked file; the reason names the entry. */
function lockFileError(err: unknown, lock: string, what: string, entry = lock): FileError {
  const why = explainFsError(err, entry)
  const file = lock.slice(0, -'.lock'.length)
  return new FileError('ELOCKED', file, `${entry === lock ? `its lock ${lock}` : entry} ${what}: ${why.reason}`, { cause: err })
}

/**
 * Removes the stale entry judged `judged` at the lock path, without ever
 * removing a live lock that replaced it: breakers take turns through
 * `<lock>.break` (O_EXCL), and under it re-examine the lock path and remove
 * what is there only if it is still the very entry judged stale (same inode,
 * same mtime). Nothing new can be made at the lock path while the stale
 * entry is there, and only breakers remove one, so nothing live is removed.
 * (Left: a stale holder that wakes up and releases between that check and the
 * removal, microseconds.) A `.break` left by a breaker that died is judged
 * like a lock. Returns true when the stale entry is gone.
 */
async function takeOver(lock: string, judged: Stats, staleMs: number): Promise<boolean> {
  const breaker = `${lock}.break`
  try {
    // Empty: only its existence and age count. Made or not, never half-made.
    await (await fs.open(breaker, 'wx', 0o600)).close()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw lockFileError(err, lock, 'is stale but cannot be taken over')
    const other = await lockEntry(breaker, lock)
    if (other && isStaleEntry(other, staleMs)) await removeEntry(breaker, other, lock)
    return false
  }
  try {
    const now = await lockEntry(lock, lock)
    if (!now) return true
    if (now.ino !== judged.ino || now.dev !== judged.dev || now.mtimeMs !== judged.mtimeMs) return false
    return await removeEntry(lock, now, lock)
  } finally {
    await fs.unlink(breaker).catch(() => {})
  }
}

/** Removes one entry, never a directory's contents: true when it is gone, false when it changed meanwhile. */
async function removeEntry(entry: string, stat: Stats, lock: string): Promise<boolean> {
  try {
    if (stat.isDirectory()) await fs.rmdir(entry)
    else await fs.unlink(entry)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return true
    // A directory with something in it was not made by proper-lockfile: not ours to empty.
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new FileError('ELOCKED', lock.slice(0, -'.lock'.length), `${entry} is a directory with files in it, not a lock of p2pchat's; if no p2pchat is running, move it away`, { cause: err })
    }
    // Replaced meanwhile by an entry of another kind: judge it again.
    if (code === 'EISDIR' || code === 'ENOTDIR') return false
    throw lockFileError(err, lock, `is stale (${describeKind(stat)}, touched ${ago(stat)}) but cannot be removed`, entry)
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
