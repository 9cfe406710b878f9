import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HLF_NAMES } from '../src/physics/schema.js';
import { inMemorySource, isValidationRow, type TrainingRow } from '../src/ml/data.js';
import { modelConfig } from '../src/ml/models.js';
import { DirectoryCheckpointStore } from '../src/ml/store.js';
import { syntheticRows, SYNTHETIC_SOURCE_MODULE } from './helpers/synthetic.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { runTraining } from '../src/ml/train.js';
import { type ArtifactSink } from '../src/ml/training/model-dir.js';
import { TrainingWorkerError, trainInWorker } from '../src/ml/training/threads.js';
import { selectBest } from '../src/ml/grid.js';

const tmp = () => mkdtemp(path.join(tmpdir(), 'hepflow-ml-recovery-'));
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

test('a checkpoint taken on another dataset is ignored: training starts fresh and says so', {
  timeout: 120_000,
}, async () => {
  const dir = await tmp();
  const store = new DirectoryCheckpointStore(path.join(dir, 'ck'));
  const config = defaultTrainConfig(modelConfig('hlf'), {
    epochs: 2,
    batchSize: 32,
    backend: 'wasm',
    shuffleBuffer: 200,
  });
  // The same source id (one dataset URI) holding other rows after a rebuild: only the
  // dataset identity tells them apart.
  const before = inMemorySource('s3://b/run/dataset-dev', syntheticRows({ rows: 300, seed: 1 }));
  const after = inMemorySource('s3://b/run/dataset-dev', syntheticRows({ rows: 600, seed: 2 }));
  const first = await runTraining(config, {
    source: before,
    datasetIdentity: 'sha-old',
    checkpoints: store,
    artifacts: memorySink(),
    log: quiet,
  });
  assert.equal(first.epochsCompleted, 2);

  const logs: string[] = [];
  const again = await runTraining(
    { ...config, epochs: 3 },
    {
      source: after,
      datasetIdentity: 'sha-new',
      checkpoints: store,
      artifacts: memorySink(),
      log: (m) => logs.push(m),
    },
  );
  assert.equal(again.resumedFromEpoch, 0, 'trained from scratch on the new dataset');
  assert.equal(again.epochsCompleted, 3);
  assert.ok(
    again.history.every((h) => h.samples > 400),
    'every epoch saw the new rows',
  );
  assert.ok(
    logs.some((m) => /ignoring the checkpoint of epoch 2: it was taken for other dataset/.test(m)),
    logs.join('\n'),
  );

  // The same dataset identity resumes as before.
  const resumed = await runTraining(
    { ...config, epochs: 4 },
    { source: after, datasetIdentity: 'sha-new', checkpoints: store, artifacts: memorySink(), log: quiet },
  );
  assert.equal(resumed.resumedFromEpoch, 3);
});

test('identical data and seed give identical weights (initialisers, dropout and shuffle are seeded)', {
  timeout: 120_000,
}, async () => {
  const rows = syntheticRows({ rows: 240, maxParticles: 6, separation: 0.8, seed: 3 });
  const config = defaultTrainConfig(modelConfig('inclusive', { maxLen: 6, dropout: 0.3 }), {
    epochs: 2,
    batchSize: 32,
    backend: 'wasm',
    shuffleBuffer: 64,
    seed: 7,
  });
  const run = async (seed: number) => {
    const sink = memorySink();
    const r = await runTraining(
      { ...config, seed },
      { source: inMemorySource('d', rows), artifacts: sink, log: quiet },
    );
    return { weights: Buffer.from(sink.files.get('weights.bin')!), auc: r.validation!.meanAuc };
  };
  const a = await run(7);
  const b = await run(7);
  assert.ok(a.weights.equals(b.weights), 'same seed: byte-identical weights');
  assert.equal(a.auc, b.auc);
  const c = await run(8);
  assert.ok(!a.weights.equals(c.weights), 'another seed: other weights');
  // The caller's Math.random is restored afterwards.
  assert.notEqual(Math.random(), Math.random());
});

test('errors keep their type across the training worker thread', { timeout: 120_000 }, async () => {
  const config = defaultTrainConfig(modelConfig('hlf'), {
    epochs: 1,
    batchSize: 32,
    backend: 'wasm',
    shuffleBuffer: 100,
  });
  const badScaler = { features: [...HLF_NAMES].reverse(), min: new Array(14).fill(0), max: new Array(14).fill(1) };
  await assert.rejects(
    trainInWorker(config, {
      source: { module: SYNTHETIC_SOURCE_MODULE, options: { rows: 200 } },
      scaler: badScaler,
      artifacts: memorySink(),
      log: quiet,
    }),
    (e: unknown) =>
      e instanceof TrainingWorkerError &&
      e.name === 'InvalidInput' &&
      e.nonRetryable &&
      /HLF scaler must list/.test(e.message),
  );
  // A learning rate this large overflows the weights within a few steps.
  const diverging = defaultTrainConfig(modelConfig('hlf', { learningRate: 1e30 }), {
    epochs: 1,
    batchSize: 32,
    backend: 'wasm',
    shuffleBuffer: 100,
  });
  await assert.rejects(
    trainInWorker(diverging, {
      source: { module: SYNTHETIC_SOURCE_MODULE, options: { rows: 400 } },
      artifacts: memorySink(),
      log: quiet,
    }),
    (e: unknown) =>
      e instanceof TrainingWorkerError &&
      e.name === 'TrainingDiverged' &&
      e.nonRetryable &&
      /training diverged/.test(e.message),
  );
  // A storage failure in the parent's checkpoint store is transient: retryable, with its type and cause chain.
  const unreachable = Object.assign(new Error('object storage unreachable (ECONNREFUSED)'), { name: 'StorageError' });
  await assert.rejects(
    trainInWorker(config, {
      source: { module: SYNTHETIC_SOURCE_MODULE, options: { rows: 200 } },
      artifacts: memorySink(),
      log: quiet,
      checkpoints: {
        save: async () => {
          throw new Error('cannot write checkpoint', { cause: unreachable });
        },
        loadLatest: async () => undefined,
      },
    }),
    (e: unknown) =>
      e instanceof TrainingWorkerError &&
      !e.nonRetryable &&
      /cannot write checkpoint/.test(e.message) &&
      e.cause instanceof TrainingWorkerError &&
      e.cause.name === 'StorageError',
  );
});

test('a validation split too small to score fails with a clear non-retryable error; a missing class only warns', {
  timeout: 120_000,
}, async () => {
  const config = defaultTrainConfig(modelConfig('hlf'), {
    epochs: 1,
    batchSize: 16,
    backend: 'wasm',
    shuffleBuffer: 100,
  });
  const all = syntheticRows({ rows: 300, seed: 4 });
  const val = (r: TrainingRow, i: number) => isValidationRow(r, i, config.split);
  // Validation holds one class only: AUC undefined for every class.
  const oneClass = all.filter((r, i) => !val(r, i) || r.label === 1);
  await assert.rejects(
    runTraining(config, { source: inMemorySource('tiny', oneClass), artifacts: memorySink(), log: quiet }),
    (e: Error) =>
      e.name === 'DatasetTooSmall' &&
      /validation split .* holds \d+ events of 1 class\(es\), too few to validate/.test(e.message),
  );
  // No QCD at all in validation: the mean AUC is over the two classes present, with a warning.
  const noQcd = all.filter((r, i) => !val(r, i) || r.label !== 0);
  const logs: string[] = [];
  const r = await runTraining(config, {
    source: inMemorySource('no-qcd', noQcd),
    artifacts: memorySink(),
    log: (m) => logs.push(m),
  });
  assert.ok(Number.isFinite(r.history[0]!.valMeanAuc), `val mean AUC ${r.history[0]!.valMeanAuc}`);
  assert.ok(
    logs.some((m) => /warning: no QCD event in the validation split/i.test(m)),
    logs.join('\n'),
  );
  // Best-point selection says which points lack the metric rather than a bare "no finite".
  assert.throws(() => selectBest([{ id: 'a', metrics: { valLoss: 1 } }], 'valMeanAuc', true), /a: no valMeanAuc/);
});
