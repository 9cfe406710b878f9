import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureExtractor } from '../src/physics/features.js';
import { HLF } from '../src/physics/hlf.js';
import { MASS_KAON, MASS_PION } from '../src/physics/kinematics.js';
import { PARTICLE_FEATURE_NAMES, N_PARTICLE_FEATURES as F } from '../src/physics/schema.js';
import { makeEvent, FILLER, type EventSpec } from './helpers/physics-fixtures.js';

const fr = Math.fround;
const close = (a: number, b: number, tol = 1e-5, what = '') =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} != ${b}`);
const col = (name: (typeof PARTICLE_FEATURE_NAMES)[number]) => PARTICLE_FEATURE_NAMES.indexOf(name);
const row = (p: Float32Array, r: number) => Array.from(p.subarray(r * F, (r + 1) * F));

const isolatedElectron = (extra: EventSpec = {}): EventSpec => ({
  electrons: [{ pt: 50, eta: 0, phi: 0, charge: -1 }],
  met: { met: 30, phi: Math.PI / 2 },
  ...FILLER,
  ...extra,
});

test('isolation cone: ΔR < 0.3 strictly, thresholds strict, own track excluded', () => {
  const x = new FeatureExtractor();
  const ok = x.select(
    makeEvent(
      isolatedElectron({
        tracks: [
          { pt: 50, eta: 0, phi: 0, charge: -1, pid: 11 }, // the electron's own track
          { pt: 2, eta: 0.29, phi: 0 }, // in
          { pt: 4, eta: 0.31, phi: 0 }, // out
          { pt: 0.5, eta: 0.1, phi: 0 }, // at threshold: not a candidate
          { pt: 0.6, eta: 0, phi: 0.1 }, // in
          ...FILLER.tracks!,
        ],
        photons: [{ et: 3, eta: 0, phi: 0.2 }, { et: 1, eta: 0, phi: 0.1 }, ...FILLER.photons!],
        neutrals: [{ et: 4, eta: 0.2, phi: -0.2 }, { et: 1.5, eta: 0.25, phi: -0.25 }, ...FILLER.neutrals!],
      }),
    ),
  );
  assert.ok(ok);
  close(x.hlf[HLF.LepIsoCh]!, (fr(2) + fr(0.6)) / 50, 1e-6, 'ch');
  close(x.hlf[HLF.LepIsoGamma]!, 3 / 50, 1e-6, 'gamma');
  // ΔR(0.25, −0.25) = 0.354: out; ΔR(0.2, −0.2) = 0.283: in.
  close(x.hlf[HLF.LepIsoNeu]!, 4 / 50, 1e-6, 'neu');
  assert.equal(x.lepton.ownTrack, 0);
});

test('isolation cone wraps across φ = ±π', () => {
  const x = new FeatureExtractor();
  assert.ok(
    x.select(
      makeEvent(
        isolatedElectron({
          electrons: [{ pt: 50, eta: 0, phi: 3.1, charge: 1 }],
          photons: [{ et: 5, eta: 0, phi: -3.1 }, ...FILLER.photons!], // ΔR 0.083: in
          neutrals: [{ et: 5, eta: 0, phi: 2.75 }, ...FILLER.neutrals!], // ΔR 0.35: out
        }),
      ),
    ),
  );
  close(x.hlf[HLF.LepIsoGamma]!, 0.1, 1e-6);
  assert.equal(x.hlf[HLF.LepIsoNeu], 0);
  assert.equal(x.hlf[HLF.LepCharge], 1);
});

test('lepton cuts: pT > 23 strictly, relative isolation < 0.45 strictly', () => {
  const x = new FeatureExtractor();
  assert.equal(x.select(makeEvent(isolatedElectron({ electrons: [{ pt: 23, eta: 0, phi: 0, charge: 1 }] }))), false);
  assert.ok(x.select(makeEvent(isolatedElectron({ electrons: [{ pt: 23.5, eta: 0, phi: 0, charge: 1 }] }))));
  // Iso exactly 0.45 (photon ET 18 on a 40 GeV muon) fails; 17.9 passes.
  const withPhoton = (et: number) =>
    isolatedElectron({
      electrons: [],
      muons: [{ pt: 40, eta: 0, phi: 0, charge: 1 }],
      photons: [{ et, eta: 0, phi: 0.1 }, ...FILLER.photons!],
    });
  assert.equal(x.select(makeEvent(withPhoton(18))), false);
  assert.ok(x.select(makeEvent(withPhoton(17.9))));
  assert.equal(x.hlf[HLF.LepIsEle], 0);
});

test('several leptons: the highest-pT isolated one is chosen', () => {
  const x = new FeatureExtractor();
  const spec = isolatedElectron({
    electrons: [
      { pt: 30, eta: 1, phi: 1, charge: -1 },
      { pt: 45, eta: -1, phi: -1, charge: 1 },
    ],
    muons: [
      { pt: 80, eta: 0, phi: 0, charge: 1 }, // hardest but not isolated
      { pt: 40, eta: 0.5, phi: 2, charge: -1 },
    ],
    neutrals: [{ et: 60, eta: 0, phi: 0.1 }, ...FILLER.neutrals!],
  });
  assert.ok(x.select(makeEvent(spec)));
  assert.equal(x.hlf[HLF.LepIsEle], 1);
  assert.equal(x.hlf[HLF.LepPt], 45);
  assert.equal(x.hlf[HLF.LepCharge], 1);
  close(x.hlf[HLF.LepEta]!, -1);
  // Drop that electron: the 40 GeV muon beats the 30 GeV electron.
  spec.electrons = [spec.electrons![0]!];
  assert.ok(x.select(makeEvent(spec)));
  assert.equal(x.hlf[HLF.LepIsEle], 0);
  assert.equal(x.hlf[HLF.LepPt], 40);
});

test('jets: pT > 30 and |η| < 2.6 strictly; b-jets among counted jets; HT, MET, MT', () => {
  const x = new FeatureExtractor();
  assert.ok(
    x.select(
      makeEvent(
        isolatedElectron({
          jets: [
            { pt: 30, eta: 0 }, // pT at threshold: out
            { pt: 30.5, eta: 0, btag: 1 }, // in, b
            { pt: 100, eta: 2.61, btag: 1 }, // |η| above 2.6: out
            { pt: 100, eta: -2.6000002, btag: 1 }, // float32 just past −2.6: out
            { pt: 50, eta: -2.59 }, // in
            { pt: 70, eta: 2.5, btag: 2 }, // in, b (any non-zero bit)
            { pt: 29.9, eta: 0, btag: 1 }, // out even though b-tagged
          ],
        }),
      ),
    ),
  );
  assert.equal(x.hlf[HLF.nJets], 3);
  assert.equal(x.hlf[HLF.nBjets], 2);
  close(x.hlf[HLF.HT]!, 150.5);
  assert.equal(x.hlf[HLF.MET], 30);
  close(x.hlf[HLF.phiMET]!, Math.PI / 2);
  close(x.hlf[HLF.MT]!, Math.sqrt(2 * 50 * 30 * (1 - Math.cos(fr(Math.PI / 2)))));
  close(x.hlf[HLF.MT]!, 54.772, 1e-4); // √3000: MT in GeV, not MT² = 3000
});

test('cut flow: events without a candidate track, photon or neutral hadron are dropped', () => {
  const x = new FeatureExtractor();
  assert.equal(x.select(makeEvent(isolatedElectron({ tracks: [{ pt: 0.4, eta: 1, phi: 1 }] }))), false);
  assert.equal(x.select(makeEvent(isolatedElectron({ photons: [{ et: 1, eta: 1, phi: 1 }] }))), false);
  assert.equal(x.select(makeEvent(isolatedElectron({ neutrals: [] }))), false);
  assert.equal(x.select(makeEvent(isolatedElectron({ electrons: [] }))), false);
  assert.ok(x.select(makeEvent(isolatedElectron())));
  assert.deepEqual(x.cutFlow, { read: 5, withTrack: 4, withPhoton: 3, withNeutralHadron: 2, withIsolatedLepton: 1 });
});

test('a candidate with a non-finite direction is an error', () => {
  const x = new FeatureExtractor();
  assert.throws(
    () => x.select(makeEvent(isolatedElectron({ photons: [{ et: 5, eta: NaN, phi: 0 }] }))),
    /candidate 0 has a non-finite η or φ/,
  );
});

test('a lepton above the pT cut with a non-finite direction is an error; below the cut it is ignored', () => {
  const x = new FeatureExtractor();
  assert.throws(
    () => x.select(makeEvent(isolatedElectron({ muons: [{ pt: 30, eta: 0, phi: NaN, charge: 1 }] }))),
    /muon 0 has a non-finite η or φ \(0, NaN\)/,
  );
  assert.ok(x.select(makeEvent(isolatedElectron({ muons: [{ pt: 22, eta: NaN, phi: 0, charge: 1 }] }))));
});

test('a selected event without MissingET is an error, not a silent zero', () => {
  const x = new FeatureExtractor();
  assert.throws(() => x.select(makeEvent(isolatedElectron({ met: null }))), /MissingET/);
});

test('particle sequence: order by decreasing ΔR, lepton last, hand-computed features', () => {
  const x = new FeatureExtractor();
  assert.ok(
    x.select(
      makeEvent({
        electrons: [{ pt: 50, eta: 0, phi: 0, charge: -1 }],
        met: { met: 10, phi: 1 },
        tracks: [
          { pt: 50, eta: 0, phi: 0, charge: -1, pid: 11, x: 0.1, y: 0.2, z: 3 }, // own track
          { pt: 2, eta: 0.1, phi: 0.1, charge: 1, pid: 211, x: 1, y: 2, z: 4 }, // A, ΔR 0.141
          { pt: 1, eta: 1, phi: 0, charge: -1, pid: -321 }, // B, ΔR 1
          { pt: 0.4, eta: 0.5, phi: 0.5 }, // below threshold
        ],
        photons: [
          { et: 3, eta: 0, phi: 0.2 },
          { et: 0.9, eta: 0, phi: -1 },
        ], // P, ΔR 0.2
        neutrals: [
          { et: 5, eta: -2, phi: 3 },
          { et: 4, eta: 0, phi: -0.25 },
        ], // N ΔR 3.61, M ΔR 0.25
      }),
    ),
  );
  close(x.hlf[HLF.LepIsoCh]!, 2 / 50, 1e-6);
  close(x.hlf[HLF.LepIsoGamma]!, 3 / 50, 1e-6);
  close(x.hlf[HLF.LepIsoNeu]!, 4 / 50, 1e-6);
  const p = x.particles();
  assert.equal(p.length, 6 * F); // N, B, M, P, A, lepton — own track not repeated
  const pt = (r: number) => p[r * F + col('Pt')]!;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(pt), [5, 1, 4, 3, 2, 50]);

  const [N, B, M, P, A, L] = [0, 1, 2, 3, 4, 5].map((r) => row(p, r));
  // Neutral hadron N: tower energy, flags, no vertex, no charge.
  close(N![col('Energy')]!, 5 * Math.cosh(2));
  close(N![col('Px')]!, 5 * Math.cos(3));
  close(N![col('Pz')]!, 5 * Math.sinh(-2));
  assert.deepEqual(N!.slice(col('vtxX')), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  // Track B: kaon mass hypothesis from |PID| 321, charged hadron, charge −1.
  const pB = Math.cosh(1);
  close(B![col('Energy')]!, Math.sqrt(pB * pB + MASS_KAON * MASS_KAON));
  assert.deepEqual(B!.slice(col('isChHad')), [1, 0, 0, 0, 0, -1]);
  // Track A: pion hypothesis, vertex, its cone holds the electron's track (ΔR 0.141)
  // and photon P (ΔR 0.141) but not M (ΔR 0.364); it does not count itself.
  const pA = Math.hypot(2, 2 * Math.sinh(fr(0.1)));
  close(A![col('Energy')]!, Math.sqrt(pA * pA + MASS_PION * MASS_PION));
  assert.deepEqual(A!.slice(col('vtxX'), col('vtxZ') + 1), [1, 2, 4]);
  close(A![col('ChPFIso')]!, 25);
  close(A![col('GammaPFIso')]!, 1.5);
  assert.equal(A![col('NeuPFIso')], 0);
  // Photon P: tracks at ΔR 0.2 (50) and 0.141 (2); M at ΔR 0.45 is out; not itself.
  close(P![col('ChPFIso')]!, 52 / 3);
  assert.equal(P![col('GammaPFIso')], 0);
  assert.equal(P![col('NeuPFIso')], 0);
  assert.equal(P![col('isGamma')], 1);
  // Neutral M: the electron's track at ΔR 0.25; A at 0.364 is out.
  close(M![col('ChPFIso')]!, 12.5);
  assert.equal(M![col('isNeuHad')], 1);
  // The lepton: electron mass, vertex of its own track, its HLF isolations, charge.
  close(L![col('Energy')]!, 50);
  assert.deepEqual(L!.slice(col('vtxX'), col('vtxZ') + 1).map(fr), [fr(0.1), fr(0.2), 3]);
  close(L![col('ChPFIso')]!, 0.04);
  assert.deepEqual(L!.slice(col('isChHad')), [0, 0, 0, 1, 0, -1]);
});

test('particle sequence caps tracks at 450, keeping the hardest', () => {
  const tracks = Array.from({ length: 460 }, (_, i) => ({
    pt: i + 1,
    eta: -2 + (i % 40) * 0.1,
    phi: -3 + Math.floor(i / 40) * 0.5,
  }));
  const x = new FeatureExtractor();
  assert.ok(
    x.select(
      makeEvent(
        isolatedElectron({
          electrons: [{ pt: 500, eta: 2.4, phi: 3, charge: 1 }],
          tracks,
        }),
      ),
    ),
  );
  const p = x.particles();
  const n = p.length / F;
  let nTracks = 0;
  let minPt = Infinity;
  for (let r = 0; r < n; r++) {
    if (p[r * F + col('isChHad')] === 1) {
      nTracks++;
      minPt = Math.min(minPt, p[r * F + col('Pt')]!);
    }
  }
  assert.equal(nTracks, 450);
  assert.equal(minPt, 11);
  assert.equal(n, 450 + 1 + 1 + 1);
  assert.equal(p[(n - 1) * F + col('Pt')], 500);
  // Strictly non-increasing ΔR from the lepton.
  let prev = Infinity;
  for (let r = 0; r < n; r++) {
    const d = Math.hypot(
      p[r * F + col('Eta')]! - fr(2.4),
      Math.atan2(Math.sin(p[r * F + col('Phi')]! - fr(3)), Math.cos(p[r * F + col('Phi')]! - fr(3))),
    );
    assert.ok(d <= prev + 1e-6);
    prev = d;
  }
});
