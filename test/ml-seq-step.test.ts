// The fused sequence-model training step (src/ml/gru/train-step.ts, native/fused_seq)
// against tfjs layers around the fused GRU op: same weights and dropout draws give the
// same loss, the same steps the same weights and Adam state, a model trained either way
// reaches the same AUC, and runTraining with it is seed-deterministic and resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { HLF_NAMES } from '../src/physics/schema.js';
import { initBackend } from '../src/ml/backend.js';
import { inMemorySource, makeBatch, mulberry32, type BatchOptions } from '../src/ml/data.js';
import {
  fusedSequenceTrainStep,
  loadSeqAddon,
  resolveSeqStep,
  sequenceClassifierLayout,
  type SeqStepChoice,
} from '../src/ml/gru/index.js';
import { classificationReport } from '../src/ml/metrics.js';
import { buildModel, modelConfig, type ModelKind } from '../src/ml/models.js';
import { syntheticRows } from './helpers/synthetic.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { makeTrainStep, tfjsTrainStep } from '../src/ml/training/step.js';
import { predictRows } from '../src/ml/training/predict.js';
import { runTraining } from '../src/ml/train.js';
import { type Checkpoint } from '../src/ml/training/checkpoint.js';

await initBackend('cpu');

const loaded = loadSeqAddon();
const skip = 'error' in loaded ? `native/fused_seq not built: ${loaded.error}` : false;
const choice = (threads: number): SeqStepChoice => ({
  addon: 'addon' in loaded ? loaded.addon : null,
  threads,
  reason: 'test',
});

const MAX_LEN = 24;
const options = (kind: ModelKind): BatchOptions => ({
  kind,
  maxLen: MAX_LEN,
  padding: 'longest',
  nClasses: 3,
  scaler: { features: [...HLF_NAMES], min: new Array(14).fill(-3), max: new Array(14).fill(3) },
});
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};
/** Runs f with Math.random seeded, as training does while it draws initial weights and dropout masks. */
function seeded<T>(seed: number, f: () => T): T {
  const systemRandom = Math.random;
  Math.random = mulberry32(seed);
  try {
    return f();
  } finally {
    Math.random = systemRandom;
  }
}
/** Two models of the same settings and weights from a fixed seed. */
const pair = (kind: ModelKind, learningRate: number, dropout = 0.2): [tf.LayersModel, tf.LayersModel] =>
  seeded(12345, () => {
    const a = buildModel(modelConfig(kind, { learningRate, maxLen: MAX_LEN, dropout, gruUnits: 12 }));
    const b = buildModel(modelConfig(kind, { learningRate, maxLen: MAX_LEN, dropout, gruUnits: 12 }));
    b.setWeights(a.getWeights());
    return [a, b];
  });
/** Float rounding amplified by Adam (see ml-dense.test.ts): a tenth of the learning rate. */
const DRIFT = 1e-4;

test('the sequence models are recognised, other models and settings are not', () => {
  const seq = sequenceClassifierLayout(buildModel(modelConfig('particle-sequence', { maxLen: 4 })))!;
  assert.deepEqual(
    { ...seq, dropouts: seq.dropouts.map((d) => [d.layer.name, d.from, d.width]) },
    { features: 19, units: 50, extra: 0, head: [3], dropouts: [['dropout', 0, 50]] },
  );
  const inc = sequenceClassifierLayout(buildModel(modelConfig('inclusive', { maxLen: 4, inclusiveDense: 7 })))!;
  assert.deepEqual(
    { ...inc, dropouts: inc.dropouts.map((d) => [d.layer.name, d.from, d.width]) },
    { features: 19, units: 50, extra: 14, head: [7, 3], dropouts: [['hlf_dropout', 50, 14]] },
  );
  assert.equal(sequenceClassifierLayout(buildModel(modelConfig('hlf'))), null);
  // tfjs' own GRU (what HEPFLOW_GRU=tfjs builds) is not the fused layer.
  const input = tf.input({ shape: [null, 19] });
  const masked = tf.layers.masking({ maskValue: 0 }).apply(input) as tf.SymbolicTensor;
  const gru = tf.layers.gru({ units: 4 }).apply(masked) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(gru) as tf.SymbolicTensor;
  assert.equal(sequenceClassifierLayout(tf.model({ inputs: input, outputs: out })), null);

  assert.equal(resolveSeqStep('tfjs').addon, null);
  assert.throws(() => resolveSeqStep('cuda'), /HEPFLOW_SEQ_STEP must be fused or tfjs/);
  const missing = () => loadSeqAddon('/nonexistent/fused_seq.node');
  assert.throws(
    () => resolveSeqStep('fused', missing),
    /HEPFLOW_SEQ_STEP=fused but \/nonexistent\/fused_seq.node not built/,
  );
  const fallback = resolveSeqStep(undefined, missing);
  assert.equal(fallback.addon, null);
  assert.match(fallback.reason, /native unavailable: .*not built \(infra\/bootstrap.sh builds it|the GRU runs as js/);
});

for (const kind of ['particle-sequence', 'inclusive'] as const) {
  for (const threads of [1, 3]) {
    test(`${kind}, ${threads} thread(s): steps match tfjs' (loss, weights, Adam state) with dropout and padding`, {
      skip,
    }, async () => {
      const [a, b] = pair(kind, 0.003);
      const fused = fusedSequenceTrainStep(a, choice(threads))!;
      assert.ok(fused !== null);
      const ref = tfjsTrainStep(b);
      const batches = [0, 1, 2, 3, 4].map((i) =>
        makeBatch(syntheticRows({ rows: 40 + i, seed: 10 + i, separation: 0.6, maxParticles: MAX_LEN }), options(kind)),
      );
      for (const [i, batch] of batches.entries()) {
        // Both draw their dropout masks from the same seeded Math.random.
        const ours = seeded(100 + i, () => fused(batch.inputs, batch.labels));
        const theirs = seeded(100 + i, () => ref(batch.inputs, batch.labels));
        // The first step runs the same weights forward: the loss agrees to forward-output precision.
        assert.ok(Math.abs(ours - theirs) < (i === 0 ? 1e-5 : DRIFT), `step ${i}: loss ${ours} vs ${theirs}`);
      }
      await fused.sync();
      const wb = b.getWeights().map((w) => w.dataSync());
      a.getWeights().forEach((w, i) =>
        assert.ok(maxDiff(w.dataSync(), wb[i]!) < DRIFT, `weight ${i}: ${maxDiff(w.dataSync(), wb[i]!)}`),
      );
      const [oa, ob] = [await a.optimizer.getWeights(), await b.optimizer.getWeights()];
      // Named as tfjs names its slots, so checkpoints written after a sync load into tfjs' Adam.
      const names = a.trainableWeights.map((w) => (w.read() as tf.Variable).name);
      assert.deepEqual(
        oa.map((w) => w.name),
        ['iter', ...names.map((n) => `${n}/m`), ...names.map((n) => `${n}/v`)],
      );
      assert.equal(oa[0]!.tensor.dataSync()[0], 5);
      oa.forEach((w, i) => assert.ok(maxDiff(w.tensor.dataSync(), ob[i]!.tensor.dataSync()) < 1e-5, w.name));
      // After the sync the models predict alike (the tfjs forward of the fused step's weights).
      const probe = makeBatch(syntheticRows({ rows: 30, seed: 99, maxParticles: MAX_LEN }), options(kind));
      const pa = (a.predict(probe.inputs) as tf.Tensor).dataSync();
      const pb = (b.predict(probe.inputs) as tf.Tensor).dataSync();
      assert.ok(maxDiff(pa, pb) < 1e-4, `predictions ${maxDiff(pa, pb)}`);
      for (const bt of [...batches, probe]) tf.dispose([...bt.inputs, bt.labels]);
    });
  }

  test(`${kind}: a model trained fused reaches the AUC of one trained by tfjs from the same start`, {
    skip,
    timeout: 300_000,
  }, async () => {
    const [a, b] = pair(kind, 0.005, 0);
    const steps = [fusedSequenceTrainStep(a, choice(2))!, tfjsTrainStep(b)];
    const train = syntheticRows({ rows: 1200, seed: 3, separation: 0.3, maxParticles: MAX_LEN });
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let i = 0; i < train.length; i += 64) {
        const batch = makeBatch(train.slice(i, i + 64), options(kind));
        for (const s of steps) s(batch.inputs, batch.labels);
        tf.dispose([...batch.inputs, batch.labels]);
      }
    }
    await steps[0]!.sync();
    const test = inMemorySource(
      'test',
      syntheticRows({ rows: 1000, seed: 77, separation: 0.3, maxParticles: MAX_LEN }),
    );
    const [ra, rb] = await Promise.all(
      [a, b].map(async (m) => {
        const v = await predictRows(m, test.batches(), options(kind), 'test');
        return classificationReport(v.probs, v.labels, ['a', 'b', 'c'], 100).meanAuc;
      }),
    );
    assert.ok(rb! > 0.7, `tfjs AUC ${rb}`);
    assert.ok(Math.abs(ra! - rb!) < 0.005, `fused AUC ${ra} vs tfjs ${rb}`);
  });
}

test('runTraining takes the fused sequence step, is deterministic for a seed and resumes where it stopped', {
  skip,
  timeout: 300_000,
}, async () => {
  assert.match(
    makeTrainStep(buildModel(modelConfig('inclusive', { maxLen: 3 }))).implementation,
    /^fused sequence step/,
  );
  const source = inMemorySource('det', syntheticRows({ rows: 500, separation: 0.6, seed: 5, maxParticles: MAX_LEN }));
  const config = (epochs: number) =>
    defaultTrainConfig(modelConfig('inclusive', { maxLen: MAX_LEN, gruUnits: 10 }), {
      epochs,
      batchSize: 64,
      backend: 'cpu',
      shuffleBuffer: 200,
    });
  const run = async (epochs: number, store: Checkpoint[] | undefined) => {
    const files = new Map<string, Uint8Array>();
    const r = await runTraining(config(epochs), {
      source,
      artifacts: {
        put: async (n, d) => {
          files.set(n, d);
        },
      },
      ...(store
        ? {
            checkpoints: {
              save: async (c: Checkpoint) => {
                store.push(c);
              },
              loadLatest: async () => store[store.length - 1],
            },
          }
        : {}),
      log: () => undefined,
    });
    return { r, history: r.history.map((h) => [h.loss, h.valLoss, h.valMeanAuc]), weights: files.get('weights.bin')! };
  };
  const [x, y] = [await run(2, undefined), await run(2, undefined)];
  assert.deepEqual(x.history, y.history);
  assert.deepEqual(x.weights, y.weights);
  // One epoch, then a resumed run to two: the same weights as the uninterrupted run.
  const store: Checkpoint[] = [];
  await run(1, store);
  const resumed = await run(2, store);
  assert.equal(resumed.r.resumedFromEpoch, 1);
  assert.deepEqual(resumed.history, x.history);
  assert.deepEqual(resumed.weights, x.weights);
});
