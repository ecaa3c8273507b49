import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

/**
 * Writes a 0600 file atomically: a temp file in the same directory, fsynced,
 * then linked into place (never replacing) or, with overwrite, renamed over
 * the old one. A crash leaves the old file or the new one, never half of one.
 * The directory is created 0700. Throws the fs error (EEXIST without overwrite).
 */
export async function writeFileAtomic(file: string, data: string, opts: { overwrite: boolean }): Promise<void> {
  const dir = path.dirname(file)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
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

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}
