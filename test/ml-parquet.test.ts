import { test } from 'node:test';
import { Storage } from '../src/storage/index.js';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ParquetFeatureWriter } from '../src/parquet/writer.js';
import { createRowSource, PARQUET_SOURCE_MODULE } from '../src/ml/parquet-source.js';
import { modelConfig } from '../src/ml/models.js';
import { syntheticRows } from './helpers/synthetic.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { type ArtifactSink } from '../src/ml/training/model-dir.js';
import { trainInWorker } from '../src/ml/training/threads.js';

const CLASSES = ['QCD', 'ttbar', 'WJets'];

async function writeFeatures(file: string, rows: number, seed: number): Promise<void> {
  const w = await ParquetFeatureWriter.open(file, { rowGroupSize: 100 });
  for (const r of syntheticRows({ rows, seed, maxParticles: 5, separation: 0.8 })) {
    await w.write({ ...r, className: CLASSES[r.label]!, sourceUri: `gen-${seed}.root`, sourceEntry: r.sourceEntry! });
  }
  await w.close();
}

test('feature Parquet files feed training through the worker', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hepflow-ml-pq-'));
  await writeFeatures(path.join(dir, 'part-0.parquet'), 300, 1);
  await writeFeatures(path.join(dir, 'part-1.parquet'), 200, 2);

  const src = await createRowSource({ prefix: dir, readBatch: 128 }, { store: new Storage() });
  const sizes: number[] = [];
  let particles = 0;
  for await (const b of src.batches()) {
    sizes.push(b.length);
    for (const r of b) particles += r.particles.length;
  }
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    500,
  );
  assert.ok(sizes.every((s) => s <= 128));
  assert.ok(particles > 500 * 19 && particles % 19 === 0);
  await assert.rejects(
    createRowSource({ prefix: path.join(dir, 'none') }, { store: new Storage() }),
    /no .parquet files under/,
  );
  await assert.rejects(createRowSource({}, { store: new Storage() }), /exactly one of `uris` and `prefix`/);

  const files = new Map<string, Uint8Array>();
  const sink: ArtifactSink = {
    put: async (n, d) => {
      files.set(n, d);
    },
  };
  const r = await trainInWorker(
    defaultTrainConfig(modelConfig('inclusive', { maxLen: 5 }), {
      epochs: 2,
      batchSize: 32,
      backend: 'wasm',
      shuffleBuffer: 200,
    }),
    { source: { module: PARQUET_SOURCE_MODULE, options: { prefix: dir } }, artifacts: sink, log: () => undefined },
  );
  assert.equal(r.datasetId, dir);
  assert.equal(r.history[0]!.samples + Math.round(r.validation!.samples), 500);
  assert.ok(files.has('model.json'));
});
