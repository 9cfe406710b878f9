/**
 * The native feature extractor (native/features) against the TypeScript one, event by
 * event: selection outcome, cut flow, lepton, HLF and particle sequence must be equal to
 * the bit on every event of the six real Delphes files (with and without pile-up; the
 * pile-up files hit the particle caps) and on synthetic events with the edge cases
 * (grid edges, φ wrap, exact ΔR ties, caps, bad input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Storage } from '../src/storage/index.js';
import { writeFeatureFile } from '../src/stages/features.js';
import { readFeatureRows } from '../src/parquet/reader.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import { FeatureExtractor, type EventFeatureExtractor } from '../src/physics/features.js';
import { loadFeaturesAddon } from '../src/physics/features-native.js';
import { resolveFeatureImplementation } from '../src/physics/extractor.js';
import { makeEvent } from './helpers/physics-fixtures.js';
import { repoRoot } from './helpers/root-writer-helpers.js';
import { localSource } from './helpers/testdata.js';

const addon = loadFeaturesAddon();
const skip = 'error' in addon ? `native addon unavailable: ${addon.error}` : false;
const native = (): EventFeatureExtractor => {
  if ('error' in addon) throw new Error(addon.error);
  return addon.create();
};

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Runs one event through both; returns whether it was selected. */
function compare(js: EventFeatureExtractor, nat: EventFeatureExtractor, event: DelphesEvent, what: string): boolean {
  let jsError: Error | null = null;
  let natError: Error | null = null;
  let a = false;
  let b = false;
  try {
    a = js.select(event);
  } catch (e) {
    jsError = e as Error;
  }
  try {
    b = nat.select(event);
  } catch (e) {
    natError = e as Error;
  }
  assert.equal(natError?.message, jsError?.message, `${what}: errors`);
  assert.equal(b, a, `${what}: selected`);
  assert.deepEqual(nat.cutFlow, js.cutFlow, `${what}: cut flow`);
  if (!a) return false;
  assert.deepEqual(nat.lepton, js.lepton, `${what}: lepton`);
  assert.deepEqual(bits(nat.hlf), bits(js.hlf), `${what}: HLF`);
  const pj = js.particles();
  const pn = nat.particles();
  assert.equal(pn.length, pj.length, `${what}: particle count`);
  const bj = bits(pj);
  const bn = bits(pn);
  for (let i = 0; i < bj.length; i++) {
    if (bj[i] !== bn[i])
      assert.fail(`${what}: particle ${Math.floor(i / 19)} feature ${i % 19}: native ${pn[i]}, js ${pj[i]}`);
  }
  return true;
}

async function eachEvent(file: string, f: (event: DelphesEvent, entry: number) => void): Promise<void> {
  const src = await localSource(file);
  try {
    for await (const chunk of readDelphesEvents(src, { emptyIfMissing: 'all' }))
      chunk.events.forEach((e, i) => f(e, chunk.entryStart + i));
  } finally {
    await src.close();
  }
}

test('native and TypeScript extractors agree to the bit on every real Delphes event', { skip }, async () => {
  const js = new FeatureExtractor();
  const nat = native();
  let events = 0;
  let selected = 0;
  let particles = 0;
  for (const name of ['pu20-qcd', 'pu20-ttbar', 'pu20-wjets', 'qcd', 'ttbar', 'wjets']) {
    await eachEvent(resolve(repoRoot(), `../shared/testdata/delphes/delphes-${name}.root`), (e, entry) => {
      if (compare(js, nat, e, `${name} entry ${entry}`)) {
        selected++;
        particles += nat.particles().length / 19;
      }
      events++;
    });
  }
  assert.ok(events >= 600, `only ${events} events`);
  // The files are signal-rich: a comparison that selects nothing would prove nothing.
  assert.ok(selected > 150 && particles > 50_000, `${selected} selected events, ${particles} particles`);
});

test('native and TypeScript extractors agree on edge cases and fail alike on bad input', { skip }, () => {
  const js = new FeatureExtractor();
  const nat = native();
  const ring = (eta: number, pt: number, n = 40) =>
    Array.from({ length: n }, (_, i) => ({ pt, eta, phi: -Math.PI + (i * 2 * Math.PI) / n }));
  const towers = (eta: number, et: number, n = 40) => ring(eta, et, n).map(({ pt, ...r }) => ({ ...r, et: pt }));
  const lepton = { pt: 40, eta: 0.05, phi: 0.02, charge: -1 };
  const base = {
    tracks: [
      { pt: 40, eta: 0.05, phi: 0.02, charge: -1, pid: 11, x: 0.1, y: -0.2, z: 3 },
      ...ring(0, 1),
      ...ring(0.29, 2),
      { pt: 5, eta: 0, phi: Math.PI, pid: 321, charge: 1 },
      { pt: 6, eta: 0, phi: -Math.PI, pid: -2212, charge: -1 },
      { pt: 7, eta: 0.1, phi: 3.1, pid: 13, charge: 1 },
      { pt: 8, eta: 7.5, phi: 0 },
      { pt: 11, eta: -8, phi: 1 },
      { pt: 11, eta: -8, phi: 1 },
      { pt: 0.5, eta: 0, phi: 0 },
    ],
    photons: [...towers(0.15, 1.5), { et: 2, eta: 0, phi: Math.PI }, { et: 3, eta: 7.7, phi: 0 }],
    neutrals: [...towers(-0.15, 2.5), { et: 4, eta: -8.1, phi: 1.05 }, { et: 5, eta: 3.3, phi: 0.3 }],
    electrons: [lepton],
    muons: [{ pt: 40, eta: 1, phi: 2, charge: 1 }],
    jets: [
      { pt: 50, eta: 1, btag: 1 },
      { pt: 31, eta: -2.59 },
      { pt: 29, eta: 0 },
      { pt: 60, eta: 2.6, btag: 1 },
    ],
    met: { met: 35, phi: -2 },
  };
  let i = 0;
  const check = (spec: Parameters<typeof makeEvent>[0]) => compare(js, nat, makeEvent(spec), `case ${i++}`);
  assert.equal(check(base), true);
  // Above every cap (450 tracks, 150 photons, 200 neutral hadrons), with pT ties at the cut.
  assert.equal(
    check({
      ...base,
      tracks: [...base.tracks, ...ring(2, 3, 300), ...ring(-2, 3, 300)],
      photons: [...base.photons, ...towers(2.5, 1.25, 200)],
      neutrals: [...base.neutrals, ...towers(-2.5, 1.75, 250)],
    }),
    true,
  );
  // Not isolated; no photon; no track; muon chosen; no MissingET; non-finite candidates.
  assert.equal(check({ ...base, electrons: [], muons: [], tracks: [...base.tracks, ...ring(0.05, 30, 8)] }), false);
  assert.equal(check({ ...base, photons: [] }), false);
  assert.equal(check({ ...base, tracks: [] }), false);
  assert.equal(check({ ...base, electrons: [] }), true);
  check({ ...base, met: null });
  check({ ...base, photons: [...base.photons, { et: 3, eta: Number.NaN, phi: 0 }] });
  check({ ...base, electrons: [], muons: [], neutrals: [...base.neutrals, { et: 3, eta: 0, phi: Number.NaN }] });
  check({ ...base, tracks: [...base.tracks, { pt: 3, eta: 0, phi: Number.POSITIVE_INFINITY }] });
  // Leptons: non-finite above the pT cut fails (after a good electron too), below it is ignored.
  check({ ...base, muons: [{ pt: 50, eta: Number.NaN, phi: 0, charge: 1 }] });
  check({ ...base, electrons: [lepton, { pt: 24, eta: 0, phi: Number.NEGATIVE_INFINITY, charge: 1 }] });
  assert.equal(check({ ...base, muons: [...base.muons, { pt: 20, eta: Number.NaN, phi: 0, charge: 1 }] }), true);
  // Far outside the grid, and at exact cell edges.
  assert.equal(
    check({ ...base, neutrals: [...base.neutrals, { et: 3, eta: 50, phi: 0 }, { et: 3, eta: 0.3, phi: -Math.PI }] }),
    true,
  );
  assert.ok(i === 14);
});

test('HEPFLOW_FEATURES: native by default when built, js when not, and named errors', () => {
  const none = () => ({ error: 'not built' });
  assert.equal(resolveFeatureImplementation('js').name, 'js');
  assert.equal(resolveFeatureImplementation(undefined, none).name, 'js');
  assert.match(resolveFeatureImplementation(undefined, none).reason, /native unavailable: not built/);
  assert.throws(() => resolveFeatureImplementation('native', none), /HEPFLOW_FEATURES=native but not built/);
  assert.throws(() => resolveFeatureImplementation('fast'), /HEPFLOW_FEATURES must be native or js, got 'fast'/);
  if (!skip) assert.equal(resolveFeatureImplementation(undefined).name, 'native');
});

test('the feature stage lends the native buffers to the Parquet writer, which copies them: rows as the TypeScript computes them', async () => {
  // The stage passes sinkCopiesRows: every row's arrays are views the next event
  // overwrites, so a writer that kept them instead of copying would write wrong rows.
  const file = resolve(repoRoot(), '../shared/testdata/delphes/delphes-pu20-wjets.root');
  const expected: { entry: number; hlf: Float32Array; particles: Float32Array }[] = [];
  const js = new FeatureExtractor();
  await eachEvent(file, (e, entry) => {
    if (js.select(e)) expected.push({ entry, hlf: js.hlf.slice(), particles: js.particles() });
  });
  const dir = await mkdtemp(join(os.tmpdir(), 'hepflow-native-'));
  try {
    const store = new Storage();
    const info = await store.head(pathToFileURL(file).href);
    assert.ok(info);
    const out = join(dir, 'part.parquet');
    const { rows } = await writeFeatureFile(
      store,
      info,
      { labels: { from: 'class', className: 'wjets', label: 2 }, rowGroupSize: 7 },
      pathToFileURL(out).href,
    );
    assert.ok(rows > 20 && rows === expected.length, `${rows} rows, expected ${expected.length}`);
    let i = 0;
    for await (const r of readFeatureRows(out)) {
      const want = expected[i++]!;
      assert.equal(r.sourceEntry, want.entry);
      assert.deepEqual(bits(r.hlf), bits(want.hlf), `entry ${want.entry}: HLF`);
      assert.deepEqual(bits(r.particles), bits(want.particles), `entry ${want.entry}: particles`);
    }
    assert.equal(i, expected.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
