/**
 * The low-level particle sequence: the selected lepton plus the particle-flow
 * candidates, 19 features each (PARTICLE_FEATURE_NAMES), sorted by decreasing ΔR from
 * the lepton so that the lepton comes last.
 */
import type { DelphesEvent } from '../contract/delphes-event.js';
import { N_PARTICLE_FEATURES } from './schema.js';
import { deltaPhi, p4FromPtEtaPhiM, trackMass, MASS_ELECTRON, MASS_MUON } from './kinematics.js';
import { ConeIndex, PairConeSums } from './isolation.js';
import type { SelectedLepton } from './selection.js';
import { MAX_PACKED_INDEX, pack, packedIndex } from './packed-sort.js';

/** Per-collection caps of the reference: 450 tracks, 150 photons, 200 neutral hadrons. */
export const MAX_TRACKS = 450;
export const MAX_PHOTONS = 150;
export const MAX_NEUTRAL_HADRONS = 200;

const KIND_TRACK = 0;
const KIND_PHOTON = 1;
const KIND_NEUTRAL = 2;

const F = N_PARTICLE_FEATURES;

/**
 * Builds sequences with scratch buffers reused across events; only the returned
 * Float32Array (exactly n × 19) is allocated per event.
 */
export class SequenceBuilder {
  // One entry per candidate of the sequence (lepton excluded): its collection, its
  // position in that collection's ConeIndex, and its ΔR² to the lepton.
  private kind = new Uint8Array(1024);
  private pos = new Int32Array(1024);
  private dr2 = new Float64Array(1024);
  private keys = new Float64Array(1024);
  private pick = new Int32Array(1024);
  private readonly cones = new PairConeSums();

  build(
    event: DelphesEvent,
    lepton: SelectedLepton,
    tracks: ConeIndex,
    photons: ConeIndex,
    neutrals: ConeIndex,
  ): Float32Array {
    this.ensure(tracks.n + photons.n + neutrals.n);
    let n = 0;
    n = this.collect(tracks, KIND_TRACK, MAX_TRACKS, lepton.ownTrack, lepton, n);
    n = this.collect(photons, KIND_PHOTON, MAX_PHOTONS, -1, lepton, n);
    n = this.collect(neutrals, KIND_NEUTRAL, MAX_NEUTRAL_HADRONS, -1, lepton, n);

    // Decreasing ΔR (compared at float32 precision); ties keep collection order
    // (tracks, photons, neutral hadrons): ascending keys read backwards, so the index
    // is stored complemented.
    const keys = this.keys;
    const dr2 = this.dr2;
    for (let i = 0; i < n; i++) keys[i] = pack(dr2[i]!, MAX_PACKED_INDEX - i);
    keys.subarray(0, n).sort();
    // Every candidate's three cone sums, each close pair tested once (PairConeSums).
    const cones = this.cones;
    cones.build(tracks, photons, neutrals);
    const sums = cones.sums;

    const out = new Float32Array((n + 1) * F);
    const t = event.tracks;
    const towersE = [event.photons.e, event.neutralHadrons.e] as const;
    for (let r = 0; r < n; r++) {
      const i = MAX_PACKED_INDEX - packedIndex(keys[n - 1 - r]!);
      const kind = this.kind[i]!;
      const k = this.pos[i]!;
      const index = kind === KIND_TRACK ? tracks : kind === KIND_PHOTON ? photons : neutrals;
      const pt = index.pt[k]!;
      const eta = index.eta[k]!;
      const phi = index.phi[k]!;
      const src = index.src[k]!;
      const o = r * F;
      out[o + 4] = pt;
      out[o + 5] = eta;
      out[o + 6] = phi;
      if (kind === KIND_TRACK) {
        const pid = t.pid[src]!;
        p4FromPtEtaPhiM(pt, eta, phi, trackMass(pid), out, o);
        out[o + 7] = t.x[src]!;
        out[o + 8] = t.y[src]!;
        out[o + 9] = t.z[src]!;
        const apid = pid < 0 ? -pid : pid;
        if (apid === 11) out[o + 16] = 1;
        else if (apid === 13) out[o + 17] = 1;
        else out[o + 13] = 1;
        out[o + 18] = t.charge[src]!;
      } else {
        // Towers: massless, energy as measured by Delphes; vertex and charge zero.
        p4FromPtEtaPhiM(pt, eta, phi, 0, out, o);
        out[o] = towersE[kind - 1]![src]!;
        out[o + (kind === KIND_PHOTON ? 15 : 14)] = 1;
      }
      // Relative isolations, as relativeIsolation() computes them: Σ × (1 / pT).
      const inv = pt > 0 ? 1 / pt : 0;
      const at = 3 * (cones.base[kind]! + k);
      out[o + 10] = sums[at]! * inv;
      out[o + 11] = sums[at + 1]! * inv;
      out[o + 12] = sums[at + 2]! * inv;
    }

    // The lepton, last.
    const o = n * F;
    p4FromPtEtaPhiM(lepton.pt, lepton.eta, lepton.phi, lepton.isEle ? MASS_ELECTRON : MASS_MUON, out, o);
    out[o + 4] = lepton.pt;
    out[o + 5] = lepton.eta;
    out[o + 6] = lepton.phi;
    if (lepton.ownTrack >= 0) {
      out[o + 7] = t.x[lepton.ownTrack]!;
      out[o + 8] = t.y[lepton.ownTrack]!;
      out[o + 9] = t.z[lepton.ownTrack]!;
    }
    out[o + 10] = lepton.iso.ch;
    out[o + 11] = lepton.iso.gamma;
    out[o + 12] = lepton.iso.neu;
    out[o + (lepton.isEle ? 16 : 17)] = 1;
    out[o + 18] = lepton.charge;
    return out;
  }

  /**
   * Appends the candidates of one index (minus `skipSrc`), keeping the `cap` highest-pT
   * ones when there are more: the softest particles carry the least information.
   */
  private collect(
    index: ConeIndex,
    kind: number,
    cap: number,
    skipSrc: number,
    lepton: SelectedLepton,
    n: number,
  ): number {
    const pick = this.pick;
    let m = 0;
    for (let k = 0; k < index.n; k++) if (index.src[k] !== skipSrc) pick[m++] = k;
    if (m > cap) {
      const pt = index.pt;
      pick.subarray(0, m).sort((a, b) => pt[b]! - pt[a]! || a - b);
      m = cap;
    }
    for (let j = 0; j < m; j++) {
      const k = pick[j]!;
      const de = index.eta[k]! - lepton.eta;
      const dp = deltaPhi(index.phi[k]!, lepton.phi);
      this.kind[n] = kind;
      this.pos[n] = k;
      this.dr2[n] = de * de + dp * dp;
      n++;
    }
    return n;
  }

  private ensure(size: number): void {
    if (this.kind.length >= size) return;
    let cap = this.kind.length;
    while (cap < size) cap *= 2;
    this.kind = new Uint8Array(cap);
    this.pos = new Int32Array(cap);
    this.dr2 = new Float64Array(cap);
    this.keys = new Float64Array(cap);
    this.pick = new Int32Array(cap);
  }
}
