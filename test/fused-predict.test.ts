// Predictions without tfjs' graph (src/ml/fused-predict.ts) against model.predict: the same
// weights give the same probabilities within 1e-5 for all three models, with sequences of
// mixed lengths (the GRU's step mask stands in for Masking(0)), with every pair of kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { HLF_NAMES, PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import { initBackend } from '../src/ml/backend.js';
import { makeInputs, type InputOptions } from '../src/ml/data.js';
import { jsMlp, loadDenseAddon, type MlpImplementation } from '../src/ml/dense/index.js';
import { fusedPredictor } from '../src/ml/fused-predict.js';
import { resolveGruImplementation, type GruKernel } from '../src/ml/gru/index.js';
import { buildModel, modelConfig, MODEL_KINDS } from '../src/ml/models.js';
import { syntheticRows } from './helpers/synthetic.js';

await initBackend('cpu');

const dense: MlpImplementation[] = [jsMlp];
const gru: GruKernel[] = [resolveGruImplementation('js').kernel!];
{
  const d = loadDenseAddon();
  if ('impl' in d) dense.push(d.impl);
  else console.error(`[fused-predict test] native dense kernel not tested: ${d.error}`);
  try {
    gru.push(resolveGruImplementation('native').kernel!);
  } catch (e) {
    console.error(`[fused-predict test] native GRU kernel not tested: ${(e as Error).message}`);
  }
}

const maxLen = 12;
const options = (kind: (typeof MODEL_KINDS)[number]): InputOptions => ({
  kind,
  maxLen,
  padding: 'longest',
  scaler: { features: [...HLF_NAMES], min: new Array(14).fill(-3), max: new Array(14).fill(3) },
  particleScaler: { features: [...PARTICLE_FEATURE_NAMES], mean: new Array(19).fill(0.1), std: new Array(19).fill(2) },
});

for (const kind of MODEL_KINDS) {
  for (const d of dense) {
    for (const g of kind === 'hlf' ? [gru[0]!] : gru) {
      test(`${kind}, dense ${d.name}${kind === 'hlf' ? '' : `, GRU ${g.name}`}: same probabilities as model.predict within 1e-5`, () => {
        const model = buildModel(modelConfig(kind, { maxLen, dropout: 0.3 }));
        const predict = fusedPredictor(model, kind, d, () => g)!;
        assert.ok(predict !== null);
        // The second, smaller batch reuses the predictor's buffer for the particles.
        for (const rows of [
          syntheticRows({ rows: 67, seed: 4, minParticles: 1, maxParticles: 16 }),
          syntheticRows({ rows: 30, seed: 5, minParticles: 0, maxParticles: 9 }),
        ]) {
          const o = options(kind);
          const { inputs } = makeInputs(rows, o);
          const want = (model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor).dataSync();
          const got = predict(rows, o);
          assert.equal(got.length, want.length);
          let diff = 0;
          for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
          assert.ok(diff < 1e-5, `max diff ${diff}`);
          tf.dispose(inputs);
        }
      });
    }
  }
}

test('no fused predictor when a kernel is off or the model is not one buildModel makes', () => {
  assert.equal(fusedPredictor(buildModel(modelConfig('hlf')), 'hlf', null), null);
  assert.equal(
    fusedPredictor(buildModel(modelConfig('inclusive', { maxLen })), 'inclusive', jsMlp, () => null),
    null,
  );
  const input = tf.input({ shape: [14] });
  const odd = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 3, activation: 'sigmoid' }).apply(input) as tf.SymbolicTensor,
  });
  assert.equal(fusedPredictor(odd, 'hlf', jsMlp), null);
  // A sequence model whose GRU is tfjs' own (HEPFLOW_GRU=tfjs) has no layer the GRU kernel can run.
  const seq = tf.input({ shape: [null, 19], name: 'particles' });
  const masked = tf.layers.masking({ maskValue: 0, name: 'masking' }).apply(seq) as tf.SymbolicTensor;
  const h = tf.layers.gru({ units: 4, name: 'gru' }).apply(masked) as tf.SymbolicTensor;
  const dropped = tf.layers.dropout({ rate: 0.1, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
  const stock = tf.model({
    inputs: seq,
    outputs: tf.layers.dense({ units: 3, activation: 'softmax', name: 'output' }).apply(dropped) as tf.SymbolicTensor,
  });
  assert.equal(
    fusedPredictor(stock, 'particle-sequence', jsMlp, () => gru[0]!),
    null,
  );
});
