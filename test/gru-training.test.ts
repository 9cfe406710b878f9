// The fused GRU inside model.fit: same loss curve as tf.layers.gru from the same initial
// weights (Masking upstream, padded sequences), save/load round trip, and the
// implementation switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { FusedGru, resolveGruImplementation } from '../src/ml/gru/index.js';
import { availableKernels, randomArray } from './helpers/gru-reference.js';

const N = 96;
const T = 12;
const F = 5;
const UNITS = 8;

/** Sequences padded with zero steps at the end; the class depends on the real steps only. */
function dataset(): { xs: tf.Tensor3D; ys: tf.Tensor2D } {
  const x = randomArray(N * T * F, 5);
  const lens = randomArray(N, 6);
  const labels: number[] = [];
  for (let n = 0; n < N; n++) {
    const len = 3 + Math.floor(((lens[n]! + 1) / 2) * (T - 3));
    let s = 0;
    for (let t = 0; t < T; t++) {
      for (let f = 0; f < F; f++) {
        const i = (n * T + t) * F + f;
        if (t >= len) x[i] = 0;
        else if (f === 0) s += x[i]!;
      }
    }
    labels.push(s > 0.5 ? 0 : s < -0.5 ? 1 : 2);
  }
  return { xs: tf.tensor3d(x, [N, T, F]), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D };
}

function model(gru: tf.layers.Layer): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.masking({ maskValue: 0, inputShape: [T, F] }),
      gru,
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy' });
  return m;
}

async function lossCurve(m: tf.LayersModel, data: { xs: tf.Tensor3D; ys: tf.Tensor2D }): Promise<number[]> {
  const h = await m.fit(data.xs, data.ys, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0 });
  return h.history['loss'] as number[];
}

for (const { name, kernel } of availableKernels()) {
  test(`${name}: model.fit with the fused GRU follows tf.layers.gru's loss curve`, async () => {
    const data = dataset();
    const ref = model(tf.layers.gru({ units: UNITS, recurrentInitializer: 'glorotUniform' }));
    // Seeded initial weights make the curve, and so the test, deterministic.
    ref.setWeights(ref.getWeights().map((w, i) => tf.tensor(randomArray(w.size, 40 + i, 0.5), w.shape)));
    const fused = model(new FusedGru({ units: UNITS }, () => kernel));
    fused.setWeights(ref.getWeights());
    const want = await lossCurve(ref, data);
    const got = await lossCurve(fused, data);
    assert.ok(want[want.length - 1]! < 0.8 * want[0]!, `reference did not learn: ${want}`);
    for (let e = 0; e < want.length; e++) {
      const rel = Math.abs(got[e]! - want[e]!) / want[e]!;
      assert.ok(rel < 1e-4, `epoch ${e}: loss ${got[e]} vs ${want[e]} (rel ${rel})`);
    }
    tf.dispose([data.xs, data.ys]);
  });
}

test('a model with the fused GRU saves and loads (registered class, same predictions)', async () => {
  const data = dataset();
  const kernel = resolveGruImplementation('js').kernel!;
  const m = model(new FusedGru({ units: UNITS, resetAfter: true }, () => kernel));
  let artifacts: tf.io.ModelArtifacts | null = null;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  assert.ok(artifacts !== null);
  assert.match(JSON.stringify((artifacts as tf.io.ModelArtifacts).modelTopology), /HepflowFusedGRU/);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const gru = loaded.layers[1]!;
  assert.ok(gru instanceof FusedGru);
  assert.equal(gru.resetAfter, true);
  assert.deepEqual(gru.getWeights()[2]!.shape, [2, 3 * UNITS]);
  const a = (m.predict(data.xs) as tf.Tensor).dataSync();
  const b = (loaded.predict(data.xs) as tf.Tensor).dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `prediction ${i}`);
  tf.dispose([data.xs, data.ys]);
});

test('implementation switch: tfjs turns the fused kernel off, unknown names are rejected', () => {
  assert.equal(resolveGruImplementation('tfjs').kernel, null);
  assert.equal(resolveGruImplementation('js').kernel!.name, 'js');
  assert.throws(() => resolveGruImplementation('cuda'), /HEPFLOW_GRU must be native, js or tfjs/);
});

test('training memory: the saved state is 5 floats per unit per step', async () => {
  const kernel = resolveGruImplementation('js').kernel!;
  const layer = new FusedGru({ units: UNITS }, () => kernel);
  const m = model(layer);
  const data = dataset();
  await m.fit(data.xs, data.ys, { epochs: 1, batchSize: N, verbose: 0 });
  assert.equal(layer.lastSavedBytes, N * T * UNITS * 5 * 4);
  tf.dispose([data.xs, data.ys]);
});
