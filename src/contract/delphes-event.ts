/**
 * The in-memory form of one Delphes event, restricted to the objects hepflow reads.
 *
 * This is the contract between the Delphes reader and writer (src/delphes, over the ROOT
 * format library src/root), the synthetic generator (src/generator) and the feature
 * code (src/physics). Collections
 * are structs of typed arrays (one array per leaf, all of the collection's length) so
 * that readers can hand out views into decompressed baskets without allocating an
 * object per particle. Units follow Delphes: GeV, radians, millimetres.
 */

/** Delphes `Electron` / `MuonTight` (class Electron / Muon). */
export interface LeptonCollection {
  readonly pt: Float32Array;
  readonly eta: Float32Array;
  readonly phi: Float32Array;
  readonly charge: Int32Array;
}

/** Delphes `Jet` (class Jet). `btag` is the BTag bit mask (UInt_t in ROOT). */
export interface JetCollection {
  readonly pt: Float32Array;
  readonly eta: Float32Array;
  readonly phi: Float32Array;
  readonly mass: Float32Array;
  readonly btag: Uint32Array;
}

/** Delphes `MissingET` (class MissingET); one entry per event in practice. */
export interface MissingEtCollection {
  readonly met: Float32Array;
  readonly eta: Float32Array;
  readonly phi: Float32Array;
}

/** Delphes `EFlowTrack` (class Track). x, y, z: the track's reference point (vertex). */
export interface TrackCollection {
  readonly pt: Float32Array;
  readonly eta: Float32Array;
  readonly phi: Float32Array;
  readonly charge: Int32Array;
  /** PDG id of the particle the track was made from (11 e, 13 mu, 211 pi, ...; signed). */
  readonly pid: Int32Array;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly z: Float32Array;
}

/** Delphes `EFlowPhoton` / `EFlowNeutralHadron` (class Tower). */
export interface TowerCollection {
  readonly et: Float32Array;
  readonly eta: Float32Array;
  readonly phi: Float32Array;
  readonly e: Float32Array;
}

export interface DelphesEvent {
  readonly electrons: LeptonCollection;
  readonly muons: LeptonCollection;
  readonly jets: JetCollection;
  readonly missingEt: MissingEtCollection;
  readonly tracks: TrackCollection;
  readonly photons: TowerCollection;
  readonly neutralHadrons: TowerCollection;
}

/** Delphes branch names hepflow reads, keyed by the DelphesEvent field they fill. */
export const DELPHES_BRANCHES = {
  electrons: 'Electron',
  muons: 'MuonTight',
  jets: 'Jet',
  missingEt: 'MissingET',
  tracks: 'EFlowTrack',
  photons: 'EFlowPhoton',
  neutralHadrons: 'EFlowNeutralHadron',
} as const satisfies Record<keyof DelphesEvent, string>;
