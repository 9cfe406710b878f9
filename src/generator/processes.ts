/**
 * The three hard processes at √s = 13 TeV, at the level of partons, leptons and
 * neutrinos, handed to the shower and detector stages.
 *
 * - W(→ℓν)+jets: W mass Breit-Wigner, recoiling against 0-n jets; ℓ = e, μ, τ equally.
 *   The two-body decay gives the lepton its Jacobian peak at pT ≈ mW/2 and the neutrino
 *   real MET, so MT has its edge at mW smeared by the MET resolution.
 * - tt̄: tops with a falling pT spectrum, t → Wb, each W decaying leptonically or to
 *   quarks with natural branching fractions. Two b jets plus hard W jets and ISR.
 * - QCD multijet: a 2→2 scatter with a steeply falling pT (power law), extra radiation
 *   jets, heavy-flavour jets whose semi-leptonic decays give the (non-isolated) leptons.
 */
import type { EventClass } from '../physics/schema.js';
import type { Detector, JetFlavour, Vertex } from './detector.js';
import { fromPtEtaPhiM, fromPtYPhiM, ptOf, scale, twoBodyDecay, type Vec4 } from './fourvec.js';
import type { Rng } from './rng.js';
import { hadroniseJet, PILEUP_VERTEX, softVertex, type SoftActivity } from './shower.js';

const M_W = 80.38;
const GAMMA_W = 2.085;
const M_TOP = 172.5;
const GAMMA_TOP = 1.42;
const M_TAU = 1.777;
const M_B = 4.8;

/**
 * Generator-level lepton filter of the W and tt̄ samples, as in filtered production
 * samples: at least one e or μ (prompt or from τ) with pT > 20 GeV and |η| < 2.5. The
 * hard process is redrawn until it passes. A fraction of tt̄ events is left unfiltered
 * so that the sample keeps some all-hadronic decays.
 */
export const GEN_LEPTON_FILTER = { ptMin: 20, absEtaMax: 2.5, ttbarUnfiltered: 0.1 } as const;

/**
 * QCD: a fraction of events is "lepton-enriched" (like CMS's QCD_MuEnriched samples):
 * the leading jet is b (60%) or c and decays semi-leptonically to a lepton with
 * pT > 22 GeV. The rest is generic multijet: bb̄/cc̄ pair production and gluon
 * splitting at roughly natural rates.
 */
export const QCD_LEPTON_ENRICHED = { fraction: 0.5, leptonPtMin: 22, bFraction: 0.6 } as const;
export const QCD_FLAVOUR = { bb: 0.05, cc: 0.1, splitB: 0.02, splitC: 0.05 } as const;
/** Lower edge of the QCD hard-scatter pT (GeV) and the spectrum's power. */
export const QCD_PT_MIN = 25;
export const QCD_PT_POWER = 4.5;

/** Probability that a pile-up vertex contributes a jet with pT > 25 GeV. */
const PILEUP_JET_RATE = 0.012;

/** Underlying event of the hard vertex, per class. */
const UNDERLYING: Record<EventClass, SoftActivity> = {
  wjets: { charged: 16, photons: 10, neutrals: 7 },
  ttbar: { charged: 24, photons: 14, neutrals: 10 },
  qcd: { charged: 20, photons: 12, neutrals: 8 },
};

interface Jet {
  readonly p: Vec4;
  readonly flavour: JetFlavour;
  /** Set on the lepton-enriched QCD jet: see QCD_LEPTON_ENRICHED. */
  readonly leptonPtMin?: number;
}

/** Everything the hard process produced that the shower/detector stage must handle. */
interface HardEvent {
  readonly jets: Jet[];
  readonly leptons: { flavour: 'e' | 'mu'; p: Vec4; charge: number }[];
}

function radiationJets(rng: Rng, mean: number, power: number, ptMax: number, out: Jet[]): void {
  const n = rng.poisson(mean);
  for (let i = 0; i < n; i++) {
    const pt = rng.powerLaw(20, Math.max(ptMax, 21), power);
    const u = rng.uniform();
    const flavour: JetFlavour = u < 0.01 ? 'b' : u < 0.05 ? 'c' : 'light';
    out.push({ p: fromPtEtaPhiM(pt, rng.normal(0, 1.9), rng.range(-Math.PI, Math.PI), 0), flavour });
  }
}

/** Σ of the transverse momenta of `jets`. */
function sumPt(jets: readonly Jet[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const j of jets) {
    x += j.p.px;
    y += j.p.py;
  }
  return [x, y];
}

/** τ decay: 35% to e/μ (lepton keeps a fraction x of the τ energy), else a τ jet. */
function decayTau(rng: Rng, tau: Vec4, charge: number, hard: HardEvent): void {
  if (rng.chance(0.35)) {
    // Collinear lepton spectrum of τ → ℓνν: f(x) ∝ 5 − 9x² + 4x³ (rejection sampling).
    let x: number;
    do x = rng.uniform();
    while (rng.uniform() * 5 > 5 - 9 * x * x + 4 * x * x * x);
    hard.leptons.push({ flavour: rng.chance(0.5) ? 'e' : 'mu', p: scale(tau, x), charge });
  } else {
    hard.jets.push({ p: scale(tau, rng.range(0.3, 1)), flavour: 'tau' });
  }
}

/** W → ℓν with ℓ ∈ {e, μ, τ}; the neutrino is not recorded (it is the MET). */
function decayWLeptonic(rng: Rng, w: Vec4, charge: number, hard: HardEvent): void {
  const u = rng.int(3);
  const [l] = twoBodyDecay(rng, w, u === 2 ? M_TAU : 0, 0);
  if (u === 2) decayTau(rng, l, charge, hard);
  else hard.leptons.push({ flavour: u === 0 ? 'e' : 'mu', p: l, charge });
}

function decayWHadronic(rng: Rng, w: Vec4, hard: HardEvent): void {
  const [q1, q2] = twoBodyDecay(rng, w, 0, 0);
  // W → cs in half of the hadronic decays: the c jet is what light-jet mistags feed on.
  hard.jets.push({ p: q1, flavour: rng.chance(0.5) ? 'c' : 'light' }, { p: q2, flavour: 'light' });
}

function passesLeptonFilter(hard: HardEvent): boolean {
  for (const l of hard.leptons) {
    const pt = ptOf(l.p);
    if (pt > GEN_LEPTON_FILTER.ptMin && Math.abs(Math.asinh(l.p.pz / pt)) < GEN_LEPTON_FILTER.absEtaMax) return true;
  }
  return false;
}

/** Redraws the hard process until the generator-level lepton filter passes. */
function filtered(rng: Rng, process: (rng: Rng) => HardEvent): HardEvent {
  for (let tries = 0; tries < 10_000; tries++) {
    const hard = process(rng);
    if (passesLeptonFilter(hard)) return hard;
  }
  throw new Error('generator-level lepton filter: no passing event in 10000 tries');
}

function wJets(rng: Rng): HardEvent {
  const hard: HardEvent = { jets: [], leptons: [] };
  // Jet multiplicity above 20 GeV: 50% of events have ≥1 jet, each further jet costs
  // ×0.35 (Berends-Giele scaling); W+c and W+b(b̄) feed the b-tag.
  if (rng.chance(0.5)) {
    let n = 1;
    while (rng.chance(0.35)) n++;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      const flavour: JetFlavour = u < 0.03 ? 'b' : u < 0.12 ? 'c' : 'light';
      hard.jets.push({
        p: fromPtEtaPhiM(rng.powerLaw(20, 1500, 3.5), rng.normal(0, 1.9), rng.range(-Math.PI, Math.PI), 0),
        flavour,
      });
    }
  }
  const [jx, jy] = sumPt(hard.jets);
  const wx = -jx + rng.normal(0, 6);
  const wy = -jy + rng.normal(0, 6);
  const m = rng.breitWigner(M_W, GAMMA_W, 50, 150);
  const w = fromPtYPhiM(Math.hypot(wx, wy), rng.normal(0, 1.9), Math.atan2(wy, wx), m);
  // W⁺ : W⁻ ≈ 58 : 42 at the LHC (more u than d valence quarks).
  decayWLeptonic(rng, w, rng.chance(0.58) ? 1 : -1, hard);
  return hard;
}

function ttbar(rng: Rng): HardEvent {
  const hard: HardEvent = { jets: [], leptons: [] };
  const isr: Jet[] = [];
  radiationJets(rng, 0.9, 3.0, 1000, isr);
  const pt1 = rng.gamma(2.2) * 45;
  const phi1 = rng.range(-Math.PI, Math.PI);
  const t1 = fromPtYPhiM(pt1, rng.normal(0, 1.1), phi1, rng.breitWigner(M_TOP, GAMMA_TOP, 150, 195));
  const [ix, iy] = sumPt(isr);
  const x2 = -(t1.px + ix) + rng.normal(0, 8);
  const y2 = -(t1.py + iy) + rng.normal(0, 8);
  const t2 = fromPtYPhiM(
    Math.hypot(x2, y2),
    rng.normal(0, 1.1),
    Math.atan2(y2, x2),
    rng.breitWigner(M_TOP, GAMMA_TOP, 150, 195),
  );
  const tops: [Vec4, number][] = [
    [t1, 1],
    [t2, -1],
  ];
  for (const [t, charge] of tops) {
    const [w, b] = twoBodyDecay(rng, t, rng.breitWigner(M_W, GAMMA_W, 60, 100), M_B);
    hard.jets.push({ p: b, flavour: 'b' });
    // BR(W → ℓν) = 3 × 10.8% (ℓ = e, μ, τ).
    if (rng.chance(0.324)) decayWLeptonic(rng, w, charge, hard);
    else decayWHadronic(rng, w, hard);
  }
  hard.jets.push(...isr);
  return hard;
}

function qcd(rng: Rng): HardEvent {
  const hard: HardEvent = { jets: [], leptons: [] };
  const pthat = rng.powerLaw(QCD_PT_MIN, 3000, QCD_PT_POWER);
  const enriched = rng.chance(QCD_LEPTON_ENRICHED.fraction);
  const u = rng.uniform();
  const pair: JetFlavour | null = enriched
    ? rng.chance(QCD_LEPTON_ENRICHED.bFraction)
      ? 'b'
      : 'c'
    : u < QCD_FLAVOUR.bb
      ? 'b'
      : u < QCD_FLAVOUR.bb + QCD_FLAVOUR.cc
        ? 'c'
        : null;
  const lightFlavour = (): JetFlavour => {
    const s = rng.uniform();
    return s < QCD_FLAVOUR.splitB ? 'b' : s < QCD_FLAVOUR.splitB + QCD_FLAVOUR.splitC ? 'c' : 'light';
  };
  const phi1 = rng.range(-Math.PI, Math.PI);
  // An enriched event's lepton must be within the tracker, so its jet is too.
  let eta1 = rng.normal(0, 1.8);
  while (enriched && Math.abs(eta1) >= GEN_LEPTON_FILTER.absEtaMax) eta1 = rng.normal(0, 1.8);
  const j1: Jet = {
    p: fromPtEtaPhiM(pthat, eta1, phi1, 0),
    flavour: pair ?? lightFlavour(),
    ...(enriched ? { leptonPtMin: QCD_LEPTON_ENRICHED.leptonPtMin } : {}),
  };
  const extra: Jet[] = [];
  radiationJets(rng, 1.2, 3.5, pthat, extra);
  const [ex, ey] = sumPt(extra);
  const x2 = -(j1.p.px + ex) + rng.normal(0, 5);
  const y2 = -(j1.p.py + ey) + rng.normal(0, 5);
  const j2: Jet = {
    p: fromPtEtaPhiM(Math.hypot(x2, y2), rng.normal(0, 1.8), Math.atan2(y2, x2), 0),
    flavour: pair ?? lightFlavour(),
  };
  hard.jets.push(j1, j2, ...extra);
  return hard;
}

const PROCESSES: Record<EventClass, (rng: Rng) => HardEvent> = {
  wjets: (rng) => filtered(rng, wJets),
  ttbar: (rng) => (rng.chance(GEN_LEPTON_FILTER.ttbarUnfiltered) ? ttbar(rng) : filtered(rng, ttbar)),
  qcd,
};

export interface EventConditions {
  /** Mean number of pile-up vertices (Poisson). */
  readonly pileup: number;
}

/** Beam spot: σ(x, y) = 10 µm, σ(z) = 50 mm. */
function beamSpotVertex(rng: Rng): Vertex {
  return { x: rng.normal(0, 0.01), y: rng.normal(0, 0.01), z: rng.normal(0, 50) };
}

/** Generates one event of class `cls` through the shower and detector stages. */
export function simulate(rng: Rng, det: Detector, cls: EventClass, cond: EventConditions): void {
  const pv = beamSpotVertex(rng);
  const hard = PROCESSES[cls](rng);
  for (const l of hard.leptons) {
    // Direction from the massless limit is fine: leptons here have E ≫ m.
    const pt = ptOf(l.p);
    if (pt <= 0) continue;
    det.lepton(l.flavour, l.p.e, Math.asinh(l.p.pz / pt), Math.atan2(l.p.py, l.p.px), l.charge, pv);
  }
  for (const j of hard.jets) {
    hadroniseJet(det, rng, j.p, j.flavour, pv, j.leptonPtMin === undefined ? {} : { leptonPtMin: j.leptonPtMin });
  }
  softVertex(det, rng, pv, UNDERLYING[cls]);
  const npu = rng.poisson(cond.pileup);
  for (let i = 0; i < npu; i++) {
    const v = beamSpotVertex(rng);
    softVertex(det, rng, v, PILEUP_VERTEX);
    // A pile-up collision now and then is itself a soft dijet: jets from other vertices
    // that the reconstruction cannot tell apart, unbalanced in the hard event (fake MET).
    if (rng.chance(PILEUP_JET_RATE)) {
      const p = fromPtEtaPhiM(rng.powerLaw(25, 300, 4), rng.normal(0, 2.2), rng.range(-Math.PI, Math.PI), 0);
      hadroniseJet(det, rng, p, 'light', v);
    }
  }
}
