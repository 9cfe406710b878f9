import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Storage } from '../src/storage/index.js';
import { runFeaturesLocally } from '../src/stages/features-run.js';
import { buildDataset, manifestParts } from '../src/stages/dataset.js';
import { REAL_DELPHES, sharedDelphesFile } from './helpers/testdata.js';

// The one-stage path (what `hepflow features` and `hepflow dataset` run): the features
// stage's manifest is the dataset's only source of parts.

let dir: string;
const store = new Storage();
const uri = (...p: string[]) => pathToFileURL(path.join(dir, ...p)).href;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-manifest-'));
  mkdirSync(path.join(dir, 'in', 'ttbar'), { recursive: true });
  copyFileSync(sharedDelphesFile(REAL_DELPHES.ttbar.file), path.join(dir, 'in', 'ttbar', REAL_DELPHES.ttbar.file));
  // A directory of links to the files, as data directories often are.
  mkdirSync(path.join(dir, 'in', 'wjets'), { recursive: true });
  symlinkSync(sharedDelphesFile(REAL_DELPHES.wjets.file), path.join(dir, 'in', 'wjets', REAL_DELPHES.wjets.file));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const samples = [
  { name: 'ttbar', uri: `${uri('in', 'ttbar')}/` },
  { name: 'wjets', uri: `${uri('in', 'wjets')}/` },
];

test('hepflow features → hepflow dataset: the manifest names the classes and the parts, keyed independently of the output URI', async () => {
  const f = await runFeaturesLocally(store, { samples, outputUri: uri('features') });
  assert.equal(f.problem, undefined);
  assert.deepEqual(f.classes, ['ttbar', 'wjets']);
  assert.deepEqual(
    f.perSample.map((t) => t.counters.rows),
    [REAL_DELPHES.ttbar.selected, REAL_DELPHES.wjets.selected],
  );
  const { parts } = await manifestParts(store, uri('features'));
  assert.deepEqual(
    parts.map((p) => [p.key, p.rows]),
    [
      [`ttbar/0/${REAL_DELPHES.ttbar.file}`, REAL_DELPHES.ttbar.selected],
      [`wjets/0/${REAL_DELPHES.wjets.file}`, REAL_DELPHES.wjets.selected],
    ],
  );
  const ds = await buildDataset(store, { featuresUri: uri('features'), outputUri: uri('ds'), kind: 'full' });
  assert.deepEqual(ds.classes, ['ttbar', 'wjets']);
  assert.deepEqual(ds.available, { ttbar: REAL_DELPHES.ttbar.selected, wjets: REAL_DELPHES.wjets.selected });
});

test('the dataset refuses a features run whose part went missing, and a directory that is no features run', async () => {
  const { parts } = await manifestParts(store, uri('features'));
  await store.delete(parts[1]!.uri);
  await assert.rejects(
    buildDataset(store, { featuresUri: uri('features'), outputUri: uri('ds2'), kind: 'full' }),
    /wjets\.root\) is missing or changed since the features run/,
  );
  await assert.rejects(
    buildDataset(store, { featuresUri: uri('in'), outputUri: uri('ds3'), kind: 'full' }),
    /manifest\.json: not a features run/,
  );
});

test('an empty sample directory is an error, not an empty input', async () => {
  mkdirSync(path.join(dir, 'in', 'empty'));
  await assert.rejects(
    runFeaturesLocally(store, {
      samples: [samples[0]!, { name: 'empty', uri: `${uri('in', 'empty')}/` }],
      outputUri: uri('f-empty'),
    }),
    /sample 'empty': no \.root files under file:.*\/in\/empty\/ \(missing or empty prefix\)/,
  );
});

test("one file's features (one class): the parts and the manifest, and a dataset from them is refused with the reason", async () => {
  const file = sharedDelphesFile(REAL_DELPHES.ttbar.file);
  const f = await runFeaturesLocally(store, {
    samples: [{ name: 'ttbar', uri: pathToFileURL(file).href }],
    outputUri: uri('f-one'),
  });
  assert.equal(f.problem, undefined);
  assert.deepEqual(f.classes, ['ttbar']);
  assert.equal(f.perSample[0]!.counters.rows, REAL_DELPHES.ttbar.selected);
  await assert.rejects(
    buildDataset(store, { featuresUri: uri('f-one'), outputUri: uri('ds-one'), kind: 'dev' }),
    /manifest\.json: a dataset needs at least two classes, this features run has only 'ttbar'/,
  );
});
