import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HLF_NAMES, PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import { initBackend } from '../src/ml/backend.js';
import { inMemorySource, isValidationRow, makeBatch } from '../src/ml/data.js';
import { evaluateModel } from '../src/ml/evaluate.js';
import { loadModel } from '../src/ml/model-bundle.js';
import { buildModel, modelConfig } from '../src/ml/models.js';
import { DirectoryArtifactSink, DirectoryCheckpointStore } from '../src/ml/store.js';
import { syntheticRows, SYNTHETIC_SOURCE_MODULE } from './helpers/synthetic.js';
import { AbortError } from '../src/errors.js';
import { defaultTrainConfig, type TrainProgress } from '../src/ml/training/config.js';
import { makeTrainStep } from '../src/ml/training/step.js';
import { runTraining } from '../src/ml/train.js';
import { type ArtifactSink } from '../src/ml/training/model-dir.js';
import { trainInWorker } from '../src/ml/training/threads.js';

const tmp = () => mkdtemp(path.join(tmpdir(), 'hepflow-ml-'));
const quiet = () => undefined;
const memorySink = (): ArtifactSink & { files: Map<string, Uint8Array> } => {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    put: async (n, d) => {
      files.set(n, d);
    },
  };
};

test('HLF model learns a separable problem: loss falls, validation AUC > 0.9, artifacts reload', {
  timeout: 120_000,
}, async () => {
  const source = inMemorySource('sep', syntheticRows({ rows: 1500, separation: 0.8, seed: 2 }));
  const config = defaultTrainConfig(modelConfig('hlf', { learningRate: 0.01 }), {
    epochs: 4,
    batchSize: 64,
    backend: 'wasm',
    shuffleBuffer: 500,
    split: { validationFraction: 0.2, seed: 1 },
  });
  const sink = memorySink();
  const progress: TrainProgress[] = [];
  const r = await runTraining(config, {
    source,
    artifacts: sink,
    log: quiet,
    onProgress: (p) => progress.push(p),
    progressIntervalMs: 0,
  });
  assert.equal(r.epochsCompleted, 4);
  assert.equal(r.backend.kind, 'wasm');
  assert.ok(r.history[3]!.loss < r.history[0]!.loss * 0.8, `loss ${r.history.map((h) => h.loss)}`);
  for (const c of r.validation!.perClass) assert.ok(c.auc > 0.9, `${c.className} AUC ${c.auc}`);
  assert.ok(progress.some((p) => p.type === 'batch' && p.batch > 1));
  assert.deepEqual(
    progress.filter((p) => p.type === 'epoch').map((p) => p.epoch),
    [0, 1, 2, 3],
  );
  assert.deepEqual([...sink.files.keys()].sort(), [
    'metadata.json',
    'model.json',
    'scaler.json',
    'validation-report.json',
    'weights.bin',
  ]);
  const meta = JSON.parse(new TextDecoder().decode(sink.files.get('metadata.json')));
  assert.equal(meta.datasetId, 'sep');
  assert.equal(meta.config.model.kind, 'hlf');

  // The saved model scores a fresh "test set" as well as training promised.
  const model = await loadModel(sink.files.get('model.json')!, sink.files.get('weights.bin')!);
  const scaler = JSON.parse(new TextDecoder().decode(sink.files.get('scaler.json')));
  const evalSink = memorySink();
  const test = inMemorySource('test', syntheticRows({ rows: 300, separation: 0.8, seed: 99 }));
  const report = await evaluateModel(
    model,
    test,
    { kind: 'hlf', maxLen: 801, scaler, padding: 'longest', classNames: ['QCD', 'ttbar', 'WJets'] },
    evalSink,
  );
  assert.equal(report.samples, 300);
  assert.ok(report.meanAuc > 0.9 && report.accuracy > 0.7, `test AUC ${report.meanAuc}, accuracy ${report.accuracy}`);
  assert.match(new TextDecoder().decode(evalSink.files.get('roc.svg')), /<polyline/);
});

test('a resumed run continues from the last checkpoint and finishes', { timeout: 120_000 }, async () => {
  const dir = await tmp();
  const store = new DirectoryCheckpointStore(path.join(dir, 'ckpt'));
  const source = inMemorySource('seq', syntheticRows({ rows: 240, maxParticles: 6, separation: 0.8 }));
  const base = defaultTrainConfig(modelConfig('inclusive', { maxLen: 6 }), {
    batchSize: 32,
    backend: 'wasm',
    shuffleBuffer: 100,
  });
  const first = await runTraining(
    { ...base, epochs: 2 },
    { source, checkpoints: store, artifacts: new DirectoryArtifactSink(path.join(dir, 'a1')), log: quiet },
  );
  assert.equal(first.epochsCompleted, 2);
  assert.deepEqual(await readdir(path.join(dir, 'ckpt')), ['epoch-000001', 'epoch-000002']);

  const resumed = await runTraining(
    { ...base, epochs: 4 },
    { source, checkpoints: store, artifacts: new DirectoryArtifactSink(path.join(dir, 'a2')), log: quiet },
  );
  assert.equal(resumed.resumedFromEpoch, 2);
  assert.equal(resumed.epochsCompleted, 4);
  assert.deepEqual(resumed.history.slice(0, 2), first.history, 'history of the first run is carried over');
  // Optimizer state came back: the first resumed epoch continues the trend, not a restart.
  assert.ok(resumed.history[2]!.loss < first.history[0]!.loss, `losses ${resumed.history.map((h) => h.loss)}`);
  assert.deepEqual(await readdir(path.join(dir, 'ckpt')), ['epoch-000003', 'epoch-000004']);
  const meta = JSON.parse(await readFile(path.join(dir, 'a2', 'metadata.json'), 'utf8'));
  assert.equal(meta.epochsCompleted, 4);

  // The GRU model's artifacts load back (custom GRU layer included) and give its validation AUCs.
  const model = await loadModel(
    await readFile(path.join(dir, 'a2', 'model.json')),
    await readFile(path.join(dir, 'a2', 'weights.bin')),
  );
  const scaler = JSON.parse(await readFile(path.join(dir, 'a2', 'scaler.json'), 'utf8'));
  const valRows = syntheticRows({ rows: 240, maxParticles: 6, separation: 0.8 }).filter((r, i) =>
    isValidationRow(r, i, base.split),
  );
  const report = await evaluateModel(model, inMemorySource('val', valRows), {
    kind: 'inclusive',
    maxLen: 6,
    scaler,
    padding: 'longest',
    classNames: base.classNames,
  });
  assert.equal(report.samples, resumed.validation!.samples);
  report.perClass.forEach((c, i) =>
    assert.ok(Math.abs(c.auc - resumed.validation!.perClass[i]!.auc) < 1e-9, `${c.className} ${c.auc}`),
  );

  // A retry after the run already finished (e.g. the activity's completion was lost):
  // nothing left to train, the same artifacts are written again.
  const again = await runTraining(
    { ...base, epochs: 4 },
    { source, checkpoints: store, artifacts: memorySink(), log: quiet },
  );
  assert.equal(again.resumedFromEpoch, 4);
  assert.equal(again.epochsCompleted, 4);
  assert.equal(again.bestEpoch, resumed.bestEpoch);
  assert.deepEqual(again.validation, resumed.validation);

  // Same store, different settings: the old checkpoints are ignored and superseded, never mixed in.
  const logs: string[] = [];
  const fresh = await runTraining(
    { ...base, batchSize: 16, epochs: 1 },
    { source, checkpoints: store, artifacts: memorySink(), log: (m) => logs.push(m) },
  );
  assert.equal(fresh.resumedFromEpoch, 0);
  assert.ok(
    logs.some((m) => /ignoring the checkpoint of epoch 4: it was taken for other batchSize/.test(m)),
    logs.join('\n'),
  );
  assert.equal((await store.loadLatest())?.epoch, 1);
});

test('the training step matches tfjs-layers trainOnBatch (same loss, same updated weights)', async () => {
  await initBackend('wasm', { log: quiet });
  // No dropout: the two paths would draw different masks.
  const build = () => buildModel(modelConfig('inclusive', { maxLen: 5, dropout: 0 }));
  const a = build();
  const b = build();
  b.setWeights(a.getWeights());
  const batch = makeBatch(syntheticRows({ rows: 16, maxParticles: 5 }), {
    kind: 'inclusive',
    maxLen: 5,
    padding: 'longest',
    nClasses: 3,
    scaler: { features: [...HLF_NAMES], min: new Array(14).fill(-3), max: new Array(14).fill(3) },
  });
  const step = makeTrainStep(a);
  for (let i = 0; i < 3; i++) {
    const ours = step(batch.inputs, batch.labels);
    const theirs = (await b.trainOnBatch(batch.inputs, batch.labels)) as number;
    assert.ok(Math.abs(ours - theirs) < 1e-5, `step ${i}: ${ours} vs ${theirs}`);
  }
  // A fused step (the sequence models' by default) hands its weights back at sync.
  await step.sync();
  const wa = a.getWeights().map((w) => w.dataSync());
  const wb = b.getWeights().map((w) => w.dataSync());
  wa.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - wb[i]![j]!) < 1e-5, `weight ${i}[${j}]`)));
});

test('training in a worker: progress arrives, the event loop stays free, abort stops between batches', {
  timeout: 120_000,
}, async (t) => {
  const dir = await tmp();
  const config = defaultTrainConfig(modelConfig('hlf'), {
    epochs: 2,
    batchSize: 16,
    backend: 'wasm',
    shuffleBuffer: 100,
  });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  // Cleared even when training fails, or the pending timer would keep the test process alive.
  t.after(() => clearInterval(timer));
  const t0 = performance.now();
  const progress: TrainProgress[] = [];
  const r = await trainInWorker(config, {
    source: { module: SYNTHETIC_SOURCE_MODULE, options: { rows: 800 } },
    checkpoints: new DirectoryCheckpointStore(path.join(dir, 'ck')),
    artifacts: new DirectoryArtifactSink(path.join(dir, 'out')),
    onProgress: (p) => progress.push(p),
    log: quiet,
    progressIntervalMs: 0,
  });
  clearInterval(timer);
  const ms = performance.now() - t0;
  assert.equal(r.epochsCompleted, 2);
  assert.ok(progress.filter((p) => p.type === 'batch').length >= 40);
  // Training on this thread would starve the timer completely (its loop awaits only
  // resolved promises); a rate would depend on the machine's load, a count does not.
  assert.ok(ticks >= 10, `timer ticked ${ticks} times in ${ms.toFixed(0)} ms`);
  assert.ok((await readdir(path.join(dir, 'out'))).includes('model.json'));
  assert.deepEqual(await readdir(path.join(dir, 'ck')), ['epoch-000001', 'epoch-000002']);

  const ac = new AbortController();
  const seen: TrainProgress[] = [];
  const aborted = trainInWorker(
    { ...config, epochs: 50 },
    {
      source: { module: SYNTHETIC_SOURCE_MODULE, options: { rows: 800 } },
      artifacts: memorySink(),
      log: quiet,
      progressIntervalMs: 0,
      onProgress: (p) => {
        seen.push(p);
        if (p.type === 'epoch' && p.epoch === 0) ac.abort();
      },
      signal: ac.signal,
    },
  );
  await assert.rejects(
    aborted,
    (e: Error) => e instanceof AbortError && /stopped during epoch \d+ before batch/.test(e.message),
  );
  // The flag is polled every batch; the abort lands within a few batches of epoch 1.
  assert.ok(
    seen.every((p) => p.epoch <= 2),
    `last progress: epoch ${seen.at(-1)?.epoch}`,
  );

  await assert.rejects(
    trainInWorker(config, {
      source: { module: SYNTHETIC_SOURCE_MODULE, exportName: 'nope', options: {} },
      artifacts: memorySink(),
      log: quiet,
    }),
    /has no function export 'nope'/,
  );
});

test('a particle scaler is checkpointed and saved with a sequence model; a run without it does not resume', {
  timeout: 60_000,
}, async () => {
  const dir = await tmp();
  const store = new DirectoryCheckpointStore(path.join(dir, 'ckpt'));
  const source = inMemorySource('seq', syntheticRows({ rows: 120, maxParticles: 5, separation: 0.8 }));
  const base = defaultTrainConfig(modelConfig('particle-sequence', { maxLen: 5 }), {
    batchSize: 32,
    backend: 'wasm',
    shuffleBuffer: 100,
    epochs: 1,
  });
  const particleScaler = {
    features: [...PARTICLE_FEATURE_NAMES],
    mean: new Array(19).fill(0.3),
    std: new Array(19).fill(0.5),
  };
  const sink = memorySink();
  await runTraining(base, { source, checkpoints: store, artifacts: sink, log: quiet, particleScaler });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(sink.files.get('particle-scaler.json'))), particleScaler);
  assert.equal(JSON.parse(new TextDecoder().decode(sink.files.get('metadata.json'))).particleScaling, 'standard');
  const state = JSON.parse(await readFile(path.join(dir, 'ckpt', 'epoch-000001', 'state.json'), 'utf8'));
  assert.deepEqual(state.particleScaler, particleScaler);
  // Without the scaler the inputs differ: the checkpoint is not resumed.
  const unscaled = await runTraining(
    { ...base, epochs: 2 },
    { source, checkpoints: store, artifacts: memorySink(), log: quiet },
  );
  assert.equal(unscaled.resumedFromEpoch, 0);
  await assert.rejects(
    runTraining(base, {
      source,
      artifacts: memorySink(),
      log: quiet,
      particleScaler: { ...particleScaler, std: new Array(19).fill(0) },
    }),
    /finite, positive std/,
  );
});

test('a training thread reused by later runs gives a run the same bytes again (seeding holds in the pool)', {
  timeout: 120_000,
}, async () => {
  // Dropout draws its masks from the seeded Math.random, so any draw left over from the previous run on the thread would show.
  const model = modelConfig('particle-sequence', { maxLen: 5, dropout: 0.3 });
  const weights = async (seed: number) => {
    const sink = memorySink();
    await trainInWorker(
      defaultTrainConfig(model, { epochs: 2, batchSize: 16, backend: 'wasm', shuffleBuffer: 100, seed }),
      {
        source: { module: SYNTHETIC_SOURCE_MODULE, options: { rows: 400, maxParticles: 5 } },
        artifacts: sink,
        log: quiet,
      },
    );
    return Buffer.from(sink.files.get('weights.bin')!).toString('base64');
  };
  const first = await weights(7);
  const other = await weights(8);
  assert.notEqual(other, first);
  assert.equal(await weights(7), first);
});
