/**
 * Scalar kinematics on plain numbers. Everything here is allocation-free so the
 * per-particle loops in the feature code can call it millions of times per second.
 */

const TWO_PI = 2 * Math.PI;

/** Δφ wrapped into [-π, π]: φ = +3.1 and φ = -3.1 are 0.083 apart, not 6.2. */
export function deltaPhi(phi1: number, phi2: number): number {
  let d = phi1 - phi2;
  // Inputs are azimuths in [-π, π] in practice, so one step almost always suffices;
  // the loop keeps the result right for any finite input.
  while (d > Math.PI) d -= TWO_PI;
  while (d < -Math.PI) d += TWO_PI;
  return d;
}

/** ΔR² = Δη² + Δφ²; cone tests compare this to R² and skip the square root. */
export function deltaR2(eta1: number, phi1: number, eta2: number, phi2: number): number {
  const de = eta1 - eta2;
  const dp = deltaPhi(phi1, phi2);
  return de * de + dp * dp;
}

export function deltaR(eta1: number, phi1: number, eta2: number, phi2: number): number {
  return Math.sqrt(deltaR2(eta1, phi1, eta2, phi2));
}

/** Four-momentum (E, px, py, pz) from (pT, η, φ, m), written into `out` from `offset`. */
export function p4FromPtEtaPhiM(
  pt: number,
  eta: number,
  phi: number,
  m: number,
  out: Float64Array | Float32Array,
  offset = 0,
): void {
  const px = pt * Math.cos(phi);
  const py = pt * Math.sin(phi);
  const pz = pt * Math.sinh(eta);
  out[offset] = Math.sqrt(px * px + py * py + pz * pz + m * m);
  out[offset + 1] = px;
  out[offset + 2] = py;
  out[offset + 3] = pz;
}

/**
 * Transverse mass of a lepton + missing-ET system, √(2·pT·MET·(1 − cos Δφ)).
 * The reference code returned the expression without the square root (MT²); see
 * docs/features.md for why hepflow returns MT in GeV.
 */
export function transverseMass(lepPt: number, lepPhi: number, met: number, metPhi: number): number {
  const v = 2 * lepPt * met * (1 - Math.cos(lepPhi - metPhi));
  return v > 0 ? Math.sqrt(v) : 0;
}

/** Rest masses (GeV) used as mass hypotheses for tracks, keyed by |PDG id|. */
export const MASS_ELECTRON = 0.000510999;
export const MASS_MUON = 0.105658;
export const MASS_PION = 0.13957;
export const MASS_KAON = 0.493677;
export const MASS_PROTON = 0.938272;

/**
 * Mass hypothesis for a track with PDG id `pid`: the particle's own mass for e, μ,
 * K± and p; the charged-pion mass for everything else (the common hypothesis for
 * unidentified charged hadrons).
 */
export function trackMass(pid: number): number {
  switch (pid < 0 ? -pid : pid) {
    case 11:
      return MASS_ELECTRON;
    case 13:
      return MASS_MUON;
    case 321:
      return MASS_KAON;
    case 2212:
      return MASS_PROTON;
    default:
      return MASS_PION;
  }
}
