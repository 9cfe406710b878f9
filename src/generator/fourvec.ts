/**
 * Four-vectors for the hard-process stage of the generator (a handful per event, so
 * small objects are fine here; the per-particle detector stage works on plain numbers).
 */
import type { Rng } from './rng.js';

export interface Vec4 {
  readonly px: number;
  readonly py: number;
  readonly pz: number;
  readonly e: number;
}

export function fromPtYPhiM(pt: number, y: number, phi: number, m: number): Vec4 {
  const mt = Math.sqrt(pt * pt + m * m);
  return { px: pt * Math.cos(phi), py: pt * Math.sin(phi), pz: mt * Math.sinh(y), e: mt * Math.cosh(y) };
}

export function fromPtEtaPhiM(pt: number, eta: number, phi: number, m: number): Vec4 {
  const pz = pt * Math.sinh(eta);
  return { px: pt * Math.cos(phi), py: pt * Math.sin(phi), pz, e: Math.sqrt(pt * pt + pz * pz + m * m) };
}

export const ptOf = (v: Vec4): number => Math.hypot(v.px, v.py);
export const phiOf = (v: Vec4): number => Math.atan2(v.py, v.px);
export const pOf = (v: Vec4): number => Math.sqrt(v.px * v.px + v.py * v.py + v.pz * v.pz);

/** Pseudorapidity; ±20 stands in for ±∞ along the beam. */
export function etaOf(v: Vec4): number {
  const pt = ptOf(v);
  if (pt === 0) return v.pz >= 0 ? 20 : -20;
  return Math.asinh(v.pz / pt);
}

export function massOf(v: Vec4): number {
  const m2 = v.e * v.e - v.px * v.px - v.py * v.py - v.pz * v.pz;
  return m2 > 0 ? Math.sqrt(m2) : 0;
}

export const add = (a: Vec4, b: Vec4): Vec4 => ({ px: a.px + b.px, py: a.py + b.py, pz: a.pz + b.pz, e: a.e + b.e });
export const scale = (a: Vec4, f: number): Vec4 => ({ px: a.px * f, py: a.py * f, pz: a.pz * f, e: a.e * f });

/** Lorentz boost of `v` by velocity β = (bx, by, bz). */
export function boost(v: Vec4, bx: number, by: number, bz: number): Vec4 {
  const b2 = bx * bx + by * by + bz * bz;
  if (b2 === 0) return v;
  const gamma = 1 / Math.sqrt(1 - b2);
  const bp = bx * v.px + by * v.py + bz * v.pz;
  const g2 = (gamma - 1) / b2;
  return {
    px: v.px + g2 * bp * bx + gamma * bx * v.e,
    py: v.py + g2 * bp * by + gamma * by * v.e,
    pz: v.pz + g2 * bp * bz + gamma * bz * v.e,
    e: gamma * (v.e + bp),
  };
}

/**
 * Two-body decay of `parent` into daughters of masses m1, m2, isotropic in the parent's
 * rest frame unless `cosTheta` (angle to the z axis in that frame) is given.
 */
export function twoBodyDecay(rng: Rng, parent: Vec4, m1: number, m2: number, cosTheta?: number): [Vec4, Vec4] {
  const M = massOf(parent);
  const s1 = M * M - (m1 + m2) * (m1 + m2);
  const s2 = M * M - (m1 - m2) * (m1 - m2);
  const p = s1 > 0 ? Math.sqrt(s1 * s2) / (2 * M) : 0;
  const c = cosTheta ?? rng.range(-1, 1);
  const s = Math.sqrt(Math.max(0, 1 - c * c));
  const phi = rng.range(-Math.PI, Math.PI);
  const dx = p * s * Math.cos(phi);
  const dy = p * s * Math.sin(phi);
  const dz = p * c;
  const d1: Vec4 = { px: dx, py: dy, pz: dz, e: Math.sqrt(p * p + m1 * m1) };
  const d2: Vec4 = { px: -dx, py: -dy, pz: -dz, e: Math.sqrt(p * p + m2 * m2) };
  const bx = parent.px / parent.e;
  const by = parent.py / parent.e;
  const bz = parent.pz / parent.e;
  return [boost(d1, bx, by, bz), boost(d2, bx, by, bz)];
}
