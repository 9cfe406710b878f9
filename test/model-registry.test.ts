// The model registry over object storage (file:// here; the same code runs on S3):
// versions with lineage, idempotent registration, resolution of names and URIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { normalizeUri, storage } from '../src/storage/index.js';
import { ModelRegistry, defaultRegistryUri, isModelUri } from '../src/registry/registry.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { syntheticRows } from './helpers/synthetic.js';
import { trainedModelDir } from './helpers/trained-model.js';

await tf.setBackend('cpu');
const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-registry-'));
const store = storage();
const registry = new ModelRegistry(store, normalizeUri(path.join(dir, 'registry')));
const hlf = await trainedModelDir(dir, 'hlf');
const inclusive = await trainedModelDir(dir, 'inclusive', ['qcd', 'ttbar', 'wjets']);
const dataset = path.join(dir, 'dataset');
await mkdir(dataset);
await writeFile(path.join(dataset, 'metadata.json'), JSON.stringify({ configHash: 'abc123' }));
await writeFile(path.join(dataset, 'train.parquet'), 'train rows');

test('registration records the lineage and copies the model; the same model registers once', async () => {
  const e1 = await registry.register({
    name: 'trigger',
    modelUri: hlf,
    datasetUri: dataset,
    featuresConfig: { featureVersion: 3 },
    metrics: { test: { accuracy: 0.9 } },
  });
  assert.equal(e1.version, 1);
  assert.equal(e1.kind, 'hlf');
  assert.deepEqual(e1.classNames, ['qcd', 'ttbar', 'wjets']);
  assert.equal(e1.dataset?.uri, dataset);
  assert.equal(e1.dataset?.configHash, 'abc123');
  assert.ok(e1.dataset?.trainEtag);
  assert.match(e1.featuresConfigHash!, /^[0-9a-f]{16}$/);
  assert.match(e1.codeVersion, /^\d+\.\d+\.\d+/);
  assert.equal(e1.hyperParameters.batchSize, 32);
  assert.deepEqual(e1.metrics, { test: { accuracy: 0.9 } });
  assert.ok(e1.modelUri.startsWith(registry.rootUri));
  const again = await registry.register({ name: 'trigger', modelUri: hlf });
  assert.equal(again.version, 1);
  const e2 = await registry.register({ name: 'trigger', modelUri: inclusive });
  assert.equal(e2.version, 2);
  assert.deepEqual(e2.classNames, ['qcd', 'ttbar', 'wjets']);
  assert.deepEqual(
    (await registry.list()).map((e) => `${e.name}@${e.version}`),
    ['trigger@1', 'trigger@2'],
  );
});

test('names resolve to the registry copy (latest or @version); URIs pass through; the copy predicts as the source', async () => {
  assert.equal(await registry.resolve('trigger'), (await registry.get('trigger', 2)).modelUri);
  const v1 = await registry.resolve('trigger@1');
  assert.equal(v1, (await registry.get('trigger', 1)).modelUri);
  assert.equal(await registry.resolve(hlf), normalizeUri(hlf));
  assert.ok(isModelUri('s3://b/m') && isModelUri('./m') && !isModelUri('trigger@2'));
  const rows = syntheticRows({ rows: 20, seed: 4 });
  const a = await bundleFromFiles(await readModelFiles(store, v1));
  const b = await bundleFromFiles(await readModelFiles(store, hlf));
  assert.deepEqual(Array.from(await predictProbabilities(a, rows)), Array.from(await predictProbabilities(b, rows)));
});

test('unknown names, versions and bad names are refused with the reason', async () => {
  await assert.rejects(registry.resolve('nosuch'), /no model named 'nosuch'/);
  await assert.rejects(registry.resolve('trigger@7'), /'trigger' has no version 7/);
  await assert.rejects(registry.register({ name: 'bad name!', modelUri: hlf }), /model name 'bad name!'/);
  await assert.rejects(registry.register({ name: 'x', modelUri: path.join(dir, 'nothing') }), /has no model\.json/);
});

test("the default registry: HEPFLOW_REGISTRY_URI, else the run's own bucket, else HEPFLOW_BUCKET", () => {
  assert.equal(defaultRegistryUri({ HEPFLOW_REGISTRY_URI: 's3://reg/x' }, 's3://runs/r1'), 's3://reg/x');
  // Before, a run in another bucket tried to register in s3://hepflow/ and failed at its very end.
  assert.equal(defaultRegistryUri({}, 's3://runs/r1'), 's3://runs/registry');
  assert.equal(defaultRegistryUri({ HEPFLOW_BUCKET: 'bkt' }, 'file:///tmp/run'), 's3://bkt/registry');
  assert.equal(defaultRegistryUri({}), 's3://hepflow/registry');
});
