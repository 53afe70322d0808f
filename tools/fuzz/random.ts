/**
 * The fuzzer's randomness: one seeded generator per (run seed, scenario, person, ...), so that a
 * scenario draws the same choices whatever ran before it or beside it, and `--only K` replays it.
 */
export interface Rng {
  /** In [0, 1). */
  next(): number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  /** One of the items, by weight: [[item, weight], ...]. */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
  chance(p: number): boolean;
}

/** FNV-1a over the seed and the keys. */
function hashKeys(seed: number, keys: readonly (string | number)[]): number {
  let h = 0x811c9dc5 ^ seed;
  for (const k of keys) {
    const s = `${String(k)}\u0000`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32 seeded from the run seed and the keys naming who draws. */
export function rngFor(seed: number, ...keys: (string | number)[]): Rng {
  let a = hashKeys(seed, keys);
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted: (items) => {
      const total = items.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [item, w] of items) {
        r -= w;
        if (r < 0) return item;
      }
      return items[items.length - 1][0];
    },
    chance: (p) => next() < p,
  };
  return rng;
}
