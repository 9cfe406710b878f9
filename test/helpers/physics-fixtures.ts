/** Builds DelphesEvents from short literal descriptions, for the physics tests. */
import type { DelphesEvent } from '../../src/contract/delphes-event.js';

export interface LeptonSpec {
  pt: number;
  eta: number;
  phi: number;
  charge: number;
}
export interface JetSpec {
  pt: number;
  eta: number;
  phi?: number;
  mass?: number;
  btag?: number;
}
export interface TrackSpec {
  pt: number;
  eta: number;
  phi: number;
  charge?: number;
  pid?: number;
  x?: number;
  y?: number;
  z?: number;
}
/** `e` defaults to ET·cosh η (a massless tower). */
export interface TowerSpec {
  et: number;
  eta: number;
  phi: number;
  e?: number;
}

export interface EventSpec {
  electrons?: LeptonSpec[];
  muons?: LeptonSpec[];
  jets?: JetSpec[];
  met?: { met: number; phi: number } | null;
  tracks?: TrackSpec[];
  photons?: TowerSpec[];
  neutrals?: TowerSpec[];
}

const f32 = <T>(xs: T[], get: (x: T) => number): Float32Array => Float32Array.from(xs, get);
const i32 = <T>(xs: T[], get: (x: T) => number): Int32Array => Int32Array.from(xs, get);

function leptons(xs: LeptonSpec[] = []) {
  return {
    pt: f32(xs, (x) => x.pt),
    eta: f32(xs, (x) => x.eta),
    phi: f32(xs, (x) => x.phi),
    charge: i32(xs, (x) => x.charge),
  };
}

function towers(xs: TowerSpec[] = []) {
  return {
    et: f32(xs, (x) => x.et),
    eta: f32(xs, (x) => x.eta),
    phi: f32(xs, (x) => x.phi),
    e: f32(xs, (x) => x.e ?? x.et * Math.cosh(x.eta)),
  };
}

export function makeEvent(s: EventSpec): DelphesEvent {
  const jets = s.jets ?? [];
  const tracks = s.tracks ?? [];
  const met = s.met === undefined ? { met: 0, phi: 0 } : s.met;
  return {
    electrons: leptons(s.electrons),
    muons: leptons(s.muons),
    jets: {
      pt: f32(jets, (j) => j.pt),
      eta: f32(jets, (j) => j.eta),
      phi: f32(jets, (j) => j.phi ?? 0),
      mass: f32(jets, (j) => j.mass ?? 0),
      btag: Uint32Array.from(jets, (j) => j.btag ?? 0),
    },
    missingEt:
      met === null
        ? { met: new Float32Array(0), eta: new Float32Array(0), phi: new Float32Array(0) }
        : { met: Float32Array.of(met.met), eta: Float32Array.of(0), phi: Float32Array.of(met.phi) },
    tracks: {
      pt: f32(tracks, (t) => t.pt),
      eta: f32(tracks, (t) => t.eta),
      phi: f32(tracks, (t) => t.phi),
      charge: i32(tracks, (t) => t.charge ?? 1),
      pid: i32(tracks, (t) => t.pid ?? 211),
      x: f32(tracks, (t) => t.x ?? 0),
      y: f32(tracks, (t) => t.y ?? 0),
      z: f32(tracks, (t) => t.z ?? 0),
    },
    photons: towers(s.photons),
    neutralHadrons: towers(s.neutrals),
  };
}

/** Smallest event that passes the candidate cuts: one track, photon and neutral hadron far from everything. */
export const FILLER: Pick<EventSpec, 'tracks' | 'photons' | 'neutrals'> = {
  tracks: [{ pt: 1, eta: -2.0, phi: -2.0 }],
  photons: [{ et: 2, eta: -2.2, phi: 2.0 }],
  neutrals: [{ et: 2, eta: 2.2, phi: -1.0 }],
};
