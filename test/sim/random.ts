import { mulberry32 } from '../../src/simulator/partpay/faults.js';

/**
 * The simulation's only source of chance: one seeded stream per named purpose, so a change in
 * how often one party acts does not shift every other party's decisions. The same seed gives
 * the same run.
 * @example const rng = createRandom(42); if (rng.chance('partpay.drop', 0.1)) ...
 */
export function createRandom(seed: number) {
  const streams = new Map<string, () => number>();
  const stream = (name: string): (() => number) => {
    let s = streams.get(name);
    if (!s) {
      s = mulberry32((seed ^ hash(name)) >>> 0);
      streams.set(name, s);
    }
    return s;
  };
  let ids = 0;
  return {
    seed,
    /** A number in [0, 1). */
    next: (name: string): number => stream(name)(),
    /** True with probability `p`. */
    chance: (name: string, p: number): boolean => p > 0 && stream(name)() < p,
    /** A whole number in [min, max]. */
    int: (name: string, min: number, max: number): number => min + Math.floor(stream(name)() * (max - min + 1)),
    /** One of `items`. */
    pick<T>(name: string, items: readonly T[]): T {
      return items[Math.floor(stream(name)() * items.length)] as T;
    },
    /** A UUID-shaped id, from the seed (the run's ids are the same on a replay). */
    uuid(name = 'uuid'): string {
      const hex = Array.from({ length: 32 }, () => Math.floor(stream(name)() * 16).toString(16)).join('');
      ids += 1;
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    },
    get idsMade() {
      return ids;
    },
  };
}

export type Random = ReturnType<typeof createRandom>;

/** FNV-1a of a string. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
