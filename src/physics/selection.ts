/**
 * The isolated-lepton filter of the reference pipeline, and the choice of the one
 * lepton that the features are built around.
 */
import type { LeptonCollection, TrackCollection } from '../contract/delphes-event.js';
import { deltaPhi } from './kinematics.js';
import { ConeIndex, relativeIsolation, type Isolation } from './isolation.js';

/** Lepton cuts (reference): pT > 23 GeV and ChIso + GammaIso + NeuIso < 0.45. */
export const LEPTON_PT_MIN = 23;
export const LEPTON_REL_ISO_MAX = 0.45;
/**
 * A lepton's own track: the nearest candidate track of the same charge within this ΔR.
 * Delphes builds electrons and muons from their tracks, so the own track sits at
 * ΔR ≈ 0; 0.05 leaves room for calorimeter-combined electron directions while being
 * far below the 0.3 cone, so it cannot swallow a genuine neighbour in an isolated lepton.
 */
export const OWN_TRACK_DR_MAX = 0.05;

export interface SelectedLepton {
  found: boolean;
  isEle: boolean;
  /** index in the Electron or MuonTight collection */
  index: number;
  pt: number;
  eta: number;
  phi: number;
  charge: number;
  iso: Isolation;
  /** index of the own track in the EFlowTrack collection, or -1 if none matched */
  ownTrack: number;
}

export function newSelectedLepton(): SelectedLepton {
  return {
    found: false,
    isEle: false,
    index: -1,
    pt: 0,
    eta: 0,
    phi: 0,
    charge: 0,
    iso: { ch: 0, gamma: 0, neu: 0 },
    ownTrack: -1,
  };
}

const ownTrackCells = new Int32Array(9);

/** Index in `tracks` of the lepton's own track among the indexed candidates, or -1. */
export function findOwnTrack(
  trackIndex: ConeIndex,
  tracks: TrackCollection,
  eta: number,
  phi: number,
  charge: number,
): number {
  let best = -1;
  let bestR2 = OWN_TRACK_DR_MAX * OWN_TRACK_DR_MAX;
  const m = trackIndex.neighbourCells(eta, phi, ownTrackCells);
  for (let j = 0; j < m; j++) {
    const c = ownTrackCells[j]!;
    const end = trackIndex.cellStart[c + 1]!;
    for (let k = trackIndex.cellStart[c]!; k < end; k++) {
      const src = trackIndex.src[k]!;
      if (tracks.charge[src] !== charge) continue;
      const de = trackIndex.eta[k]! - eta;
      const dp = deltaPhi(trackIndex.phi[k]!, phi);
      const r2 = de * de + dp * dp;
      // Ties (two tracks at the same distance) go to the lower source index.
      if (r2 < bestR2 || (r2 === bestR2 && best >= 0 && src < best)) {
        bestR2 = r2;
        best = src;
      }
    }
  }
  return best;
}

const scratchIso: Isolation = { ch: 0, gamma: 0, neu: 0 };

/**
 * Finds the isolated lepton of the event. When several electrons and tight muons pass,
 * the one with the highest pT is chosen (an electron wins an exact tie): deterministic,
 * independent of collection order (docs/features.md). Returns out.found.
 */
export function selectLepton(
  electrons: LeptonCollection,
  muons: LeptonCollection,
  tracks: TrackCollection,
  trackIndex: ConeIndex,
  photonIndex: ConeIndex,
  neutralIndex: ConeIndex,
  out: SelectedLepton,
): boolean {
  out.found = false;
  out.pt = -1;
  for (let flavour = 0; flavour < 2; flavour++) {
    const leptons = flavour === 0 ? electrons : muons;
    const n = leptons.pt.length;
    for (let i = 0; i < n; i++) {
      const pt = leptons.pt[i]!;
      if (!(pt > LEPTON_PT_MIN)) continue;
      const eta = leptons.eta[i]!;
      const phi = leptons.phi[i]!;
      // As for candidates (ConeIndex.build): a lepton that passes the pT cut with no
      // direction is corrupt input, not an isolated lepton with empty cones.
      if (!Number.isFinite(eta) || !Number.isFinite(phi)) {
        throw new Error(`${flavour === 0 ? 'electron' : 'muon'} ${i} has a non-finite η or φ (${eta}, ${phi})`);
      }
      if (pt <= out.pt) continue;
      const charge = leptons.charge[i]!;
      const own = findOwnTrack(trackIndex, tracks, eta, phi, charge);
      relativeIsolation(trackIndex, photonIndex, neutralIndex, eta, phi, pt, own, -1, -1, scratchIso);
      if (scratchIso.ch + scratchIso.gamma + scratchIso.neu >= LEPTON_REL_ISO_MAX) continue;
      out.found = true;
      out.isEle = flavour === 0;
      out.index = i;
      out.pt = pt;
      out.eta = eta;
      out.phi = phi;
      out.charge = charge;
      out.iso.ch = scratchIso.ch;
      out.iso.gamma = scratchIso.gamma;
      out.iso.neu = scratchIso.neu;
      out.ownTrack = own;
    }
  }
  return out.found;
}
