/**
 * Particle-flow isolation: scalar pT (ET for towers) sums of candidates in a cone.
 *
 * A ConeIndex holds the candidates of one collection that pass the candidate
 * threshold, binned into an η × φ grid whose cells are at least as wide as the cone
 * (0.3 × 2π/20), so a cone query only tests ΔR for the candidates of the 3 × 3 cells
 * around it. Building is a counting sort (no comparison sort); buffers grow to the
 * largest event seen and are then reused: building and querying allocate nothing.
 */
import { deltaPhi } from './kinematics.js';

/** Cone radius of every isolation sum (reference: ΔR < 0.3). */
export const ISO_CONE_R = 0.3;
/** Candidate thresholds (reference): tracks pT > 0.5 GeV, photons and neutral hadrons ET > 1 GeV. */
export const TRACK_PT_MIN = 0.5;
export const TOWER_ET_MIN = 1.0;

/** Grid geometry. Candidates beyond |η| = 6 share the edge rows, which keeps queries exact. */
const ETA_EDGE = 6;
const ETA_CELL = ISO_CONE_R;
const N_ETA = Math.ceil((2 * ETA_EDGE) / ETA_CELL);
const N_PHI = 20;
const PHI_CELL = (2 * Math.PI) / N_PHI;
const N_CELLS = N_ETA * N_PHI;

const etaCell = (eta: number): number => {
  const c = Math.floor((eta + ETA_EDGE) / ETA_CELL);
  return c < 0 ? 0 : c >= N_ETA ? N_ETA - 1 : c;
};
const phiCell = (phi: number): number => {
  // Delphes φ is in [-π, π]; wrap anything else first.
  const w = phi - 2 * Math.PI * Math.round(phi / (2 * Math.PI));
  const c = Math.floor((w + Math.PI) / PHI_CELL);
  return c < 0 ? 0 : c >= N_PHI ? N_PHI - 1 : c;
};

export class ConeIndex {
  /** Number of candidates that passed the threshold in the last build. */
  n = 0;
  /** Grouped by grid cell; `src[k]` is the candidate's index in its source collection. */
  eta = new Float64Array(64);
  phi = new Float64Array(64);
  pt = new Float64Array(64);
  src = new Int32Array(64);
  /** Candidates of cell c are positions cellStart[c] .. cellStart[c + 1] - 1. */
  readonly cellStart = new Int32Array(N_CELLS + 1);
  private cell = new Int32Array(64);
  private readonly fill = new Int32Array(N_CELLS);

  /**
   * Indexes the candidates with value > `threshold` (strict, as in the reference).
   * `pt` is pT for tracks and ET for towers.
   */
  build(pt: Float32Array, eta: Float32Array, phi: Float32Array, threshold: number): void {
    const total = pt.length;
    if (this.cell.length < total) this.grow(total);
    const start = this.cellStart;
    start.fill(0);
    const cell = this.cell;
    let n = 0;
    for (let i = 0; i < total; i++) {
      if (!(pt[i]! > threshold)) { cell[i] = -1; continue; }
      if (!Number.isFinite(eta[i]!) || !Number.isFinite(phi[i]!)) {
        throw new Error(`candidate ${i} has a non-finite η or φ (${eta[i]}, ${phi[i]})`);
      }
      const c = etaCell(eta[i]!) * N_PHI + phiCell(phi[i]!);
      cell[i] = c;
      start[c + 1]!++;
      n++;
    }
    for (let c = 0; c < N_CELLS; c++) start[c + 1]! += start[c]!;
    // Counting sort, stable: within a cell, candidates keep their source order, so the
    // float sums never depend on anything but the input.
    const fill = this.fill;
    fill.set(start.subarray(0, N_CELLS));
    for (let i = 0; i < total; i++) {
      const c = cell[i]!;
      if (c < 0) continue;
      const k = fill[c]!++;
      this.eta[k] = eta[i]!;
      this.phi[k] = phi[i]!;
      this.pt[k] = pt[i]!;
      this.src[k] = i;
    }
    this.n = n;
  }

  /**
   * The (up to) 9 cells that can hold candidates within ΔR < 0.3 of (η, φ), written
   * into `out`; returns how many.
   */
  neighbourCells(eta: number, phi: number, out: Int32Array): number {
    const ce = etaCell(eta);
    const cp = phiCell(phi);
    let m = 0;
    for (let e = ce - 1; e <= ce + 1; e++) {
      if (e < 0 || e >= N_ETA) continue;
      for (let d = -1; d <= 1; d++) out[m++] = e * N_PHI + ((cp + d + N_PHI) % N_PHI);
    }
    return m;
  }

  /**
   * Σ pT of the candidates with ΔR < 0.3 from (η, φ), leaving out the candidate whose
   * source index is `exclude` (pass -1 to keep all).
   */
  sumInCone(eta: number, phi: number, exclude: number): number {
    const cells = scratchCells;
    const m = this.neighbourCells(eta, phi, cells);
    const r2 = ISO_CONE_R * ISO_CONE_R;
    let sum = 0;
    for (let j = 0; j < m; j++) {
      const c = cells[j]!;
      const end = this.cellStart[c + 1]!;
      for (let k = this.cellStart[c]!; k < end; k++) {
        const de = this.eta[k]! - eta;
        const dp = deltaPhi(this.phi[k]!, phi);
        if (de * de + dp * dp < r2 && this.src[k] !== exclude) sum += this.pt[k]!;
      }
    }
    return sum;
  }

  private grow(size: number): void {
    let cap = this.cell.length;
    while (cap < size) cap *= 2;
    this.eta = new Float64Array(cap);
    this.phi = new Float64Array(cap);
    this.pt = new Float64Array(cap);
    this.src = new Int32Array(cap);
    this.cell = new Int32Array(cap);
  }
}

const scratchCells = new Int32Array(9);

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
