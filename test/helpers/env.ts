import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const dirs: string[] = []

/** A fresh config home, so no test reads or writes the real ~/.config. */
export function tempHome(): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pchat-test-'))
  dirs.push(dir)
  return { dir, env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') } }
}

export function cleanupHomes(): void {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}
