// Keras weight compatibility: the same reset_after weights give Keras' outputs and
// gradients (Masking(0) -> GRU in Keras; maskZeros in ours). Needs the project venv's
// TensorFlow; skipped with the reason when it cannot be imported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FusedGru } from '../src/ml/gru/index.js';
import { availableKernels, randomArray, relError } from './helpers/gru-reference.js';

const ROOT = process.cwd();
const PYTHON = path.join(ROOT, '.tools/venv/bin/python');
const SCRIPT = path.join(ROOT, 'test/python/gru_keras_ref.py');

const B = 6;
const T = 15;
const F = 19;
const U = 50;

interface KerasResult {
  y: number[][];
  grads: { kernel: number[][]; recurrent_kernel: number[][]; bias: number[][]; x: number[][][] };
}

function nested(a: Float32Array, shape: number[]): unknown {
  if (shape.length === 1) return Array.from(a);
  const step = a.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nested(a.subarray(i * step, (i + 1) * step), shape.slice(1)));
}

function inputs(): { x: Float32Array; w: Float32Array[]; probe: Float32Array } {
  const x = randomArray(B * T * F, 3);
  // End padding of varying length plus one all-zero step inside a sequence.
  for (let b = 0; b < B; b++) {
    const len = T - 2 * b;
    for (let t = 0; t < T; t++) {
      if (t >= len || (b === 1 && t === 4)) x.fill(0, (b * T + t) * F, (b * T + t + 1) * F);
    }
  }
  const w = [randomArray(F * 3 * U, 4, 0.3), randomArray(U * 3 * U, 5, 0.3), randomArray(2 * 3 * U, 6, 0.5)];
  return { x, w, probe: randomArray(B * U, 7) };
}

function runKeras(d: ReturnType<typeof inputs>): KerasResult | { skip: string } {
  if (!existsSync(PYTHON)) return { skip: `no project venv python at ${PYTHON}` };
  const req = {
    units: U,
    mask_zeros: true,
    x: nested(d.x, [B, T, F]),
    kernel: nested(d.w[0]!, [F, 3 * U]),
    recurrent_kernel: nested(d.w[1]!, [U, 3 * U]),
    bias: nested(d.w[2]!, [2, 3 * U]),
    probe: nested(d.probe, [B, U]),
  };
  const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${SCRIPT} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as KerasResult | { skip: string };
}

const data = inputs();
const keras = runKeras(data);

for (const { name, kernel } of availableKernels()) {
  test(`${name}: reset_after weights reproduce Keras' GRU outputs and gradients`, (t) => {
    if ('skip' in keras) {
      t.skip(`Keras reference unavailable: ${keras.skip}`);
      return;
    }
    const layer = new FusedGru(
      { units: U, resetAfter: true, maskZeros: true, recurrentInitializer: 'glorotUniform' },
      () => kernel,
    );
    tf.tidy(() => {
      const x = tf.variable(tf.tensor3d(data.x, [B, T, F]));
      layer.apply(x);
      layer.setWeights([
        tf.tensor2d(data.w[0]!, [F, 3 * U]),
        tf.tensor2d(data.w[1]!, [U, 3 * U]),
        tf.tensor2d(data.w[2]!, [2, 3 * U]),
      ]);
      const vars = [...layer.trainableWeights.map((v) => v.read() as tf.Variable), x];
      let y: Float32Array = new Float32Array();
      const { grads } = tf.variableGrads(() => {
        const out = layer.apply(x) as tf.Tensor;
        y = out.dataSync() as Float32Array;
        return tf.sum(tf.mul(out, tf.tensor2d(data.probe, [B, U]))) as tf.Scalar;
      }, vars);
      const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
      const checks: [string, ArrayLike<number>, number[]][] = [
        ['output', y, flat(keras.y)],
        ['dKernel', grads[vars[0]!.name]!.dataSync(), flat(keras.grads.kernel)],
        ['dRecurrentKernel', grads[vars[1]!.name]!.dataSync(), flat(keras.grads.recurrent_kernel)],
        ['dBias', grads[vars[2]!.name]!.dataSync(), flat(keras.grads.bias)],
        ['dx', grads[vars[3]!.name]!.dataSync(), flat(keras.grads.x)],
      ];
      for (const [what, got, want] of checks) {
        const e = relError(got, want);
        assert.ok(e < 1e-5, `${name} ${what}: rel error ${e} against Keras`);
      }
      x.dispose();
    });
  });
}
