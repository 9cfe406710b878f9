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
      if (!(pt[i]! > threshold)) {
        cell[i] = -1;
        continue;
      }
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

/**
 * The cone sums of every candidate of an event at once, each pair tested once.
 *
 * The particle sequence needs three cone sums for each of up to ~800 candidates; querying
 * each candidate's 3 × 3 cells separately tests every close pair twice. Here the three
 * indices are merged cell by cell and each candidate is paired with the later
 * candidates of its own cell and all candidates of 4 of its 8 neighbour cells (the
 * other 4 pair with it from their side), adding each one's pT to the other's sum.
 *
 * The result is bit-identical to ConeIndex.sumInCone: ΔR² is symmetric to the bit, and
 * every summand is a float32 above 0.5 (a multiple of 2⁻²⁴), so any float64 sum below
 * 2²⁹ GeV is exact whatever the order of the additions.
 */
export class PairConeSums {
  /** For candidate k of collection c (0 tracks, 1 photons, 2 neutral hadrons), its sums are at 3 × (base[c] + k) + 0/1/2 (ch, gamma, neu). */
  sums = new Float64Array(3 * 1024);
  readonly base = new Int32Array(3);
  private eta = new Float64Array(1024);
  private phi = new Float64Array(1024);
  private pt = new Float64Array(1024);
  /** 3 × flat index + collection of each merged candidate. */
  private slot = new Int32Array(1024);
  private readonly cellStart = new Int32Array(N_CELLS + 1);

  build(tracks: ConeIndex, photons: ConeIndex, neutrals: ConeIndex): void {
    const indices = [tracks, photons, neutrals] as const;
    const total = tracks.n + photons.n + neutrals.n;
    if (this.eta.length < total) this.grow(total);
    this.base[0] = 0;
    this.base[1] = tracks.n;
    this.base[2] = tracks.n + photons.n;
    const { eta, phi, pt, slot, cellStart } = this;
    let m = 0;
    for (let c = 0; c < N_CELLS; c++) {
      cellStart[c] = m;
      for (let kind = 0; kind < 3; kind++) {
        const index = indices[kind]!;
        const end = index.cellStart[c + 1]!;
        const base = this.base[kind]!;
        for (let k = index.cellStart[c]!; k < end; k++, m++) {
          eta[m] = index.eta[k]!;
          phi[m] = index.phi[k]!;
          pt[m] = index.pt[k]!;
          slot[m] = 3 * (base + k) + kind;
        }
      }
    }
    cellStart[N_CELLS] = m;
    const sums = this.sums;
    sums.fill(0, 0, 3 * total);
    const r2 = ISO_CONE_R * ISO_CONE_R;
    for (let c = 0; c < N_CELLS; c++) {
      const end = cellStart[c + 1]!;
      if (cellStart[c] === end) continue;
      const e = (c / N_PHI) | 0;
      const p = c - e * N_PHI;
      const right = e * N_PHI + ((p + 1) % N_PHI);
      for (let i = cellStart[c]!; i < end; i++) {
        const ei = eta[i]!;
        const pi = phi[i]!;
        const pti = pt[i]!;
        const si = slot[i]!;
        const fi = si - (si % 3);
        const ki = si % 3;
        // the rest of its own cell, the cell at φ + 1, and the three cells at η + 1
        for (let part = 0; part < 5; part++) {
          let from: number;
          let to: number;
          if (part === 0) {
            from = i + 1;
            to = end;
          } else if (part === 1) {
            from = cellStart[right]!;
            to = cellStart[right + 1]!;
          } else {
            if (e + 1 >= N_ETA) break;
            const cc = (e + 1) * N_PHI + ((p + part - 3 + N_PHI) % N_PHI);
            from = cellStart[cc]!;
            to = cellStart[cc + 1]!;
          }
          for (let j = from; j < to; j++) {
            const de = eta[j]! - ei;
            const dp = deltaPhi(phi[j]!, pi);
            if (de * de + dp * dp < r2) {
              const sj = slot[j]!;
              sums[fi + (sj % 3)]! += pt[j]!;
              sums[sj - (sj % 3) + ki]! += pti;
            }
          }
        }
      }
    }
  }

  private grow(size: number): void {
    let cap = this.eta.length;
    while (cap < size) cap *= 2;
    this.sums = new Float64Array(3 * cap);
    this.eta = new Float64Array(cap);
    this.phi = new Float64Array(cap);
    this.pt = new Float64Array(cap);
    this.slot = new Int32Array(cap);
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
  tracks: ConeIndex,
  photons: ConeIndex,
  neutrals: ConeIndex,
  eta: number,
  phi: number,
  pt: number,
  excludeTrack: number,
  excludePhoton: number,
  excludeNeutral: number,
  out: Isolation,
): void {
  const inv = pt > 0 ? 1 / pt : 0;
  out.ch = tracks.sumInCone(eta, phi, excludeTrack) * inv;
  out.gamma = photons.sumInCone(eta, phi, excludePhoton) * inv;
  out.neu = neutrals.sumInCone(eta, phi, excludeNeutral) * inv;
}
