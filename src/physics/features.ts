/**
 * Event selection and feature extraction for one Delphes event at a time, with the
 * cut-flow counters. One FeatureExtractor per stream (it is not re-entrant): its
 * buffers are reused from event to event.
 */
import type { DelphesEvent } from '../contract/delphes-event.js';
import { N_HLF } from './schema.js';
import { ConeIndex, TRACK_PT_MIN, TOWER_ET_MIN } from './isolation.js';
import { newSelectedLepton, selectLepton, type SelectedLepton } from './selection.js';
import { computeHlf } from './hlf.js';
import { SequenceBuilder } from './sequence.js';

/**
 * Events surviving each cut, cumulatively, in the order applied: at least one
 * candidate track (pT > 0.5), then photon (ET > 1), then neutral hadron (ET > 1),
 * then an isolated lepton.
 */
/**
 * Version of the selection and feature definitions. Part of every feature output's
 * content address: bump it whenever a change here alters any output value, so reruns
 * recompute instead of reusing stale parts.
 */
export const FEATURE_DEFINITION_VERSION = 1;

export interface CutFlow {
  read: number;
  withTrack: number;
  withPhoton: number;
  withNeutralHadron: number;
  withIsolatedLepton: number;
}

export const emptyCutFlow = (): CutFlow => ({
  read: 0,
  withTrack: 0,
  withPhoton: 0,
  withNeutralHadron: 0,
  withIsolatedLepton: 0,
});

export function addCutFlow(a: CutFlow, b: CutFlow): CutFlow {
  return {
    read: a.read + b.read,
    withTrack: a.withTrack + b.withTrack,
    withPhoton: a.withPhoton + b.withPhoton,
    withNeutralHadron: a.withNeutralHadron + b.withNeutralHadron,
    withIsolatedLepton: a.withIsolatedLepton + b.withIsolatedLepton,
  };
}

/**
 * What feature preparation and serving need from an extractor: FeatureExtractor here, or
 * the native one (features-native.ts), chosen by createFeatureExtractor (extractor.ts).
 */
export interface EventFeatureExtractor {
  readonly cutFlow: CutFlow;
  /** HLF of the last selected event; overwritten by the next select(). */
  readonly hlf: Float32Array;
  /** The lepton of the last selected event. */
  readonly lepton: SelectedLepton;
  /** Applies the filter and, if the event passes, computes its HLF; returns whether it passed. */
  select(event: DelphesEvent): boolean;
  /** The particle sequence (n × 19, row-major, lepton last) of the event just selected, a new array. */
  particles(): Float32Array;
  /** The same, possibly a view into a buffer the next select() overwrites (no allocation). */
  particlesView(): Float32Array;
}

export class FeatureExtractor implements EventFeatureExtractor {
  readonly cutFlow: CutFlow = emptyCutFlow();
  /** HLF of the last selected event; overwritten by the next select(). */
  readonly hlf = new Float32Array(N_HLF);
  /** The lepton of the last selected event. */
  readonly lepton: SelectedLepton = newSelectedLepton();
  private readonly tracks = new ConeIndex();
  private readonly photons = new ConeIndex();
  private readonly neutrals = new ConeIndex();
  private readonly sequence = new SequenceBuilder();
  private current: DelphesEvent | null = null;

  /**
   * Applies the filter and, if the event passes, computes its HLF into `this.hlf`.
   * Returns whether the event was selected.
   */
  select(event: DelphesEvent): boolean {
    const cf = this.cutFlow;
    this.current = null;
    cf.read++;
    const t = event.tracks;
    this.tracks.build(t.pt, t.eta, t.phi, TRACK_PT_MIN);
    if (this.tracks.n === 0) return false;
    cf.withTrack++;
    const p = event.photons;
    this.photons.build(p.et, p.eta, p.phi, TOWER_ET_MIN);
    if (this.photons.n === 0) return false;
    cf.withPhoton++;
    const h = event.neutralHadrons;
    this.neutrals.build(h.et, h.eta, h.phi, TOWER_ET_MIN);
    if (this.neutrals.n === 0) return false;
    cf.withNeutralHadron++;
    if (!selectLepton(event.electrons, event.muons, t, this.tracks, this.photons, this.neutrals, this.lepton)) {
      return false;
    }
    computeHlf(event.jets, event.missingEt, this.lepton, this.hlf);
    cf.withIsolatedLepton++;
    this.current = event;
    return true;
  }

  /** The particle sequence (n × 19, row-major, lepton last) of the event just selected. */
  particles(): Float32Array {
    const event = this.current;
    if (event === null) throw new Error('particles() called without a selected event');
    return this.sequence.build(event, this.lepton, this.tracks, this.photons, this.neutrals);
  }

  /** A new array here too: the sequence is built into one. */
  particlesView(): Float32Array {
    return this.particles();
  }
}
