/**
 * A parametrised detector in the spirit of Delphes' CMS card: it turns generator-level
 * particles into the particle-flow (EFlow) collections, electrons, tight muons, jets and
 * missing ET of one DelphesEvent.
 *
 * What it models, and why (numbers are Delphes CMS-card-like, rounded):
 * - Tracker |η| < 2.5, tracks from pT 0.3 GeV (so the pipeline's pT > 0.5 cut has work
 *   to do), 97%/90% efficiency barrel/endcap, σ(pT)/pT = 0.5% ⊕ 0.01%·pT.
 *   A charged hadron without a track still deposits its energy in the calorimeter and
 *   appears as an EFlowNeutralHadron, as in Delphes' energy flow.
 * - ECAL |η| < 3: photons with σ(E)/E = 5%/√E ⊕ 1%, towers below 0.5 GeV dropped.
 *   HCAL/forward |η| < 5: neutral hadrons with σ(E)/E = 100%/√E ⊕ 5%, below 1 GeV dropped.
 *   Calorimeter smearing is log-normal (mean-preserving, never negative), like Delphes.
 * - Electrons (|η| < 2.5) and muons (|η| < 2.4) get an EFlowTrack with PID ±11/±13
 *   (sign: PDG convention, negative charge ↔ positive id) and, with 95%/85% (e) or 95%
 *   (μ) identification efficiency and pT > 10 GeV, an entry in Electron/MuonTight with the
 *   same pT, η, φ as the track. Leptons inside jets are reconstructed too: isolation is
 *   the analysis' job, as in the reference pipeline.
 * - Jets: the vector sum of the reconstructed constituents of each generator-level jet
 *   (pile-up is not clustered in: the card's pile-up subtraction is assumed perfect),
 *   stored when pT > 20 GeV and |η| < 5. BTag bit 0 with efficiency 70% for b,
 *   10% for c and 1% for light jets within |η| < 2.5.
 * - MissingET: minus the vector sum of every reconstructed EFlow object, pile-up
 *   included, so neutrinos give real MET and resolution/pile-up give fake MET.
 *
 * Calorimeter towers are not merged by cell: each neutral particle is its own tower.
 */
import type { DelphesEvent, LeptonCollection } from '../contract/delphes-event.js';
import { trackMass } from '../physics/kinematics.js';
import type { Rng } from './rng.js';

export interface Vertex {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

export type JetFlavour = 'light' | 'c' | 'b' | 'tau';

export const TRACKER_ABS_ETA = 2.5;
export const MUON_ABS_ETA = 2.4;
export const ECAL_ABS_ETA = 3.0;
export const CALO_ABS_ETA = 5.0;
export const TRACK_PT_MIN_RECO = 0.3;
export const PHOTON_E_MIN = 0.5;
export const NEUTRAL_E_MIN = 1.0;
export const LEPTON_PT_MIN_RECO = 10;
export const JET_PT_MIN_RECO = 20;
const BTAG_EFF: Record<JetFlavour, number> = { b: 0.7, c: 0.1, light: 0.01, tau: 0.01 };

class LeptonList {
  readonly pt: number[] = [];
  readonly eta: number[] = [];
  readonly phi: number[] = [];
  readonly charge: number[] = [];
  push(pt: number, eta: number, phi: number, charge: number): void {
    this.pt.push(pt);
    this.eta.push(eta);
    this.phi.push(phi);
    this.charge.push(charge);
  }
  /** Delphes sorts its object collections by decreasing pT. */
  freeze(): LeptonCollection {
    const order = byDecreasing(this.pt);
    return {
      pt: Float32Array.from(order, (i) => this.pt[i]!),
      eta: Float32Array.from(order, (i) => this.eta[i]!),
      phi: Float32Array.from(order, (i) => this.phi[i]!),
      charge: Int32Array.from(order, (i) => this.charge[i]!),
    };
  }
}

function byDecreasing(v: readonly number[]): number[] {
  return v.map((_, i) => i).sort((a, b) => v[b]! - v[a]! || a - b);
}

/** φ wrapped into (-π, π]. */
export function wrapPhi(phi: number): number {
  while (phi > Math.PI) phi -= 2 * Math.PI;
  while (phi <= -Math.PI) phi += 2 * Math.PI;
  return phi;
}

export class Detector {
  private readonly tPt: number[] = [];
  private readonly tEta: number[] = [];
  private readonly tPhi: number[] = [];
  private readonly tCharge: number[] = [];
  private readonly tPid: number[] = [];
  private readonly tX: number[] = [];
  private readonly tY: number[] = [];
  private readonly tZ: number[] = [];
  private readonly gEt: number[] = [];
  private readonly gEta: number[] = [];
  private readonly gPhi: number[] = [];
  private readonly gE: number[] = [];
  private readonly nEt: number[] = [];
  private readonly nEta: number[] = [];
  private readonly nPhi: number[] = [];
  private readonly nE: number[] = [];
  private readonly electrons = new LeptonList();
  private readonly muons = new LeptonList();
  private readonly jPt: number[] = [];
  private readonly jEta: number[] = [];
  private readonly jPhi: number[] = [];
  private readonly jMass: number[] = [];
  private readonly jBtag: number[] = [];
  /** Σ of all reconstructed EFlow momenta, for MissingET. */
  private sumPx = 0;
  private sumPy = 0;
  private sumPz = 0;
  /** Reconstructed four-momentum of the jet being built, while inJet. */
  private inJet = false;
  private jx = 0;
  private jy = 0;
  private jz = 0;
  private je = 0;

  constructor(private readonly rng: Rng) {}

  private visible(pt: number, eta: number, phi: number, e: number): void {
    const px = pt * Math.cos(phi);
    const py = pt * Math.sin(phi);
    const pz = pt * Math.sinh(eta);
    this.sumPx += px;
    this.sumPy += py;
    this.sumPz += pz;
    if (this.inJet) {
      this.jx += px;
      this.jy += py;
      this.jz += pz;
      this.je += e;
    }
  }

  /** Log-normal smearing with relative resolution `rel`, preserving the mean. */
  private smearLogNormal(e: number, rel: number): number {
    const s2 = Math.log(1 + rel * rel);
    return e * Math.exp(this.rng.normal(-s2 / 2, Math.sqrt(s2)));
  }

  private addTrack(pt: number, eta: number, phi: number, charge: number, pid: number, v: Vertex): void {
    phi = wrapPhi(phi);
    this.tPt.push(pt);
    this.tEta.push(eta);
    this.tPhi.push(phi);
    this.tCharge.push(charge);
    this.tPid.push(pid);
    this.tX.push(v.x);
    this.tY.push(v.y);
    this.tZ.push(v.z);
    let e = 0;
    // The energy only matters for the mass of the jet being built.
    if (this.inJet) {
      const m = trackMass(pid);
      const p = pt * Math.cosh(eta);
      e = Math.sqrt(p * p + m * m);
    }
    this.visible(pt, eta, phi, e);
  }

  /**
   * A charged particle given by its pT, inside the tracker acceptance and above the
   * tracking threshold (soft-physics fast path of chargedHadron).
   */
  chargedTrack(pt: number, eta: number, phi: number, pid: number, charge: number, v: Vertex): void {
    if (this.rng.chance(Math.abs(eta) < 1.5 ? 0.97 : 0.9)) {
      this.addTrack(pt * (1 + this.rng.normal(0, 0.005 + 1e-4 * pt)), eta, phi, charge, pid, v);
    } else {
      const m = trackMass(pid);
      const p = pt * Math.cosh(eta);
      this.neutralHadron(Math.sqrt(p * p + m * m), eta, phi);
    }
  }

  /** A charged hadron of energy e (GeV) flying along (η, φ) from vertex v. */
  chargedHadron(e: number, eta: number, phi: number, pid: number, charge: number, v: Vertex): void {
    const m = trackMass(pid);
    if (e <= m) e = m * 1.01;
    const absEta = Math.abs(eta);
    const pt = Math.sqrt(e * e - m * m) / Math.cosh(eta);
    if (absEta < TRACKER_ABS_ETA && pt >= TRACK_PT_MIN_RECO && this.rng.chance(absEta < 1.5 ? 0.97 : 0.9)) {
      this.addTrack(pt * (1 + this.rng.normal(0, 0.005 + 1e-4 * pt)), eta, phi, charge, pid, v);
    } else {
      this.neutralHadron(e, eta, phi);
    }
  }

  photon(e: number, eta: number, phi: number): void {
    const absEta = Math.abs(eta);
    if (absEta >= ECAL_ABS_ETA) {
      this.neutralHadron(e, eta, phi);
      return;
    }
    const er = this.smearLogNormal(e, Math.sqrt(0.0025 / e + 1e-4));
    if (er < PHOTON_E_MIN) return;
    phi = wrapPhi(phi);
    const et = er / Math.cosh(eta);
    this.gEt.push(et);
    this.gEta.push(eta);
    this.gPhi.push(phi);
    this.gE.push(er);
    this.visible(et, eta, phi, er);
  }

  neutralHadron(e: number, eta: number, phi: number): void {
    if (Math.abs(eta) >= CALO_ABS_ETA) return;
    const er = this.smearLogNormal(e, Math.sqrt(1 / e + 0.0025));
    if (er < NEUTRAL_E_MIN) return;
    phi = wrapPhi(phi);
    const et = er / Math.cosh(eta);
    this.nEt.push(et);
    this.nEta.push(eta);
    this.nPhi.push(phi);
    this.nE.push(er);
    this.visible(et, eta, phi, er);
  }

  /**
   * An electron or muon of energy e. `charge` is ±1; the track PID follows PDG (e⁻ = 11).
   * Outside the tracker an electron showers like a photon; a muon escapes unseen.
   */
  lepton(flavour: 'e' | 'mu', e: number, eta: number, phi: number, charge: number, v: Vertex): void {
    const absEta = Math.abs(eta);
    const isE = flavour === 'e';
    if (absEta >= (isE ? TRACKER_ABS_ETA : MUON_ABS_ETA)) {
      if (isE) this.photon(e, eta, phi);
      return;
    }
    const pid = (isE ? 11 : 13) * -charge;
    const m = trackMass(pid);
    const ptTrue = Math.sqrt(Math.max(e * e - m * m, 0)) / Math.cosh(eta);
    if (ptTrue < TRACK_PT_MIN_RECO) return;
    const rel = isE ? 0.012 + 2e-5 * ptTrue : 0.01 + 1e-4 * ptTrue;
    const pt = ptTrue * (1 + this.rng.normal(0, rel));
    this.addTrack(pt, eta, phi, charge, pid, v);
    const eff = isE ? (absEta < 1.5 ? 0.95 : 0.85) : 0.95;
    if (pt > LEPTON_PT_MIN_RECO && this.rng.chance(eff)) {
      (isE ? this.electrons : this.muons).push(pt, eta, wrapPhi(phi), charge);
    }
  }

  /** Starts collecting reconstructed constituents into a jet. */
  beginJet(): void {
    this.inJet = true;
    this.jx = this.jy = this.jz = this.je = 0;
  }

  /** Closes the jet: stores it if it passes the jet thresholds. */
  endJet(flavour: JetFlavour): void {
    this.inJet = false;
    const pt = Math.hypot(this.jx, this.jy);
    if (pt < JET_PT_MIN_RECO) return;
    const eta = Math.asinh(this.jz / pt);
    if (Math.abs(eta) >= CALO_ABS_ETA) return;
    const m2 = this.je * this.je - this.jx * this.jx - this.jy * this.jy - this.jz * this.jz;
    const tagged = Math.abs(eta) < TRACKER_ABS_ETA && this.rng.chance(BTAG_EFF[flavour]);
    this.jPt.push(pt);
    this.jEta.push(eta);
    this.jPhi.push(Math.atan2(this.jy, this.jx));
    this.jMass.push(m2 > 0 ? Math.sqrt(m2) : 0);
    this.jBtag.push(tagged ? 1 : 0);
  }

  finish(): DelphesEvent {
    const jo = byDecreasing(this.jPt);
    const mx = -this.sumPx;
    const my = -this.sumPy;
    const met = Math.hypot(mx, my);
    return {
      electrons: this.electrons.freeze(),
      muons: this.muons.freeze(),
      jets: {
        pt: Float32Array.from(jo, (i) => this.jPt[i]!),
        eta: Float32Array.from(jo, (i) => this.jEta[i]!),
        phi: Float32Array.from(jo, (i) => this.jPhi[i]!),
        mass: Float32Array.from(jo, (i) => this.jMass[i]!),
        btag: Uint32Array.from(jo, (i) => this.jBtag[i]!),
      },
      missingEt: {
        met: Float32Array.of(met),
        eta: Float32Array.of(met > 0 ? Math.asinh(-this.sumPz / met) : 0),
        phi: Float32Array.of(Math.atan2(my, mx)),
      },
      tracks: {
        pt: Float32Array.from(this.tPt),
        eta: Float32Array.from(this.tEta),
        phi: Float32Array.from(this.tPhi),
        charge: Int32Array.from(this.tCharge),
        pid: Int32Array.from(this.tPid),
        x: Float32Array.from(this.tX),
        y: Float32Array.from(this.tY),
        z: Float32Array.from(this.tZ),
      },
      photons: {
        et: Float32Array.from(this.gEt),
        eta: Float32Array.from(this.gEta),
        phi: Float32Array.from(this.gPhi),
        e: Float32Array.from(this.gE),
      },
      neutralHadrons: {
        et: Float32Array.from(this.nEt),
        eta: Float32Array.from(this.nEta),
        phi: Float32Array.from(this.nPhi),
        e: Float32Array.from(this.nE),
      },
    };
  }
}
