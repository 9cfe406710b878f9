// The fused GRU reads and writes plain typed arrays, so it must give the same outputs and
// gradients under every tfjs backend: cpu, wasm, and tensorflow (tfjs-node) if installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FusedGru, resolveGruImplementation } from '../src/ml/gru/index.js';
import { mixedMask, randomArray, relError } from './helpers/gru-reference.js';

const B = 7;
const T = 9;
const F = 19;
const U = 50;

/** Output and gradients (x, kernel, recurrent kernel, bias) on the current backend. */
function run(): Float32Array[] {
  const kernel = resolveGruImplementation('js').kernel!;
  const layer = new FusedGru({ units: U, resetAfter: true, recurrentInitializer: 'glorotUniform' }, () => kernel);
  const out = tf.tidy(() => {
    const x = tf.variable(tf.tensor3d(randomArray(B * T * F, 1), [B, T, F]));
    const mask = tf.tensor2d(mixedMask(B, T, 2), [B, T], 'bool');
    layer.apply(x);
    layer.setWeights([
      tf.tensor2d(randomArray(F * 3 * U, 3, 0.3), [F, 3 * U]),
      tf.tensor2d(randomArray(U * 3 * U, 4, 0.3), [U, 3 * U]),
      tf.tensor2d(randomArray(6 * U, 5), [2, 3 * U]),
    ]);
    const vars = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
    let y: Float32Array = new Float32Array();
    const { grads } = tf.variableGrads(() => {
      const h = layer.apply(x, { mask }) as tf.Tensor;
      y = h.dataSync() as Float32Array;
      return tf.sum(tf.square(h)) as tf.Scalar;
    }, vars);
    const res = [y, ...vars.map((v) => grads[v.name]!.dataSync() as Float32Array)];
    x.dispose();
    return res;
  });
  layer.dispose();
  return out;
}

async function use(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

test('fused GRU gives the same results under the cpu and wasm backends', async () => {
  await use('cpu');
  const want = run();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.dirname(entry) + path.sep);
  await use('wasm');
  const got = run();
  await use('cpu');
  got.forEach((g, i) => assert.ok(relError(g, want[i]!) < 1e-6, `array ${i}: rel error ${relError(g, want[i]!)}`));
});

test('fused GRU gives the same results under the tensorflow (tfjs-node) backend', async (t) => {
  const pkg = '@tensorflow/tfjs-node';
  try {
    await import(pkg);
  } catch (e) {
    t.skip(`${pkg} not installed: ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  await use('cpu');
  const want = run();
  await use('tensorflow');
  const got = run();
  await use('cpu');
  got.forEach((g, i) => assert.ok(relError(g, want[i]!) < 1e-6, `array ${i}: rel error ${relError(g, want[i]!)}`));
});
