import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel, gruParamCount, modelConfig, modelInputs } from '../src/ml/models.js';

await tf.setBackend('cpu');

/** Parameters of the model's GRU layer and whether it has Keras' two bias vectors per gate. */
function gruLayerParams(model: tf.LayersModel): { params: number; resetAfter: boolean } {
  const gru = model.getLayer('gru');
  const params = gru.countParams();
  const resetAfter = params === gruParamCount(19, 50, true);
  assert.ok(resetAfter || params === gruParamCount(19, 50, false), `unexpected GRU size ${params}`);
  return { params, resetAfter };
}

test('HLF classifier: 14 -> 50 -> 20 -> 10 -> 3 softmax', () => {
  const m = buildModel(modelConfig('hlf'));
  assert.equal(m.countParams(), 14 * 50 + 50 + (50 * 20 + 20) + (20 * 10 + 10) + (10 * 3 + 3));
  assert.equal(m.countParams(), 2013);
  assert.deepEqual(modelInputs('hlf'), ['hlf']);
  const y = m.predict(tf.randomNormal([5, 14])) as tf.Tensor;
  assert.deepEqual(y.shape, [5, 3]);
  const sums = tf.sum(y, 1).dataSync();
  for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
  const bigger = buildModel(modelConfig('hlf', { hiddenLayers: [150, 50, 10] }));
  assert.equal(bigger.countParams(), 14 * 150 + 150 + (150 * 50 + 50) + (50 * 10 + 10) + 33);
});

test('particle-sequence classifier: Masking -> GRU(50) -> Dropout -> Dense 3', () => {
  const m = buildModel(modelConfig('particle-sequence'));
  const gru = gruLayerParams(m);
  assert.equal(m.countParams(), gru.params + 50 * 3 + 3);
  assert.deepEqual(
    m.layers
      .map((l) => l.getClassName())
      .filter((n) => n !== 'InputLayer')
      .slice(0, 1),
    ['Masking'],
  );
  // Any sequence length up to maxLen goes through (the time dimension is open).
  for (const t of [1, 7]) assert.deepEqual((m.predict(tf.randomNormal([2, t, 19])) as tf.Tensor).shape, [2, 3]);
});

test("inclusive classifier: 12,353 parameters with Keras' reset_after GRU", () => {
  const m = buildModel(modelConfig('inclusive'));
  const gru = gruLayerParams(m);
  const rest = (50 + 14) * 25 + 25 + 25 * 3 + 3;
  assert.equal(m.countParams(), gru.params + rest);
  // The reference count; tfjs' own GRU (no reset_after) has 150 fewer biases: 12,203.
  assert.equal(gruParamCount(19, 50, true) + rest, 12_353);
  assert.equal(gruParamCount(19, 50, false) + rest, 12_203);
  assert.deepEqual(modelInputs('inclusive'), ['particles', 'hlf']);
  const y = m.predict([tf.randomNormal([4, 6, 19]), tf.randomNormal([4, 14])]) as tf.Tensor;
  assert.deepEqual(y.shape, [4, 3]);
});

test('model config validation names the field', () => {
  assert.throws(() => modelConfig('hlf', { hiddenLayers: [] }), /hiddenLayers must be a non-empty list/);
  assert.throws(() => modelConfig('hlf', { hiddenLayers: [10, 0] }), /hiddenLayers/);
  assert.throws(() => modelConfig('inclusive', { gruUnits: 2.5 }), /gruUnits must be a positive integer/);
  assert.throws(() => modelConfig('hlf', { dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => modelConfig('hlf', { learningRate: 0 }), /learningRate must be > 0/);
  assert.throws(() => modelConfig('cnn' as never), /kind must be one of hlf, particle-sequence, inclusive/);
});
