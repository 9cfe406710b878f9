/**
 * Physics validation of the synthetic generator: properties that make the topology
 * classification meaningful, measured with the pipeline's own filter and HLF code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEvent, resolveMix } from '../src/generator/index.js';
import { selectedSample, trainAndEvaluate } from '../scripts/separability.js';
import { type DelphesEvent } from '../src/contract/delphes-event.js';
import { EVENT_CLASSES, type EventClass } from '../src/physics/schema.js';
import { FeatureExtractor } from '../src/physics/features.js';
import { HLF } from '../src/physics/hlf.js';

const N = 1500;

interface ClassStats {
  events: DelphesEvent[];
  selected: Float32Array[];
  /** events with an electron or tight muon above 23 GeV */
  withHardLepton: number;
  met: number[];
}

function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

const stats = {} as Record<EventClass, ClassStats>;
for (const cls of EVENT_CLASSES) {
  const fx = new FeatureExtractor();
  const s: ClassStats = { events: [], selected: [], withHardLepton: 0, met: [] };
  for (let i = 0; i < N; i++) {
    const e = generateEvent(2024, i, resolveMix({ [cls]: 1 })).event;
    s.events.push(e);
    s.met.push(e.missingEt.met[0]!);
    if ([...e.electrons.pt, ...e.muons.pt].some((pt) => pt > 23)) s.withHardLepton++;
    if (fx.select(e)) s.selected.push(Float32Array.from(fx.hlf));
  }
  stats[cls] = s;
}
const passRate = (c: EventClass): number => stats[c].selected.length / N;
const hlf = (c: EventClass, k: number): number[] => stats[c].selected.map((h) => h[k]!);

test('isolated-lepton filter: most W and tt̄ pass, a small fraction of QCD', () => {
  assert.ok(passRate('wjets') > 0.75, `W pass rate ${passRate('wjets')}`);
  assert.ok(passRate('ttbar') > 0.7, `tt̄ pass rate ${passRate('ttbar')}`);
  assert.ok(passRate('qcd') > 0.03 && passRate('qcd') < 0.2, `QCD pass rate ${passRate('qcd')}`);
});

test('QCD leptons are mostly absent or non-isolated', () => {
  assert.ok(stats.qcd.withHardLepton / N < 0.3, `QCD with a 23 GeV lepton: ${stats.qcd.withHardLepton / N}`);
  // Of W events with a hard lepton almost all pass isolation; of QCD ones far fewer.
  const isoEff = (c: EventClass): number => stats[c].selected.length / stats[c].withHardLepton;
  assert.ok(isoEff('wjets') > 0.95, `W isolation efficiency ${isoEff('wjets')}`);
  assert.ok(isoEff('qcd') < 0.8, `QCD isolation efficiency ${isoEff('qcd')}`);
  const iso = (c: EventClass): number =>
    mean(stats[c].selected.map((h) => h[HLF.LepIsoCh]! + h[HLF.LepIsoGamma]! + h[HLF.LepIsoNeu]!));
  assert.ok(iso('qcd') > 2 * iso('wjets'), `mean isolation QCD ${iso('qcd')} vs W ${iso('wjets')}`);
});

test('W: Jacobian peak of the lepton pT and MT near mW', () => {
  const mt = hlf('wjets', HLF.MT);
  const lepPt = hlf('wjets', HLF.LepPt);
  const medianMt = quantile(mt, 0.5);
  assert.ok(medianMt > 60 && medianMt < 85, `median MT ${medianMt}`);
  const inPeak = mt.filter((m) => m > 50 && m < 100).length / mt.length;
  assert.ok(inPeak > 0.5, `MT in [50, 100]: ${inPeak}`);
  // The edge: few events above mW + resolution.
  assert.ok(mt.filter((m) => m > 120).length / mt.length < 0.1);
  const medianPt = quantile(lepPt, 0.5);
  assert.ok(medianPt > 30 && medianPt < 45, `median lepton pT ${medianPt}`);
  // QCD MT sits well below.
  assert.ok(quantile(hlf('qcd', HLF.MT), 0.5) < medianMt - 20);
});

test('real MET in W and tt̄, small fake MET in QCD', () => {
  const medQcd = quantile(stats.qcd.met, 0.5);
  assert.ok(medQcd > 5 && medQcd < 35, `QCD median MET ${medQcd}`);
  assert.ok(quantile(stats.wjets.met, 0.5) > 1.4 * medQcd);
  assert.ok(quantile(stats.ttbar.met, 0.5) > 1.8 * medQcd);
});

test('tt̄: more jets, more b-jets, higher HT than W+jets and QCD', () => {
  const nb = (c: EventClass): number => mean(hlf(c, HLF.nBjets));
  const nj = (c: EventClass): number => mean(hlf(c, HLF.nJets));
  const ht = (c: EventClass): number => quantile(hlf(c, HLF.HT), 0.5);
  assert.ok(nb('ttbar') > 0.9 && nb('ttbar') < 1.6, `tt̄ b-jets ${nb('ttbar')}`);
  assert.ok(nb('ttbar') > 5 * nb('wjets'));
  assert.ok(nb('ttbar') > nb('qcd'));
  assert.ok(nj('ttbar') > 2.5, `tt̄ jets ${nj('ttbar')}`);
  assert.ok(nj('wjets') < 0.8, `W jets ${nj('wjets')}`);
  assert.ok(ht('ttbar') > 150 && ht('ttbar') > 3 * ht('qcd'));
});

test('particle multiplicities within the reference caps (450 / 150 / 200 after cuts)', () => {
  for (const cls of EVENT_CLASSES) {
    const tracks = stats[cls].events.map((e) => e.tracks.pt.filter((pt) => pt > 0.5).length);
    const photons = stats[cls].events.map((e) => e.photons.et.filter((et) => et > 1).length);
    const neutrals = stats[cls].events.map((e) => e.neutralHadrons.et.filter((et) => et > 1).length);
    assert.ok(quantile(tracks, 0.5) > 100 && quantile(tracks, 0.99) < 450, `${cls} tracks`);
    assert.ok(quantile(photons, 0.5) > 20 && quantile(photons, 0.99) < 150, `${cls} photons`);
    assert.ok(quantile(neutrals, 0.5) > 20 && quantile(neutrals, 0.99) < 200, `${cls} neutral hadrons`);
    // Soft candidates below the analysis cuts exist, so the cuts matter.
    assert.ok(stats[cls].events.every((e) => e.tracks.pt.some((pt) => pt < 0.5)));
  }
});

test('jets are collimated sprays: ~60% charged, ~25% photons, the rest neutral hadrons', () => {
  let ch = 0,
    gamma = 0,
    neu = 0,
    core = 0,
    jets = 0;
  const dr2 = (eta1: number, phi1: number, eta2: number, phi2: number): number => {
    const dp = Math.atan2(Math.sin(phi1 - phi2), Math.cos(phi1 - phi2));
    return (eta1 - eta2) ** 2 + dp * dp;
  };
  for (const e of stats.ttbar.events) {
    for (let j = 0; j < e.jets.pt.length; j++) {
      if (e.jets.pt[j]! < 80 || Math.abs(e.jets.eta[j]!) > 2) continue;
      jets++;
      const sum = (eta: ArrayLike<number>, phi: ArrayLike<number>, pt: ArrayLike<number>): number => {
        let s = 0;
        for (let k = 0; k < pt.length; k++) {
          const d = dr2(e.jets.eta[j]!, e.jets.phi[j]!, eta[k]!, phi[k]!);
          if (d < 0.16) s += pt[k]!;
          if (d < 0.01) core += pt[k]!;
        }
        return s;
      };
      ch += sum(e.tracks.eta, e.tracks.phi, e.tracks.pt);
      gamma += sum(e.photons.eta, e.photons.phi, e.photons.et);
      neu += sum(e.neutralHadrons.eta, e.neutralHadrons.phi, e.neutralHadrons.et);
    }
  }
  const total = ch + gamma + neu;
  assert.ok(jets > 500, `${jets} jets`);
  assert.ok(ch / total > 0.52 && ch / total < 0.72, `charged fraction ${ch / total}`);
  assert.ok(gamma / total > 0.18 && gamma / total < 0.35, `photon fraction ${gamma / total}`);
  assert.ok(neu / total > 0.05 && neu / total < 0.2, `neutral-hadron fraction ${neu / total}`);
  // Most of the pT within ΔR < 0.4 sits within ΔR < 0.1 of the axis.
  assert.ok(core / total > 0.7, `core fraction ${core / total}`);
});

test('collections are internally consistent', () => {
  const pileupZ: number[] = [];
  for (const cls of EVENT_CLASSES) {
    for (const e of stats[cls].events.slice(0, 300)) {
      for (const t of [e.photons, e.neutralHadrons]) {
        for (let i = 0; i < t.et.length; i++) {
          const et = t.e[i]! / Math.cosh(t.eta[i]!);
          assert.ok(Math.abs(et - t.et[i]!) <= 1e-5 * et, 'ET = E / cosh η');
          assert.ok(Math.abs(t.phi[i]!) <= Math.PI);
        }
      }
      const tr = e.tracks;
      for (let i = 0; i < tr.pt.length; i++) {
        const pid = tr.pid[i]!;
        const apid = Math.abs(pid);
        assert.ok(Math.abs(tr.charge[i]!) === 1);
        // PDG: leptons e⁻/μ⁻ have positive id, hadrons π⁺/K⁺/p positive id.
        assert.equal(Math.sign(pid), apid === 11 || apid === 13 ? -tr.charge[i]! : tr.charge[i]!);
        assert.ok(Math.abs(tr.eta[i]!) < 2.5 && tr.pt[i]! > 0.25);
        pileupZ.push(tr.z[i]!);
      }
      // Every reconstructed lepton has its own track, same charge, same direction, right PID.
      for (const [coll, id] of [
        [e.electrons, 11],
        [e.muons, 13],
      ] as const) {
        for (let i = 0; i < coll.pt.length; i++) {
          let found = false;
          for (let k = 0; k < tr.pt.length && !found; k++) {
            found =
              Math.abs(tr.pid[k]!) === id &&
              tr.charge[k] === coll.charge[i] &&
              tr.eta[k] === coll.eta[i] &&
              tr.phi[k] === coll.phi[i];
          }
          assert.ok(found, `lepton ${i} (pid ${id}) has no matching EFlowTrack`);
        }
      }
      for (let i = 1; i < e.jets.pt.length; i++) assert.ok(e.jets.pt[i - 1]! >= e.jets.pt[i]!, 'jets sorted by pT');
      for (let i = 0; i < e.jets.pt.length; i++) assert.ok(e.jets.pt[i]! >= 20 && Math.abs(e.jets.eta[i]!) < 5);
      // MissingET is minus the vector sum of every EFlow object.
      let sx = 0;
      let sy = 0;
      const add = (pt: ArrayLike<number>, phi: ArrayLike<number>): void => {
        for (let i = 0; i < pt.length; i++) {
          sx += pt[i]! * Math.cos(phi[i]!);
          sy += pt[i]! * Math.sin(phi[i]!);
        }
      };
      add(tr.pt, tr.phi);
      add(e.photons.et, e.photons.phi);
      add(e.neutralHadrons.et, e.neutralHadrons.phi);
      assert.equal(e.missingEt.met.length, 1);
      const met = e.missingEt.met[0]!;
      assert.ok(Math.abs(Math.hypot(sx, sy) - met) < 1e-3 * Math.max(1, met), `MET ${met} vs ${Math.hypot(sx, sy)}`);
      const dphi = Math.atan2(-sy, -sx) - e.missingEt.phi[0]!;
      if (met > 1) assert.ok(Math.abs(Math.atan2(Math.sin(dphi), Math.cos(dphi))) < 1e-3, 'MET φ');
    }
  }
  // Vertices spread along the beam with σ ≈ 50 mm (tracks from ~30 pile-up vertices).
  const sd = Math.sqrt(mean(pileupZ.map((z) => z * z)));
  assert.ok(sd > 40 && sd < 60, `track z spread ${sd}`);
});

test('an HLF classifier separates the classes well but not perfectly', () => {
  const sample = selectedSample(3000, 77);
  const r = trainAndEvaluate(sample, { seed: 5, epochs: 25 });
  for (const cls of EVENT_CLASSES) {
    assert.ok(r.auc[cls] > 0.9 && r.auc[cls] < 0.999, `${cls} AUC ${r.auc[cls]}`);
  }
  assert.ok(r.accuracy > 0.75 && r.accuracy < 0.99, `accuracy ${r.accuracy}`);
});
