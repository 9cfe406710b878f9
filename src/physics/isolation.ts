/**
 * Particle-flow isolation: scalar pT (ET for towers) sums of candidates in a cone.
 *
 * A ConeIndex holds the candidates of one collection that pass the candidate
 * threshold, sorted by η, so a cone query binary-searches the η window
 * [η − R, η + R] and tests ΔR only inside it. Buffers grow to the largest event
 * seen and are then reused: building and querying allocate nothing.
 */
import { deltaPhi } from './kinematics.js';
import { MAX_PACKED_INDEX, pack, packedIndex } from './packed-sort.js';

/** Cone radius of every isolation sum (reference: ΔR < 0.3). */
export const ISO_CONE_R = 0.3;
/** Candidate thresholds (reference): tracks pT > 0.5 GeV, photons and neutral hadrons ET > 1 GeV. */
export const TRACK_PT_MIN = 0.5;
export const TOWER_ET_MIN = 1.0;

export class ConeIndex {
  /** Number of candidates that passed the threshold in the last build. */
  n = 0;
  /** Sorted by η; `src[i]` is the candidate's index in its source collection. */
  eta = new Float64Array(64);
  phi = new Float64Array(64);
  pt = new Float64Array(64);
  src = new Int32Array(64);
  private keys = new Float64Array(64);

  /**
   * Indexes the candidates with value > `threshold` (strict, as in the reference).
   * `pt` is pT for tracks and ET for towers.
   */
  build(pt: Float32Array, eta: Float32Array, phi: Float32Array, threshold: number): void {
    const total = pt.length;
    if (total > MAX_PACKED_INDEX) throw new Error(`collection of ${total} candidates is too large to index`);
    if (this.keys.length < total) this.grow(total);
    let n = 0;
    const keys = this.keys;
    for (let i = 0; i < total; i++) {
      if (!(pt[i]! > threshold)) continue;
      // NaN would also lose the index packed into its key.
      if (!Number.isFinite(eta[i]!) || !Number.isFinite(phi[i]!)) {
        throw new Error(`candidate ${i} has a non-finite η or φ (${eta[i]}, ${phi[i]})`);
      }
      keys[n++] = pack(eta[i]!, i);
    }
    // Sorted by η, ties by source index: the order (and so the float sums) never
    // depends on the sort algorithm.
    keys.subarray(0, n).sort();
    for (let k = 0; k < n; k++) {
      const i = packedIndex(keys[k]!);
      this.eta[k] = eta[i]!;
      this.phi[k] = phi[i]!;
      this.pt[k] = pt[i]!;
      this.src[k] = i;
    }
    this.n = n;
  }

  /**
   * Σ pT of the candidates with ΔR < `r` from (η, φ), leaving out the candidate whose
   * source index is `exclude` (pass -1 to keep all).
   */
  sumInCone(eta: number, phi: number, exclude: number, r: number = ISO_CONE_R): number {
    const n = this.n;
    const etas = this.eta;
    const lo = this.firstAbove(eta - r);
    const etaHi = eta + r;
    const r2 = r * r;
    let sum = 0;
    for (let k = lo; k < n; k++) {
      const e = etas[k]!;
      if (e >= etaHi) break;
      const de = e - eta;
      const dp = deltaPhi(this.phi[k]!, phi);
      if (de * de + dp * dp < r2 && this.src[k] !== exclude) sum += this.pt[k]!;
    }
    return sum;
  }

  /** Position of the first candidate with η > `etaLo` (binary search). */
  firstAbove(etaLo: number): number {
    const etas = this.eta;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (etas[mid]! <= etaLo) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  private grow(size: number): void {
    let cap = this.keys.length;
    while (cap < size) cap *= 2;
    this.eta = new Float64Array(cap);
    this.phi = new Float64Array(cap);
    this.pt = new Float64Array(cap);
    this.src = new Int32Array(cap);
    this.keys = new Float64Array(cap);
  }
}

/** The three relative isolations of one object, each Σ / pT of the object. */
export interface Isolation {
  ch: number;
  gamma: number;
  neu: number;
}

/**
 * Relative isolations of an object at (η, φ) with transverse momentum `pt`.
 * `excludeTrack`/`excludePhoton`/`excludeNeutral` name the object's own candidate in
 * each index (or -1): an object never counts itself in its own cone.
 */
export function relativeIsolation(
  tracks: ConeIndex, photons: ConeIndex, neutrals: ConeIndex,
  eta: number, phi: number, pt: number,
  excludeTrack: number, excludePhoton: number, excludeNeutral: number,
  out: Isolation,
): void {
  const inv = pt > 0 ? 1 / pt : 0;
  out.ch = tracks.sumInCone(eta, phi, excludeTrack) * inv;
  out.gamma = photons.sumInCone(eta, phi, excludePhoton) * inv;
  out.neu = neutrals.sumInCone(eta, phi, excludeNeutral) * inv;
}
