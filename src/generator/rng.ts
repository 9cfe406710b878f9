/**
 * Seeded random numbers for the synthetic event generator.
 *
 * xoshiro128** (Blackman & Vigna) on 32-bit integer arithmetic (`Math.imul`, `>>>`), so
 * the integer stream is identical on every platform. Every event gets its own generator
 * whose state is a hash of (seed, event index): event i is the same whether it is
 * generated alone, as part of file k of K, or in one serial run.
 *
 * The samplers use Math.log/exp/cos/sin. V8 implements these with its own fdlibm port
 * rather than the C library, so for one Node major version the floats are bitwise
 * identical across operating systems and CPUs; the tests pin a few values to catch drift.
 */

const TWO_POW_32 = 4294967296;

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkSafeIndex(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${v}`);
  }
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second Box-Muller deviate, kept so each pair of uniforms gives two normals. */
  private spareNormal = NaN;

  private constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /**
   * The generator for one event. `seed` and `index` are any non-negative safe integers;
   * the 4 state words come from a splitmix-style chain over their 32-bit halves, so
   * neighbouring indices give unrelated streams.
   */
  static forEvent(seed: number, index: number): Rng {
    checkSafeIndex('seed', seed);
    checkSafeIndex('event index', index);
    const words = [seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0, index >>> 0, Math.floor(index / TWO_POW_32) >>> 0];
    let h = 0x6a09e667;
    const state = [0, 0, 0, 0];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) {
        h = fmix32((h + 0x9e3779b9 + words[i]! + Math.imul(round + 1, 0x27d4eb2f)) >>> 0);
        state[i] = (state[i]! ^ h) >>> 0;
      }
    }
    // xoshiro's only forbidden state is all zeros.
    if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 1;
    return new Rng(state[0]!, state[1]!, state[2]!, state[3]!);
  }

  /** A generator with an explicit xoshiro128** state (not all zero), for reference vectors. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    if ((s0 | s1 | s2 | s3) >>> 0 === 0) throw new RangeError('xoshiro128** state must not be all zeros');
    return new Rng(s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0);
  }

  /** Next raw 32-bit output (xoshiro128**). */
  nextU32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in the open interval (0, 1): safe to take the log of. */
  uniform(): number {
    return (this.nextU32() + 0.5) / TWO_POW_32;
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  normal(mean = 0, sigma = 1): number {
    let z: number;
    if (!Number.isNaN(this.spareNormal)) {
      z = this.spareNormal;
      this.spareNormal = NaN;
    } else {
      const r = Math.sqrt(-2 * Math.log(this.uniform()));
      const a = 2 * Math.PI * this.uniform();
      z = r * Math.cos(a);
      this.spareNormal = r * Math.sin(a);
    }
    return mean + sigma * z;
  }

  exponential(mean: number): number {
    return -mean * Math.log(this.uniform());
  }

  /**
   * Poisson deviate. Knuth's product method is exact and cheap for the small means used
   * here; larger means are split into chunks (a sum of Poissons is Poisson) so exp(-mean)
   * never underflows.
   */
  poisson(mean: number): number {
    if (!(mean >= 0) || !Number.isFinite(mean))
      throw new RangeError(`Poisson mean must be finite and >= 0, got ${mean}`);
    let total = 0;
    let rest = mean;
    while (rest > 0) {
      const chunk = Math.min(rest, 30);
      rest -= chunk;
      const limit = Math.exp(-chunk);
      let k = 0;
      let p = this.uniform();
      while (p > limit) {
        k++;
        p *= this.uniform();
      }
      total += k;
    }
    return total;
  }

  /** Breit-Wigner (Cauchy) around `mass` with full width `width`, truncated to [lo, hi]. */
  breitWigner(mass: number, width: number, lo: number, hi: number): number {
    const a = Math.atan((2 * (lo - mass)) / width);
    const b = Math.atan((2 * (hi - mass)) / width);
    return mass + (width / 2) * Math.tan(a + (b - a) * this.uniform());
  }

  /**
   * Power-law falling spectrum dN/dx ∝ x^-n on [xmin, xmax] (n > 1), the shape of
   * hard-scattering pT spectra.
   */
  powerLaw(xmin: number, xmax: number, n: number): number {
    const e = 1 - n;
    const a = Math.pow(xmin, e);
    const b = Math.pow(xmax, e);
    return Math.pow(a + (b - a) * this.uniform(), 1 / e);
  }

  /** Beta(a, b) for small integer-ish shapes via two gamma deviates (Marsaglia-Tsang). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** Gamma(shape k, scale 1), Marsaglia-Tsang; k < 1 via the boost k+1 → k. */
  gamma(k: number): number {
    if (k < 1) return this.gamma(k + 1) * Math.pow(this.uniform(), 1 / k);
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }
}
