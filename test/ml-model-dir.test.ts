/**
 * The model directory and checkpoints across code versions: a directory and a checkpoint
 * written by the trainer before both schedulers shared src/ml/training/ (kept under
 * test/fixtures/, made by that code from the seeded run below) still load and resume
 * exactly, and a newer format is refused with the one this code reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/paths.js';
import { Storage } from '../src/storage/index.js';
import { initBackend } from '../src/ml/backend.js';
import { inMemorySource } from '../src/ml/data.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { modelConfig } from '../src/ml/models.js';
import { DirectoryArtifactSink, DirectoryCheckpointStore } from '../src/ml/store.js';
import { runTraining } from '../src/ml/train.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { MODEL_FORMAT, readModelFiles } from '../src/ml/training/model-dir.js';
import { syntheticRows } from './helpers/synthetic.js';

const fixtures = path.join(projectRoot, 'test', 'fixtures');
const quiet = () => undefined;
const store = new Storage();
// The run that wrote the fixtures: 3 epochs; the checkpoint is the one after epoch 2.
const rows = () => syntheticRows({ rows: 1200, separation: 0.8, seed: 2 });
const config = defaultTrainConfig(modelConfig('hlf', { learningRate: 0.01 }), {
  epochs: 3,
  batchSize: 64,
  backend: 'wasm',
  shuffleBuffer: 300,
  split: { validationFraction: 0.2, seed: 1 },
});

test('a version-1 model directory (no format field) loads and predicts', async () => {
  const files = await readModelFiles(store, pathToFileURL(path.join(fixtures, 'model-v1-hlf')).href);
  assert.equal(files.metadata.format, undefined);
  assert.equal(files.metadata.config.model.kind, 'hlf');
  await initBackend('wasm', { log: quiet });
  const bundle = await bundleFromFiles(files);
  try {
    const probs = await predictProbabilities(bundle, rows().slice(0, 4));
    assert.equal(probs.length, 4 * 3);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(probs[i * 3]! + probs[i * 3 + 1]! + probs[i * 3 + 2]! - 1) < 1e-5);
  } finally {
    bundle.model.dispose();
  }
});

test('a model directory of a newer format is refused, naming the format this code reads', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'core-model-dir-'));
  try {
    await cp(path.join(fixtures, 'model-v1-hlf'), dir, { recursive: true });
    const meta = JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8'));
    await writeFile(path.join(dir, 'metadata.json'), JSON.stringify({ ...meta, format: 'hepflow-model/9' }));
    await assert.rejects(
      readModelFiles(store, pathToFileURL(dir).href),
      (e: Error) => e.name === 'InvalidInput' && e.message.includes(`this code reads '${MODEL_FORMAT}'`),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a version-1 checkpoint resumes and finishes with the old code's weights, bit for bit", {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'core-model-dir-'));
  try {
    await cp(path.join(fixtures, 'checkpoints-v1-hlf'), path.join(dir, 'ckpt'), { recursive: true });
    const r = await runTraining(config, {
      source: inMemorySource('sep', rows()),
      checkpoints: new DirectoryCheckpointStore(path.join(dir, 'ckpt')),
      artifacts: new DirectoryArtifactSink(path.join(dir, 'model')),
      log: quiet,
    });
    assert.equal(r.resumedFromEpoch, 2);
    assert.equal(r.epochsCompleted, 3);
    const old = JSON.parse(await readFile(path.join(fixtures, 'model-v1-hlf', 'metadata.json'), 'utf8'));
    assert.deepEqual(
      r.history.map((h) => [h.loss, h.valLoss, h.valMeanAuc]),
      old.history.map((h: { loss: number; valLoss: number; valMeanAuc: number }) => [h.loss, h.valLoss, h.valMeanAuc]),
    );
    assert.deepEqual(
      await readFile(path.join(dir, 'model', 'weights.bin')),
      await readFile(path.join(fixtures, 'model-v1-hlf', 'weights.bin')),
    );
    const meta = JSON.parse(await readFile(path.join(dir, 'model', 'metadata.json'), 'utf8'));
    assert.equal(meta.format, MODEL_FORMAT);
    assert.deepEqual(meta.artifacts, [...r.artifacts]);
    assert.equal(meta.artifacts.at(-1), 'metadata.json');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a checkpoint of an unknown format is refused with a CheckpointError naming the expected one', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'core-model-dir-'));
  try {
    const ckpt = path.join(dir, 'ckpt');
    await cp(path.join(fixtures, 'checkpoints-v1-hlf'), ckpt, { recursive: true });
    const statePath = path.join(ckpt, 'epoch-000002', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    await writeFile(statePath, JSON.stringify({ ...state, format: 'hepflow-checkpoint/7' }));
    await assert.rejects(
      runTraining(config, {
        source: inMemorySource('sep', rows()),
        checkpoints: new DirectoryCheckpointStore(ckpt),
        artifacts: new DirectoryArtifactSink(path.join(dir, 'model')),
        log: quiet,
      }),
      (e: Error) => e.name === 'CheckpointError' && /this code reads 'hepflow-checkpoint\/1'/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
