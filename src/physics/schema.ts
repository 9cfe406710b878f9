/**
 * The feature schema shared by feature preparation (writer side) and training
 * (reader side). Parquet column names are part of the public, documented format:
 * users read these files with pyarrow and DuckDB.
 */
import { EVENT_CLASSES, type EventClass } from '../contract/samples.js';

/** The 14 high-level features, in the reference order. */
export const HLF_NAMES = [
  'HT',
  'MET',
  'phiMET',
  'MT',
  'nJets',
  'nBjets',
  'LepPt',
  'LepEta',
  'LepPhi',
  'LepIsoCh',
  'LepIsoGamma',
  'LepIsoNeu',
  'LepCharge',
  'LepIsEle',
] as const;

/** The 19 per-particle features, in the reference order. */
export const PARTICLE_FEATURE_NAMES = [
  'Energy',
  'Px',
  'Py',
  'Pz',
  'Pt',
  'Eta',
  'Phi',
  'vtxX',
  'vtxY',
  'vtxZ',
  'ChPFIso',
  'GammaPFIso',
  'NeuPFIso',
  'isChHad',
  'isNeuHad',
  'isGamma',
  'isEle',
  'isMu',
  'Charge',
] as const;

export const N_HLF = HLF_NAMES.length;
export const N_PARTICLE_FEATURES = PARTICLE_FEATURE_NAMES.length;
/** lepton + 450 tracks + 150 photons + 200 neutral hadrons */
export const MAX_PARTICLES = 801;

/** One selected event, as feature preparation produces it and training consumes it. */
export interface FeatureRow {
  readonly label: number;
  readonly className: string;
  /** length N_HLF */
  readonly hlf: Float32Array;
  /** row-major nParticles × N_PARTICLE_FEATURES, sorted by decreasing ΔR from the lepton (lepton last) */
  readonly particles: Float32Array;
  readonly sourceUri: string;
  readonly sourceEntry: number;
}

// The classes live with the samples in src/contract, which workflow code reads them from.
export { EVENT_CLASSES, type EventClass };
export const labelOf = (c: EventClass): number => EVENT_CLASSES.indexOf(c);

/** Where feature preparation and dataset assembly send rows; the Parquet feature writer is one. */
export interface FeatureSink {
  write(row: FeatureRow): Promise<void>;
}
