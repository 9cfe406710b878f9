/**
 * Hadronisation and soft physics: turns generator-level jets into collimated particles,
 * and adds the underlying event and pile-up vertices. Everything is fed straight into
 * the Detector.
 */
import {
  ECAL_ABS_ETA,
  TRACK_PT_MIN_RECO,
  TRACKER_ABS_ETA,
  type Detector,
  type JetFlavour,
  type Vertex,
} from './detector.js';
import { etaOf, phiOf, ptOf, type Vec4 } from './fourvec.js';
import type { Rng } from './rng.js';

/** Energy shares of a light jet: charged hadrons 60%, photons (π⁰) 25%, neutral hadrons 15%. */
const P_CHARGED = 0.6;
const P_PHOTON = 0.25;
/** Largest angular spread (ΔR) of soft fragments; hard fragments sit much closer to the axis. */
const FRAG_R_MAX = 0.45;
/** Mean transverse momentum (GeV) of a fragment relative to the jet axis. */
const FRAG_KT = 0.35;

/** Charged-hadron species mix: π± 80%, K± 12%, p/p̄ 8%. */
function chargedPid(rng: Rng): { pid: number; charge: number } {
  const u = rng.uniform();
  const id = u < 0.8 ? 211 : u < 0.92 ? 321 : 2212;
  const charge = rng.chance(0.5) ? 1 : -1;
  return { pid: id * charge, charge };
}

/** Emits one hadronisation fragment of energy e at (η, φ). */
function fragment(
  det: Detector,
  rng: Rng,
  e: number,
  eta: number,
  phi: number,
  v: Vertex,
  pCharged = P_CHARGED,
  pPhoton = P_PHOTON,
): void {
  const u = rng.uniform();
  if (u < pCharged) {
    const { pid, charge } = chargedPid(rng);
    det.chargedHadron(e, eta, phi, pid, charge, v);
  } else if (u < pCharged + pPhoton) {
    det.photon(e, eta, phi);
  } else {
    det.neutralHadron(e, eta, phi);
  }
}

/**
 * Splits `energy` among a multiplicity that grows logarithmically with the jet pT and
 * spreads the fragments around (η, φ): a fragment carrying transverse momentum pTᵢ sits
 * at ΔR ≈ kT/pTᵢ (capped at FRAG_R_MAX), so hard fragments are collinear and soft ones
 * wide, which is what makes leptons inside jets non-isolated.
 */
function fragmentLight(det: Detector, rng: Rng, energy: number, eta: number, phi: number, v: Vertex): void {
  if (energy <= 0) return;
  const pt = energy / Math.cosh(eta);
  const n = 1 + rng.poisson(6 * Math.log(1 + pt / 6));
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = -Math.log(rng.uniform());
    w[i] = x * x;
    sum += w[i]!;
  }
  for (let i = 0; i < n; i++) {
    const z = w[i]! / sum;
    const kt = rng.exponential(FRAG_KT);
    const r = (kt * FRAG_R_MAX) / (FRAG_R_MAX * z * pt + kt);
    const a = rng.range(-Math.PI, Math.PI);
    fragment(det, rng, z * energy, eta + r * Math.cos(a), phi + r * Math.sin(a), v);
  }
}

export interface HeavyFlavourOptions {
  /**
   * Force a semi-leptonic decay whose lepton has at least this pT (GeV): the
   * generator-level filter of lepton-enriched QCD samples. The hadron's and lepton's
   * energy fractions are redrawn until the lepton passes (or 200 tries have failed).
   */
  readonly leptonPtMin?: number;
}

const HF = {
  b: { mass: 5.28, ctau: 0.455, semilep: 0.22, frag: [8, 2.5] },
  c: { mass: 1.9, ctau: 0.2, semilep: 0.17, frag: [5, 3] },
} as const;

/**
 * A b or c jet: the heavy hadron takes a hard fraction of the jet energy (Peterson-like
 * Beta distribution), flies a boosted cτ before decaying (displaced tracks), and decays
 * semi-leptonically with its natural branching fraction (e or μ, plus an invisible ν),
 * the lepton emitted at an angle ~ m/E from the jet axis.
 */
function fragmentHeavy(
  det: Detector,
  rng: Rng,
  flavour: 'b' | 'c',
  energy: number,
  eta: number,
  phi: number,
  pv: Vertex,
  opts: HeavyFlavourOptions,
): number {
  const hf = HF[flavour];
  const forced = opts.leptonPtMin !== undefined;
  let eh = 0;
  let el = 0;
  const coshEta = Math.cosh(eta);
  for (let tries = 0; tries < (forced ? 200 : 1); tries++) {
    eh = Math.max(energy * rng.beta(hf.frag[0], hf.frag[1]), hf.mass * 1.05);
    el = eh * rng.beta(2, 3);
    if (!forced || el / coshEta >= opts.leptonPtMin) break;
  }
  const gb = Math.sqrt(eh * eh - hf.mass * hf.mass) / hf.mass;
  const len = rng.exponential(hf.ctau) * gb;
  const theta = 2 * Math.atan(Math.exp(-eta));
  const sv: Vertex = {
    x: pv.x + len * Math.sin(theta) * Math.cos(phi),
    y: pv.y + len * Math.sin(theta) * Math.sin(phi),
    z: pv.z + len * Math.cos(theta),
  };
  const spread = hf.mass / eh;
  let rest = eh;
  if (forced || rng.chance(hf.semilep)) {
    const enu = (eh - el) * rng.beta(2, 3);
    rest = eh - el - enu;
    const r = Math.min(0.8, rng.exponential(spread));
    const a = rng.range(-Math.PI, Math.PI);
    det.lepton(
      rng.chance(0.5) ? 'e' : 'mu',
      el,
      eta + r * Math.cos(a),
      phi + r * Math.sin(a),
      rng.chance(0.5) ? 1 : -1,
      sv,
    );
  }
  const n = 2 + rng.poisson(3);
  let sum = 0;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) sum += w[i] = rng.uniform() + 0.2;
  for (let i = 0; i < n; i++) {
    const r = Math.min(0.6, rng.exponential(spread));
    const a = rng.range(-Math.PI, Math.PI);
    fragment(det, rng, (rest * w[i]!) / sum, eta + r * Math.cos(a), phi + r * Math.sin(a), sv, 0.7, 0.3);
  }
  return energy - eh;
}

/** Hadronic τ: 1 or 3 charged prongs plus π⁰ photons, very collimated. */
function fragmentTau(det: Detector, rng: Rng, energy: number, eta: number, phi: number, v: Vertex): void {
  const prongs = rng.chance(0.75) ? 1 : 3;
  const n = prongs + rng.poisson(prongs === 1 ? 1 : 0.5);
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w[i] = rng.uniform() + 0.3;
  for (let i = 0; i < n; i++) {
    const r = rng.exponential(0.03);
    const a = rng.range(-Math.PI, Math.PI);
    const e = (energy * w[i]!) / sum;
    const eta1 = eta + r * Math.cos(a);
    const phi1 = phi + r * Math.sin(a);
    if (i < prongs) {
      const charge = rng.chance(0.5) ? 1 : -1;
      det.chargedHadron(e, eta1, phi1, 211 * charge, charge, v);
    } else {
      det.photon(e, eta1, phi1);
    }
  }
}

/** Per light jet: a π/K decaying in flight to a muon, or a photon conversion electron. */
const P_FAKE_LEPTON = 0.02;

/** Hadronises a generator-level jet and records it as a Delphes jet. */
export function hadroniseJet(
  det: Detector,
  rng: Rng,
  jet: Vec4,
  flavour: JetFlavour,
  pv: Vertex,
  opts: HeavyFlavourOptions = {},
): void {
  const eta = etaOf(jet);
  const phi = phiOf(jet);
  if (Math.abs(eta) > 6 || ptOf(jet) < 1) return;
  det.beginJet();
  if (flavour === 'tau') {
    fragmentTau(det, rng, jet.e, eta, phi, pv);
  } else {
    let energy = jet.e;
    if (flavour === 'b' || flavour === 'c') energy = fragmentHeavy(det, rng, flavour, energy, eta, phi, pv, opts);
    else if (rng.chance(P_FAKE_LEPTON)) {
      const el = energy * rng.range(0.02, 0.3);
      energy -= el;
      const r = rng.exponential(0.05);
      const a = rng.range(-Math.PI, Math.PI);
      det.lepton(
        rng.chance(0.5) ? 'e' : 'mu',
        el,
        eta + r * Math.cos(a),
        phi + r * Math.sin(a),
        rng.chance(0.5) ? 1 : -1,
        pv,
      );
    }
    fragmentLight(det, rng, energy, eta, phi, pv);
  }
  det.endJet(flavour);
}

export interface SoftActivity {
  /** mean number of charged particles with pT > 0.3 GeV in |η| < 2.5 */
  readonly charged: number;
  /** mean number of photons in |η| < 3 */
  readonly photons: number;
  /** mean number of neutral hadrons in |η| < 5 */
  readonly neutrals: number;
}

/** One pile-up minimum-bias vertex (the underlying event uses larger means). */
export const PILEUP_VERTEX: SoftActivity = { charged: 9, photons: 7, neutrals: 5 };

/**
 * Soft particles from one vertex, spread uniformly in η and φ with exponentially falling
 * pT: ~2/3 of the tracks pass the 0.5 GeV cut, ~1/4 of the towers the 1 GeV ET cut.
 */
export function softVertex(det: Detector, rng: Rng, v: Vertex, s: SoftActivity): void {
  const nc = rng.poisson(s.charged);
  for (let i = 0; i < nc; i++) {
    const pt = TRACK_PT_MIN_RECO + rng.exponential(0.45);
    const eta = rng.range(-TRACKER_ABS_ETA, TRACKER_ABS_ETA);
    const { pid, charge } = chargedPid(rng);
    det.chargedTrack(pt, eta, rng.range(-Math.PI, Math.PI), pid, charge, v);
  }
  const ng = rng.poisson(s.photons);
  for (let i = 0; i < ng; i++) {
    const et = 0.2 + rng.exponential(0.55);
    const eta = rng.range(-ECAL_ABS_ETA, ECAL_ABS_ETA);
    det.photon(et * Math.cosh(eta), eta, rng.range(-Math.PI, Math.PI));
  }
  const nn = rng.poisson(s.neutrals);
  for (let i = 0; i < nn; i++) {
    const et = 0.3 + rng.exponential(0.8);
    const eta = rng.range(-4.9, 4.9);
    det.neutralHadron(et * Math.cosh(eta), eta, rng.range(-Math.PI, Math.PI));
  }
}
