/**
 * The feature extractor as a C++ kernel (native/features, N-API, built by
 * infra/bootstrap.sh): the same selection, HLF and particle sequence as FeatureExtractor,
 * value for value, several times faster on pile-up events. test/physics-native.test.ts
 * holds the two equal on the real Delphes files.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../paths.js';
import type { DelphesEvent } from '../contract/delphes-event.js';
import { emptyCutFlow, type EventFeatureExtractor } from './features.js';
import { newSelectedLepton } from './selection.js';
import { MAX_PARTICLES, N_HLF, N_PARTICLE_FEATURES } from './schema.js';

interface NativeExtractor {
  /** The 29 arrays in the order of select() below; returns an Outcome. */
  select(...arrays: ArrayLike<number>[]): Outcome;
}

interface FeaturesAddon {
  Extractor: new (out: Float32Array, info: Float64Array) => NativeExtractor;
}

/** native/features/src/extractor.h: Outcome. */
const enum Outcome {
  NoTrack = 0,
  NoPhoton = 1,
  NoNeutralHadron = 2,
  NoLepton = 3,
  Selected = 4,
  NonFiniteCandidate = 5,
  NoMissingEt = 6,
  NonFiniteLepton = 7,
}

/** native/features/src/addon.cc: where the particles start in `out`, and the `info` slots. */
const PARTICLES_AT = 16;
const enum Info {
  IsEle,
  Index,
  Pt,
  Eta,
  Phi,
  Charge,
  IsoCh,
  IsoGamma,
  IsoNeu,
  OwnTrack,
  N,
  BadKind,
  BadIndex,
  Length,
}

export const FEATURES_ADDON_PATH = path.join(projectRoot, 'native/features/build/Release/features.node');

class NativeFeatureExtractor implements EventFeatureExtractor {
  readonly cutFlow = emptyCutFlow();
  readonly lepton = newSelectedLepton();
  readonly hlf: Float32Array;
  private readonly out = new Float32Array(PARTICLES_AT + MAX_PARTICLES * N_PARTICLE_FEATURES);
  private readonly info = new Float64Array(Info.Length);
  private readonly native: NativeExtractor;
  private n = -1;

  constructor(addon: FeaturesAddon) {
    this.hlf = this.out.subarray(0, N_HLF);
    this.native = new addon.Extractor(this.out, this.info);
  }

  select(event: DelphesEvent): boolean {
    const cf = this.cutFlow;
    this.n = -1;
    cf.read++;
    const { tracks: t, photons: p, neutralHadrons: h, electrons: e, muons: m, jets: j, missingEt: met } = event;
    // biome-ignore format: one line per collection
    const r = this.native.select(
      t.pt, t.eta, t.phi, t.charge, t.pid, t.x, t.y, t.z,
      p.et, p.eta, p.phi, p.e,
      h.et, h.eta, h.phi, h.e,
      e.pt, e.eta, e.phi, e.charge,
      m.pt, m.eta, m.phi, m.charge,
      j.pt, j.eta, j.btag,
      met.met, met.phi,
    );
    // The cuts passed (as the cut flow counts them) before the outcome, errors included.
    const passed =
      r === Outcome.NonFiniteCandidate
        ? this.info[Info.BadKind]!
        : r === Outcome.NoMissingEt || r === Outcome.NonFiniteLepton
          ? 3
          : r;
    if (passed > 0) cf.withTrack++;
    if (passed > 1) cf.withPhoton++;
    if (passed > 2) cf.withNeutralHadron++;
    if (r === Outcome.NonFiniteCandidate) {
      const c = [t, p, h][this.info[Info.BadKind]!]!;
      const i = this.info[Info.BadIndex]!;
      throw new Error(`candidate ${i} has a non-finite η or φ (${c.eta[i]}, ${c.phi[i]})`);
    }
    if (r === Outcome.NonFiniteLepton) {
      const muon = this.info[Info.BadKind] === 4;
      const i = this.info[Info.BadIndex]!;
      const l = muon ? m : e;
      throw new Error(`${muon ? 'muon' : 'electron'} ${i} has a non-finite η or φ (${l.eta[i]}, ${l.phi[i]})`);
    }
    if (r === Outcome.NoMissingEt) throw new Error('selected event has no MissingET entry');
    if (r !== Outcome.Selected) return false;
    cf.withIsolatedLepton++;
    const f = this.info;
    const l = this.lepton;
    l.found = true;
    l.isEle = f[Info.IsEle] === 1;
    l.index = f[Info.Index]!;
    l.pt = f[Info.Pt]!;
    l.eta = f[Info.Eta]!;
    l.phi = f[Info.Phi]!;
    l.charge = f[Info.Charge]!;
    l.iso.ch = f[Info.IsoCh]!;
    l.iso.gamma = f[Info.IsoGamma]!;
    l.iso.neu = f[Info.IsoNeu]!;
    l.ownTrack = f[Info.OwnTrack]!;
    this.n = f[Info.N]!;
    return true;
  }

  particles(): Float32Array {
    return this.particlesView().slice();
  }

  particlesView(): Float32Array {
    if (this.n < 0) throw new Error('particles() called without a selected event');
    return this.out.subarray(PARTICLES_AT, PARTICLES_AT + this.n * N_PARTICLE_FEATURES);
  }
}

/** Loads the addon, or says why it cannot be used. */
export function loadFeaturesAddon(
  file = FEATURES_ADDON_PATH,
): { create: () => EventFeatureExtractor } | { error: string } {
  if (!existsSync(file)) return { error: `${file} not built (infra/bootstrap.sh builds it with node-gyp)` };
  let addon: FeaturesAddon;
  try {
    addon = createRequire(import.meta.url)(file) as FeaturesAddon;
  } catch (e) {
    return { error: `${file} failed to load: ${(e as Error).message}` };
  }
  return { create: () => new NativeFeatureExtractor(addon) };
}
