/**
 * Ways to cut one byte string into chunks, as packets and pipe reads would:
 * for tests that the result does not depend on where the cuts fall.
 */

/** A small seeded generator (mulberry32): a failing split can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `data` cut at `cuts` (sorted offsets; duplicates and out-of-range ones make empty or no chunks). */
export function cutAt(data: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = []
  let prev = 0
  for (const c of [...cuts, data.length]) {
    // A copy per chunk: a reader may keep views of the chunks it was given.
    chunks.push(Buffer.from(data.subarray(prev, Math.max(prev, c))))
    prev = Math.max(prev, c)
  }
  return chunks
}

/** Every 2-way split: [data[0..i], data[i..]] for i = 0..length (both ends give one empty chunk). */
export function* everyTwoWaySplit(data: Buffer): Generator<{ what: string; chunks: Buffer[] }> {
  for (let i = 0; i <= data.length; i++) yield { what: `cut at ${i}`, chunks: cutAt(data, [i]) }
}

/** 2-way splits at the offsets within `radius` of each of `points` (for inputs too long to try every offset). */
export function* splitsNear(data: Buffer, points: number[], radius = 3): Generator<{ what: string; chunks: Buffer[] }> {
  const offsets = new Set<number>()
  for (const p of points) for (let d = -radius; d <= radius; d++) if (p + d >= 0 && p + d <= data.length) offsets.add(p + d)
  for (const i of [...offsets].sort((a, b) => a - b)) yield { what: `cut at ${i}`, chunks: cutAt(data, [i]) }
}

/** `count` random splits into 1 to `maxCuts + 1` chunks, some of them a single byte or empty. */
export function* randomSplits(data: Buffer, count: number, seed: number, maxCuts = 12): Generator<{ what: string; chunks: Buffer[] }> {
  const random = seeded(seed)
  for (let n = 0; n < count; n++) {
    const k = 1 + Math.floor(random() * maxCuts)
    const cuts = Array.from({ length: k }, () => Math.floor(random() * (data.length + 1))).sort((a, b) => a - b)
    yield { what: `seed ${seed}, split ${n}: cuts ${cuts.join(',')}`, chunks: cutAt(data, cuts) }
  }
}

/** The offsets of every occurrence of `byte` in `data`. */
export function offsetsOf(data: Buffer, byte: number): number[] {
  const out: number[] = []
  for (let i = data.indexOf(byte); i !== -1; i = data.indexOf(byte, i + 1)) out.push(i)
  return out
}
