/**
 * The 14 high-level features (HLF) of a selected event, in the reference order
 * (HLF_NAMES in src/physics/schema.ts).
 */
import type { JetCollection, MissingEtCollection } from '../contract/delphes-event.js';
import { transverseMass } from './kinematics.js';
import type { SelectedLepton } from './selection.js';
import { HLF_NAMES } from './schema.js';

/** Jets count with pT > 30 GeV and |η| < 2.6; b-jets are counted jets with BTag > 0. */
export const JET_PT_MIN = 30;
export const JET_ABS_ETA_MAX = 2.6;

/** Positions in the HLF vector, by feature name: derived from HLF_NAMES so the two cannot drift apart. */
export const HLF = Object.fromEntries(HLF_NAMES.map((name, i) => [name, i])) as Readonly<
  Record<(typeof HLF_NAMES)[number], number>
>;

/**
 * Fills `out` (length 14) for an event whose lepton was selected. Throws when the
 * event has no MissingET entry: MET, phiMET and MT would be meaningless.
 */
export function computeHlf(
  jets: JetCollection,
  missingEt: MissingEtCollection,
  lepton: SelectedLepton,
  out: Float32Array,
): void {
  let ht = 0;
  let nJets = 0;
  let nB = 0;
  const n = jets.pt.length;
  for (let i = 0; i < n; i++) {
    const pt = jets.pt[i]!;
    const eta = jets.eta[i]!;
    if (pt > JET_PT_MIN && eta < JET_ABS_ETA_MAX && eta > -JET_ABS_ETA_MAX) {
      ht += pt;
      nJets++;
      if (jets.btag[i]! > 0) nB++;
    }
  }
  if (missingEt.met.length === 0) throw new Error('selected event has no MissingET entry');
  const met = missingEt.met[0]!;
  const metPhi = missingEt.phi[0]!;
  out[HLF.HT] = ht;
  out[HLF.MET] = met;
  out[HLF.phiMET] = metPhi;
  out[HLF.MT] = transverseMass(lepton.pt, lepton.phi, met, metPhi);
  out[HLF.nJets] = nJets;
  out[HLF.nBjets] = nB;
  out[HLF.LepPt] = lepton.pt;
  out[HLF.LepEta] = lepton.eta;
  out[HLF.LepPhi] = lepton.phi;
  out[HLF.LepIsoCh] = lepton.iso.ch;
  out[HLF.LepIsoGamma] = lepton.iso.gamma;
  out[HLF.LepIsoNeu] = lepton.iso.neu;
  out[HLF.LepCharge] = lepton.charge;
  out[HLF.LepIsEle] = lepton.isEle ? 1 : 0;
}
