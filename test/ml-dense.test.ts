// The fused dense classifier (src/ml/dense, native/fused_dense) against tfjs-layers: same
// weights give the same probabilities, the same steps give the same losses, weights and
// Adam state, and a model trained either way reaches the same AUC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { HLF_NAMES } from '../src/physics/schema.js';
import { initBackend } from '../src/ml/backend.js';
import { inMemorySource, makeBatch, mulberry32, type BatchOptions } from '../src/ml/data.js';
import {
  denseClassifierSizes,
  fusedDensePredictor,
  fusedDenseTrainStep,
  jsMlp,
  loadDenseAddon,
  resolveDenseImplementation,
  type MlpImplementation,
} from '../src/ml/dense/index.js';
import { classificationReport } from '../src/ml/metrics.js';
import { buildModel, modelConfig } from '../src/ml/models.js';
import { syntheticRows } from './helpers/synthetic.js';
import { makeTrainStep, tfjsTrainStep } from '../src/ml/training/step.js';
import { predictRows } from '../src/ml/training/predict.js';
import { runTraining } from '../src/ml/train.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';

await initBackend('cpu');

/** Always the portable implementation; the native one where infra/bootstrap.sh built it. */
const IMPLS: MlpImplementation[] = [jsMlp];
{
  const loaded = loadDenseAddon();
  if ('impl' in loaded) IMPLS.push(loaded.impl);
  else console.error(`[dense test] native kernel not tested: ${loaded.error}`);
}

const options: BatchOptions = {
  kind: 'hlf',
  maxLen: 1,
  padding: 'longest',
  nClasses: 3,
  scaler: { features: [...HLF_NAMES], min: new Array(14).fill(-3), max: new Array(14).fill(3) },
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};
/**
 * Two models of the same settings and weights, initialised from a fixed seed (tfjs draws
 * initialiser seeds from Math.random) so every run tests the same case.
 */
const pair = (learningRate: number): [tf.LayersModel, tf.LayersModel] => {
  const systemRandom = Math.random;
  Math.random = mulberry32(12345);
  try {
    const a = buildModel(modelConfig('hlf', { learningRate }));
    const b = buildModel(modelConfig('hlf', { learningRate }));
    b.setWeights(a.getWeights());
    return [a, b];
  } finally {
    Math.random = systemRandom;
  }
};
/**
 * After the first step the two drift apart by float rounding, amplified by Adam: it divides
 * each gradient by its own running magnitude, so a gradient within rounding of zero can move
 * its weight by a different fraction of the learning rate. The first step's loss (same
 * weights) agrees to 1e-6; later losses and the weights to 1e-4 (a tenth of the learning rate).
 */
const DRIFT = 1e-4;

test('only plain dense classifiers are fused: the HLF model is, the sequence models are not', () => {
  assert.deepEqual(denseClassifierSizes(buildModel(modelConfig('hlf'))), [14, 50, 20, 10, 3]);
  assert.deepEqual(denseClassifierSizes(buildModel(modelConfig('hlf', { hiddenLayers: [7] }))), [14, 7, 3]);
  assert.equal(denseClassifierSizes(buildModel(modelConfig('inclusive', { maxLen: 4 }))), null);
  assert.equal(denseClassifierSizes(buildModel(modelConfig('particle-sequence', { maxLen: 4 }))), null);
  assert.equal(resolveDenseImplementation('tfjs').impl, null);
  assert.equal(resolveDenseImplementation('js').impl, jsMlp);
  assert.throws(() => resolveDenseImplementation('cuda'), /HEPFLOW_DENSE must be native, js or tfjs/);
  // Without the built addon (a fresh machine without a compiler): the portable kernel, and why.
  const missing = () => loadDenseAddon('/nonexistent/fused_dense.node');
  const fallback = resolveDenseImplementation(undefined, missing);
  assert.equal(fallback.impl, jsMlp);
  assert.match(
    fallback.reason,
    /native unavailable: \/nonexistent\/fused_dense.node not built \(infra\/bootstrap.sh builds it/,
  );
  assert.throws(() => resolveDenseImplementation('native', missing), /HEPFLOW_DENSE=native but .* not built/);
});

for (const impl of IMPLS) {
  test(`${impl.name}: same weights give tfjs' probabilities within 1e-5 (batches across the kernel's row tiles)`, () => {
    const model = buildModel(modelConfig('hlf'));
    const predict = fusedDensePredictor(model, impl)!;
    for (const n of [1, 37, 64, 300, 1000]) {
      const rows = syntheticRows({ rows: n, seed: n });
      const b = makeBatch(rows, options);
      const want = (model.predict(b.inputs[0]!) as tf.Tensor).dataSync();
      const got = predict(b.inputs[0]!.dataSync() as Float32Array, n);
      assert.ok(maxDiff(got, want) < 1e-5, `batch ${n}: max diff ${maxDiff(got, want)}`);
    }
  });

  test(`${impl.name}: training steps match tfjs' (loss, weights, Adam state) and hand over at sync`, async () => {
    const [a, b] = pair(0.001);
    const fused = fusedDenseTrainStep(a, impl)!;
    const ref = tfjsTrainStep(b);
    const batches = [0, 1, 2, 3, 4].map((i) =>
      makeBatch(syntheticRows({ rows: 96 + i, seed: 10 + i, separation: 0.6 }), options),
    );
    for (const [i, batch] of batches.entries()) {
      const ours = fused(batch.inputs, batch.labels);
      const theirs = ref(batch.inputs, batch.labels);
      assert.ok(Math.abs(ours - theirs) < (i === 0 ? 1e-6 : DRIFT), `step ${i}: loss ${ours} vs ${theirs}`);
    }
    await fused.sync();
    const wa = a.getWeights().map((w) => w.dataSync());
    b.getWeights().forEach((w, i) =>
      assert.ok(maxDiff(wa[i]!, w.dataSync()) < DRIFT, `weight ${i}: ${maxDiff(wa[i]!, w.dataSync())}`),
    );
    const [oa, ob] = [await a.optimizer.getWeights(), await b.optimizer.getWeights()];
    // Named as tfjs names its slots, so checkpoints written after a sync load into tfjs' Adam.
    const names = a.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    assert.deepEqual(
      oa.map((w) => w.name),
      ['iter', ...names.map((n) => `${n}/m`), ...names.map((n) => `${n}/v`)],
    );
    assert.equal(oa[0]!.tensor.dataSync()[0], 5);
    oa.forEach((w, i) => assert.ok(maxDiff(w.tensor.dataSync(), ob[i]!.tensor.dataSync()) < 1e-5, `${w.name}`));
    // After the sync tfjs can go on where the fused step stopped, and the fused step after tfjs.
    const tfjsOnA = tfjsTrainStep(a);
    const l1 = tfjsOnA(batches[0]!.inputs, batches[0]!.labels);
    const l2 = ref(batches[0]!.inputs, batches[0]!.labels);
    assert.ok(Math.abs(l1 - l2) < DRIFT, `tfjs after the fused steps: ${l1} vs ${l2}`);
    const l3 = fused(batches[1]!.inputs, batches[1]!.labels);
    const l4 = ref(batches[1]!.inputs, batches[1]!.labels);
    assert.ok(Math.abs(l3 - l4) < DRIFT, `fused after tfjs: ${l3} vs ${l4}`);
    await fused.sync();
    const wb = b.getWeights().map((w) => w.dataSync());
    a.getWeights().forEach((w, i) =>
      assert.ok(maxDiff(w.dataSync(), wb[i]!) < DRIFT, `weight ${i} after handing over`),
    );
    for (const bt of batches) tf.dispose([...bt.inputs, bt.labels]);
  });

  test(`${impl.name}: a model trained fused reaches the AUC of one trained by tfjs from the same start`, async () => {
    const [a, b] = pair(0.005);
    const steps = [fusedDenseTrainStep(a, impl)!, tfjsTrainStep(b)];
    const train = syntheticRows({ rows: 2000, seed: 3, separation: 0.5 });
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let i = 0; i < train.length; i += 64) {
        const batch = makeBatch(train.slice(i, i + 64), options);
        for (const s of steps) s(batch.inputs, batch.labels);
        tf.dispose([...batch.inputs, batch.labels]);
      }
    }
    await steps[0]!.sync();
    const test = inMemorySource('test', syntheticRows({ rows: 1500, seed: 77, separation: 0.5 }));
    const [ra, rb] = await Promise.all(
      [a, b].map(async (m) => {
        const v = await predictRows(m, test.batches(), options, 'test');
        return classificationReport(v.probs, v.labels, ['a', 'b', 'c'], 100).meanAuc;
      }),
    );
    assert.ok(rb! > 0.7, `tfjs AUC ${rb}`);
    assert.ok(Math.abs(ra! - rb!) < 0.005, `fused AUC ${ra} vs tfjs ${rb}`);
  });
}

test('runTraining on the HLF model takes the fused step and is deterministic for a seed', {
  timeout: 120_000,
}, async () => {
  assert.match(makeTrainStep(buildModel(modelConfig('hlf'))).implementation, /^fused dense/);
  assert.doesNotMatch(makeTrainStep(buildModel(modelConfig('inclusive', { maxLen: 3 }))).implementation, /fused dense/);
  const source = inMemorySource('det', syntheticRows({ rows: 800, separation: 0.6, seed: 5 }));
  const config = defaultTrainConfig(modelConfig('hlf'), {
    epochs: 2,
    batchSize: 64,
    backend: 'cpu',
    shuffleBuffer: 300,
  });
  const run = async () => {
    const files = new Map<string, Uint8Array>();
    const r = await runTraining(config, {
      source,
      artifacts: {
        put: async (n, d) => {
          files.set(n, d);
        },
      },
      log: () => undefined,
    });
    return { history: r.history.map((h) => [h.loss, h.valLoss, h.valMeanAuc]), weights: files.get('weights.bin')! };
  };
  const [x, y] = [await run(), await run()];
  assert.deepEqual(x.history, y.history);
  assert.deepEqual(x.weights, y.weights);
});

for (const impl of IMPLS) {
  test(`${impl.name}: weights that overflow give a NaN loss, as with tfjs (training's divergence check relies on it)`, () => {
    const model = buildModel(modelConfig('hlf', { learningRate: 1e30 }));
    const step = fusedDenseTrainStep(model, impl)!;
    const batch = makeBatch(syntheticRows({ rows: 32, seed: 1 }), options);
    const losses = [0, 1, 2, 3, 4].map(() => step(batch.inputs, batch.labels));
    assert.ok(losses.some(Number.isNaN), `losses ${losses}`);
    tf.dispose([...batch.inputs, batch.labels]);
  });
}

test('the fused step takes labels of any float tensor form (a cast one-hot on the CPU backend)', async () => {
  const model = buildModel(modelConfig('hlf'));
  const step = fusedDenseTrainStep(model, jsMlp)!;
  const x = tf.randomNormal([8, 14], 0, 1, 'float32', 4);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3).toFloat();
  assert.ok(Number.isFinite(step([x], y)));
  await step.sync();
  tf.dispose([x, y]);
});
