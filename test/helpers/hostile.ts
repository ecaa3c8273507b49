import { fileURLToPath } from 'node:url'
import { Proc } from './proc.js'

const HOSTILE = fileURLToPath(new URL('../fixtures/hostile-peer.mjs', import.meta.url))

/** A misbehaving raw-hyperdht peer (see test/fixtures/hostile-peer.mjs). */
export function hostilePeer(bootstrap: string, key: string, args: string[]): Proc {
  return new Proc(process.execPath, [HOSTILE, bootstrap, key, ...args])
}
