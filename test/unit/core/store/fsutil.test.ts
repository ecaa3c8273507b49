import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { explainFsError, FileError, readRegularFile, watchFile, withFileLock, writeFileAtomic } from '../../../../src/core/store/fsutil.js'

let dir: string

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pchat-fsutil-test-'))
})

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

async function refusal(p: Promise<unknown>): Promise<FileError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(FileError)
  return err as FileError
}

/** Sets the modification time of `entry` itself (a symbolic link is not followed) to now + `shiftMs`. */
function age(entry: string, shiftMs: number): void {
  const when = new Date(Date.now() + shiftMs)
  fs.lutimesSync(entry, when, when)
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0'])
  return r.pid!
}

describe('readRegularFile', () => {
  it('reads a regular file', async () => {
    const file = path.join(dir, 'a.txt')
    fs.writeFileSync(file, 'hello\n')
    const { text, stat } = await readRegularFile(file, { maxBytes: 100 })
    expect(text).toBe('hello\n')
    expect(stat.isFile()).toBe(true)
  })

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = path.join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const started = Date.now()
    const e = await refusal(readRegularFile(fifo, { maxBytes: 100 }))
    expect(Date.now() - started).toBeLessThan(2000)
    expect(e.code).toBe('ENOTREG')
    expect(e.reason).toBe('it is a FIFO (named pipe), not a regular file')
  })

  it('refuses a directory, a character device and a socket, naming what they are', async () => {
    expect((await refusal(readRegularFile(dir, { maxBytes: 100 }))).reason).toContain('a directory')
    expect((await refusal(readRegularFile('/dev/null', { maxBytes: 100 }))).reason).toContain('a character device')
    const sock = path.join(dir, 'sock')
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(sock, resolve))
    try {
      expect((await refusal(readRegularFile(sock, { maxBytes: 100 }))).reason).toContain('a socket')
    } finally {
      server.close()
    }
  })

  it('caps the size', async () => {
    const file = path.join(dir, 'big')
    fs.writeFileSync(file, 'x'.repeat(101))
    const e = await refusal(readRegularFile(file, { maxBytes: 100 }))
    expect(e.code).toBe('EFBIG')
    expect((await readRegularFile(file, { maxBytes: 101 })).text).toHaveLength(101)
  })

  it('lets check() refuse before reading', async () => {
    const file = path.join(dir, 'a')
    fs.writeFileSync(file, 'x')
    const boom = new Error('no')
    await expect(readRegularFile(file, { maxBytes: 10, check: () => { throw boom } })).rejects.toBe(boom)
  })

  it('says a missing file does not exist, and a symlink loop is a loop', async () => {
    expect((await refusal(readRegularFile(path.join(dir, 'nope'), { maxBytes: 10 }))).code).toBe('ENOENT')
    const loop = path.join(dir, 'loop')
    fs.symlinkSync(loop, loop)
    expect((await refusal(readRegularFile(loop, { maxBytes: 10 }))).reason).toMatch(/symbolic links/)
  })
})

describe('explainFsError', () => {
  it('names the part of the path that is not a directory', async () => {
    const plain = path.join(dir, 'plain')
    fs.writeFileSync(plain, '')
    const e = await refusal(writeFileAtomic(path.join(plain, 'sub', 'f.json'), '{}', { overwrite: true }))
    expect(e.reason).toBe(`${plain} is not a directory`)
  })

  it.each([
    ['ENOSPC', /no space left/],
    ['EROFS', /read-only/],
    ['EDQUOT', /quota/],
    ['EACCES', /permission denied/],
    ['EISDIR', /is a directory/]
  ])('%s becomes words, without the system text', (code, words) => {
    const err = Object.assign(new Error(`${code}: raw text, open '/x/.f.123.tmp'`), { code })
    const e = explainFsError(err, '/x/f')
    expect(e.reason).toMatch(words)
    expect(e.reason).not.toContain('tmp')
    expect(e.reason).not.toContain(code)
  })
})

describe('directories made on the way say what is true (issue 19, point 20)', () => {
  // Node 20's recursive mkdir says ENOENT ("it does not exist") for what it
  // does not expect; a read-only file system is tested end to end, in a mount
  // namespace (test/e2e/files.test.ts). These need no privileges.
  it('a directory on the way that is a symbolic link to nothing is named, with its target', async () => {
    const link = path.join(dir, 'cfg')
    fs.symlinkSync(path.join(dir, 'gone'), link)
    const e = await refusal(writeFileAtomic(path.join(link, 'p2pchat', 'f.json'), '{}', { overwrite: false }))
    expect(e.reason).toBe(`${link} is a symbolic link to ${path.join(dir, 'gone')}, which does not exist`)
    const l = await refusal(withFileLock(path.join(link, 'p2pchat', 'f.json'), async () => 'ran'))
    expect(l.reason).toBe(`${link} is a symbolic link to ${path.join(dir, 'gone')}, which does not exist`)
    expect(fs.existsSync(path.join(dir, 'gone'))).toBe(false)
  })

  it('a symbolic link loop on the way is a loop; a file on the way is named', async () => {
    const loop = path.join(dir, 'loop')
    fs.symlinkSync(loop, loop)
    expect((await refusal(writeFileAtomic(path.join(loop, 'a', 'f'), 'x', { overwrite: true }))).reason).toMatch(/too many levels of symbolic links/)
    const plain = path.join(dir, 'plain')
    fs.writeFileSync(plain, '')
    expect((await refusal(withFileLock(path.join(plain, 'a', 'f'), async () => 'ran'))).reason).toBe(`${plain} is not a directory`)
  })

  it('makes every missing directory, 0700', async () => {
    const file = path.join(dir, 'a', 'b', 'c', 'f')
    await writeFileAtomic(file, 'x', { overwrite: false })
    expect(fs.readFileSync(file, 'utf8')).toBe('x')
    for (const d of ['a', 'a/b', 'a/b/c']) expect(fs.statSync(path.join(dir, d)).mode & 0o777).toBe(0o700)
  })
})

describe('writeFileAtomic', () => {
  it('refuses a directory as the target, with or without overwrite', async () => {
    const target = path.join(dir, 'd')
    fs.mkdirSync(target)
    for (const overwrite of [false, true]) {
      const e = await refusal(writeFileAtomic(target, 'x', { overwrite }))
      expect(e.code).toBe('EISDIR')
    }
  })

  it('says EEXIST for an existing file without overwrite', async () => {
    const target = path.join(dir, 'f')
    fs.writeFileSync(target, 'old')
    expect((await refusal(writeFileAtomic(target, 'x', { overwrite: false }))).code).toBe('EEXIST')
    expect(fs.readFileSync(target, 'utf8')).toBe('old')
  })
})

describe('withFileLock', () => {
  it('runs concurrent read-modify-writes one at a time: no update is lost', async () => {
    const file = path.join(dir, 'counter')
    fs.writeFileSync(file, '0')
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(file, async () => {
          const n = Number(fs.readFileSync(file, 'utf8'))
          await new Promise((r) => setTimeout(r, 2))
          await writeFileAtomic(file, String(n + 1), { overwrite: true })
        })
      )
    )
    expect(fs.readFileSync(file, 'utf8')).toBe('20')
    expect(fs.readdirSync(dir)).toEqual(['counter']) // lock and temp files gone
  })

  it('the lock is a directory while held, gone after; a lock of an older p2pchat (a file) not touched for the stale bound is taken over at once', async () => {
    const file = path.join(dir, 'f')
    expect(await withFileLock(file, async () => fs.statSync(`${file}.lock`).isDirectory())).toBe(true)
    expect(fs.readdirSync(dir)).toEqual([])
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: deadPid(), host: os.hostname(), time: Date.now(), nonce: 'x' }))
    age(`${file}.lock`, -60_000)
    const started = Date.now()
    expect(await withFileLock(file, async () => 'ran', { waitMs: 5000 })).toBe('ran')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('waits a bounded time for a live holder (it keeps its lock fresh), then names the lock', async () => {
    const file = path.join(dir, 'f')
    let letGo!: () => void
    const held = new Promise<void>((resolve) => (letGo = resolve))
    let holding!: () => void
    const holds = new Promise<void>((resolve) => (holding = resolve))
    const holder = withFileLock(file, async () => {
      holding()
      await held
    })
    await holds
    const started = Date.now()
    // Longer than the stale bound: the holder refreshes its lock, so it is never judged stale.
    const e = await refusal(withFileLock(file, async () => 'ran', { waitMs: 3500, staleMs: 2000 }))
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(3500)
    expect(waited).toBeLessThan(4500)
    expect(e.code).toBe('ELOCKED')
    expect(e.reason).toMatch(new RegExp(`^it is locked by another process: ${file}\\.lock \\(a directory\\) was touched \\d+\\.\\d s ago; if no p2pchat is running, remove it$`))
    letGo()
    await holder
    expect(await withFileLock(file, async () => 'ran')).toBe('ran')
    expect(fs.readdirSync(dir)).toEqual([])
  }, 10_000)
  it('releases the lock when fn throws', async () => {
    const file = path.join(dir, 'f')
    await expect(withFileLock(file, async () => { throw new Error('x') })).rejects.toThrow('x')
    expect(fs.existsSync(`${file}.lock`)).toBe(false)
  })
})

describe('withFileLock: whatever is at the lock path is judged, within the deadline (issue 19, point 19)', () => {
  const WAIT = 4000
  const STALE = 2000

  /** Something at `lock`: each shape a crash, another tool or a hostile user could leave. */
  const SHAPES: Array<[string, (lock: string) => void]> = [
    ['a regular file (an older p2pchat\'s lock)', (lock) => fs.writeFileSync(lock, '{"pid":1}')],
    ['an empty file', (lock) => fs.writeFileSync(lock, '')],
    ['a dangling symbolic link', (lock) => fs.symlinkSync(path.join(dir, 'nowhere'), lock)],
    ['a symbolic link loop', (lock) => fs.symlinkSync(lock, lock)],
    ['a symbolic link to a directory', (lock) => (fs.mkdirSync(path.join(dir, 'target')), fs.symlinkSync(path.join(dir, 'target'), lock))],
    ['an empty directory from another tool', (lock) => fs.mkdirSync(lock)],
    ['a FIFO', (lock) => expect(spawnSync('mkfifo', [lock]).status).toBe(0)],
    ['a socket', (lock) => void spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(lock)}, () => process.exit(0))`])]
  ]

  /** Runs a locked write; returns how long it took and what is left in the directory. */
  async function lockedWrite(file: string): Promise<{ ms: number; left: string[] }> {
    const started = Date.now()
    await withFileLock(file, async () => writeFileAtomic(file, 'written', { overwrite: true }), { waitMs: WAIT, staleMs: STALE })
    const ms = Date.now() - started
    expect(fs.readFileSync(file, 'utf8')).toBe('written')
    return { ms, left: fs.readdirSync(dir).sort() }
  }

  /** What is left after the write: the file, and the target of a link (never touched). */
  const leftOver = (shape: string) => (shape.includes('to a directory') ? ['f', 'target'] : ['f'])

  it.each(SHAPES)('%s, not touched for the stale bound: taken over at once', async (name, make) => {
    const file = path.join(dir, 'f')
    make(`${file}.lock`)
    fs.lstatSync(`${file}.lock`) // it is there
    age(`${file}.lock`, -60_000)
    const { ms, left } = await lockedWrite(file)
    expect(ms).toBeLessThan(1000)
    expect(left).toEqual(leftOver(name)) // no lock, no .break, no temp file; a link's target untouched
  })

  it.each(SHAPES)('%s, just made: waited for as live, then taken over once stale, before the deadline', async (name, make) => {
    const file = path.join(dir, 'f')
    make(`${file}.lock`)
    fs.lstatSync(`${file}.lock`) // it is there
    const { ms, left } = await lockedWrite(file)
    expect(ms).toBeGreaterThanOrEqual(STALE - 100)
    expect(ms).toBeLessThan(WAIT)
    expect(left).toEqual(leftOver(name))
  }, 10_000)

  it('a lock dated in the future (beyond the stale bound) is stale too', async () => {
    const file = path.join(dir, 'f')
    fs.mkdirSync(`${file}.lock`)
    age(`${file}.lock`, 3_600_000)
    const { ms, left } = await lockedWrite(file)
    expect(ms).toBeLessThan(1000)
    expect(left).toEqual(['f'])
  })

  it('a directory with files in it is not a lock of ours: never emptied, a clear error once stale, within the deadline', async () => {
    const file = path.join(dir, 'f')
    const lock = `${file}.lock`
    fs.mkdirSync(lock)
    fs.writeFileSync(path.join(lock, 'precious'), 'keep me')
    for (const [when, shift] of [['old', -60_000], ['fresh', 0]] as const) {
      age(lock, shift)
      const started = Date.now()
      const e = await refusal(withFileLock(file, async () => 'ran', { waitMs: WAIT, staleMs: STALE }))
      const ms = Date.now() - started
      expect(e.code, when).toBe('ELOCKED')
      expect(e.reason, when).toBe(`${lock} is a directory with files in it, not a lock of p2pchat's; if no p2pchat is running, move it away`)
      expect(ms, when).toBeLessThan(when === 'old' ? 1000 : WAIT)
      expect(fs.readFileSync(path.join(lock, 'precious'), 'utf8')).toBe('keep me')
      expect(fs.readdirSync(dir)).toEqual(['f.lock'])
    }
  }, 10_000)

  it('many writers facing one stale lock: one takeover at a time, no update lost', async () => {
    const file = path.join(dir, 'counter')
    fs.writeFileSync(file, '0')
    fs.mkdirSync(`${file}.lock`)
    age(`${file}.lock`, -60_000)
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(file, async () => {
          const n = Number(fs.readFileSync(file, 'utf8'))
          await new Promise((r) => setTimeout(r, 2))
          await writeFileAtomic(file, String(n + 1), { overwrite: true })
        })
      )
    )
    expect(fs.readFileSync(file, 'utf8')).toBe('20')
    expect(fs.readdirSync(dir)).toEqual(['counter'])
  })

  it('a .break left by a breaker that died is judged like a lock', async () => {
    const file = path.join(dir, 'f')
    fs.mkdirSync(`${file}.lock`)
    age(`${file}.lock`, -60_000)
    fs.writeFileSync(`${file}.lock.break`, '12345')
    age(`${file}.lock.break`, -60_000)
    const { ms, left } = await lockedWrite(file)
    expect(ms).toBeLessThan(1000)
    expect(left).toEqual(['f'])
  })
})

describe('watchFile', () => {
  it('reports a replacement by rename, and stops when asked', async () => {
    const file = path.join(dir, 'w')
    fs.writeFileSync(file, 'a')
    let calls = 0
    const stop = watchFile(file, () => void calls++, 20)
    try {
      await writeFileAtomic(file, 'bb', { overwrite: true })
      const deadline = Date.now() + 3000
      while (calls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(calls).toBeGreaterThan(0)
    } finally {
      stop()
    }
  })
})
