// The fused GRU (native and portable kernels) against tf.layers.gru and an op-by-op
// reference for reset_after: outputs and gradients for inputs, weights and initial state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { FusedGru } from '../src/ml/gru/index.js';
import {
  availableKernels,
  hardSigmoid,
  mixedMask,
  randomArray,
  relError,
  resetAfterReference,
} from './helpers/gru-reference.js';

const TOL = 1e-5;

interface Case {
  B: number;
  T: number;
  F: number;
  U: number;
  masked: boolean;
  recurrentActivation: 'sigmoid' | 'hardSigmoid';
}

const CASES: Case[] = [
  { B: 5, T: 7, F: 4, U: 6, masked: false, recurrentActivation: 'hardSigmoid' },
  { B: 5, T: 7, F: 4, U: 6, masked: true, recurrentActivation: 'sigmoid' },
  // The models' shape (19 features, 50 units: neither a multiple of 8) with odd batch.
  { B: 11, T: 16, F: 19, U: 50, masked: true, recurrentActivation: 'hardSigmoid' },
  { B: 11, T: 16, F: 19, U: 50, masked: false, recurrentActivation: 'sigmoid' },
];

interface Result {
  y: Float32Array;
  grads: Float32Array[]; // x, kernel, recurrentKernel, bias, h0
}

/** Runs `apply` under tf.variableGrads on a loss sum(y * probe) and collects everything. */
function runWithGrads(
  c: Case,
  seed: number,
  weights: tf.Variable[],
  apply: (x: tf.Tensor3D, h0: tf.Tensor2D, mask: tf.Tensor2D | null) => tf.Tensor,
): Result {
  return tf.tidy(() => {
    const x = tf.variable(tf.tensor3d(randomArray(c.B * c.T * c.F, seed), [c.B, c.T, c.F]));
    const h0 = tf.variable(tf.tensor2d(randomArray(c.B * c.U, seed + 1, 0.5), [c.B, c.U]));
    const mask = c.masked ? tf.tensor2d(mixedMask(c.B, c.T, seed + 2), [c.B, c.T], 'bool') : null;
    const probe = tf.tensor2d(randomArray(c.B * c.U, seed + 3), [c.B, c.U]);
    let y: Float32Array = new Float32Array();
    const all = [x, ...weights, h0];
    const { grads } = tf.variableGrads(() => {
      const out = apply(x, h0, mask);
      y = out.dataSync() as Float32Array;
      return tf.sum(tf.mul(out, probe)) as tf.Scalar;
    }, all);
    const order = all.map((v) => grads[v.name]!.dataSync() as Float32Array);
    x.dispose();
    h0.dispose();
    return { y, grads: order };
  });
}

/** Layers build (and become disposable) on their first apply. */
function buildByApplying(layer: tf.layers.Layer, c: Case): void {
  tf.tidy(() => {
    layer.apply(tf.zeros([c.B, c.T, c.F]));
  });
}

/** The layer's own variables, in weight order (what the gradient must reach). */
const variablesOf = (layer: tf.layers.Layer): tf.Variable[] =>
  layer.trainableWeights.map((w) => w.read() as tf.Variable);

function assertClose(name: string, got: Result, want: Result): void {
  assert.ok(relError(got.y, want.y) < TOL, `${name} output: rel error ${relError(got.y, want.y)}`);
  const labels = ['dx', 'dKernel', 'dRecurrentKernel', 'dBias', 'dh0'];
  assert.equal(got.grads.length, want.grads.length);
  got.grads.forEach((g, i) => {
    const e = relError(g, want.grads[i]!);
    assert.ok(e < TOL, `${name} ${labels[i]}: rel error ${e}`);
  });
}

for (const { name, kernel } of availableKernels()) {
  for (const c of CASES) {
    const label = `${name}: B${c.B} T${c.T} F${c.F} U${c.U} ${c.recurrentActivation}${c.masked ? ' masked' : ''}`;

    test(`fused GRU matches tf.layers.gru (${label})`, () => {
      const ref = tf.layers.gru({
        units: c.U,
        recurrentActivation: c.recurrentActivation,
        recurrentInitializer: 'glorotUniform',
        returnSequences: false,
      });
      buildByApplying(ref, c);
      // Larger biases push the hardSigmoid gates into saturation on some units, covering
      // the clipped branch of the derivative too.
      const w = ref.getWeights();
      ref.setWeights([w[0]!, w[1]!, tf.tensor(randomArray(w[2]!.size, 77, 2), w[2]!.shape)]);
      const fused = new FusedGru(
        { units: c.U, recurrentActivation: c.recurrentActivation, recurrentInitializer: 'glorotUniform' },
        () => kernel,
      );
      buildByApplying(fused, c);
      fused.setWeights(ref.getWeights());
      const want = runWithGrads(
        c,
        11,
        variablesOf(ref),
        (x, h0, mask) => ref.apply(x, { initialState: [h0], mask: mask ?? undefined }) as tf.Tensor,
      );
      const got = runWithGrads(
        c,
        11,
        variablesOf(fused),
        (x, h0, mask) => fused.apply(x, { initialState: h0, mask: mask ?? undefined }) as tf.Tensor,
      );
      assertClose(label, got, want);
      ref.dispose();
      fused.dispose();
    });

    test(`fused GRU reset_after matches the op-by-op reference (${label})`, () => {
      const shapes = [
        [c.F, 3 * c.U],
        [c.U, 3 * c.U],
        [2, 3 * c.U],
      ];
      const values = shapes.map((s, i) => tf.tensor(randomArray(s[0]! * s[1]!, 100 + i, i === 2 ? 1 : 0.4), s));
      const refVars = values.map((v) => tf.variable(v));
      const act = c.recurrentActivation === 'sigmoid' ? tf.sigmoid : hardSigmoid;
      const want = runWithGrads(c, 21, refVars, (x, h0, mask) =>
        resetAfterReference(
          x,
          refVars[0] as tf.Tensor2D,
          refVars[1] as tf.Tensor2D,
          refVars[2] as tf.Tensor2D,
          h0,
          mask,
          act,
        ),
      );
      const fused = new FusedGru(
        {
          units: c.U,
          resetAfter: true,
          recurrentActivation: c.recurrentActivation,
          recurrentInitializer: 'glorotUniform',
        },
        () => kernel,
      );
      buildByApplying(fused, c);
      fused.setWeights(values);
      const got = runWithGrads(
        c,
        21,
        variablesOf(fused),
        (x, h0, mask) => fused.apply(x, { initialState: h0, mask: mask ?? undefined }) as tf.Tensor,
      );
      assertClose(label, got, want);
      tf.dispose([...values, ...refVars]);
      fused.dispose();
    });
  }
}
