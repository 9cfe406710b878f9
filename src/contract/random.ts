/**
 * Seeded pseudo-random streams, one per (seed, purpose), so changing one use never
 * perturbs another: dataset assembly draws each decision (rows kept, train or test,
 * bucket, order) from its own, and a tuning study's trials come from the study's seed.
 * Sandbox-safe: workflow code (src/contract/tuning.ts) samples with it.
 */

/** splitmix32-style hash of two 32-bit integers: stream keys from (seed, purpose). */
function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x6a09e667, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: small, fast, and plenty for sampling and shuffling. */
export class Rng {
  private s: number;
  constructor(seed: number, purpose: number) {
    this.s = mix(seed >>> 0, purpose >>> 0);
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T>(xs: T[]): void {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
  }
}
