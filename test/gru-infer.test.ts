// The kernels' inference path (GruKernel.lastState; natively the batch-as-lanes kernel in
// native/fused_gru/src/gru_infer.cc) against the training forward of the same kernel, the
// portable kernel, and Keras' reset_after GRU written in tfjs ops. The shapes cover what
// the inference kernel treats specially: several row blocks and a partial last one, rows
// of every length sorted into blocks, holes in the mask, a fully masked row, a non-zero
// initial state, both gate activations, and full-length sequences at the paper's T = 801.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/ml/backend.js';
import type { GruKernelConfig, GruInputs } from '../src/ml/gru/index.js';
import { availableKernels, hardSigmoid, mixedMask, randomArray, relError, resetAfterReference } from './gru-reference.js';

await initBackend('cpu');

const kernels = availableKernels();
const js = kernels.find((k) => k.name === 'js')!.kernel;

interface Case {
  B: number;
  T: number;
  F: number;
  U: number;
  hard: boolean;
  mask: 'none' | 'mixed' | 'front-padded';
  /** Compare with the op-by-op tfjs reference too (slow at large T). */
  reference: boolean;
}

const CASES: Case[] = [
  { B: 1, T: 3, F: 2, U: 3, hard: false, mask: 'none', reference: true },
  { B: 211, T: 17, F: 19, U: 50, hard: false, mask: 'mixed', reference: true },
  { B: 97, T: 9, F: 5, U: 7, hard: true, mask: 'mixed', reference: true },
  { B: 130, T: 40, F: 19, U: 50, hard: false, mask: 'front-padded', reference: true },
  { B: 40, T: 801, F: 19, U: 50, hard: false, mask: 'none', reference: false },
  { B: 40, T: 801, F: 19, U: 50, hard: false, mask: 'front-padded', reference: false },
];

/** Sequences of every length up to T, zero-padded in front as the models' inputs are. */
function frontPadded(B: number, T: number): Uint8Array {
  const m = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = b % (T + 1);
    for (let t = T - len; t < T; t++) m[b * T + t] = 1;
  }
  return m;
}

function inputsFor(c: Case): { config: GruKernelConfig; inputs: GruInputs } {
  const mask = c.mask === 'none' ? null : c.mask === 'mixed' ? mixedMask(c.B, c.T, 5) : frontPadded(c.B, c.T);
  return {
    config: { batch: c.B, steps: c.T, features: c.F, units: c.U, resetAfter: true, hardSigmoid: c.hard },
    inputs: {
      x: randomArray(c.B * c.T * c.F, 1, 1.5),
      mask,
      kernel: randomArray(c.F * 3 * c.U, 2, 0.5),
      recurrentKernel: randomArray(c.U * 3 * c.U, 3, 0.4),
      bias: randomArray(6 * c.U, 4, 1),
      h0: randomArray(c.B * c.U, 6, 0.8),
    },
  };
}

for (const c of CASES) {
  const label = `B${c.B} T${c.T} F${c.F} U${c.U} ${c.hard ? 'hardSigmoid' : 'sigmoid'}, mask ${c.mask}`;
  test(`GRU lastState equals the training forward, the portable kernel${c.reference ? ' and tfjs ops' : ''} (${label})`, () => {
    const { config, inputs } = inputsFor(c);
    const portable = js.forward(config, inputs, false).hT;
    for (const { name, kernel } of kernels) {
      const got = kernel.lastState(config, inputs);
      assert.equal(got.length, c.B * c.U);
      const own = kernel.forward(config, inputs, false).hT;
      for (const [what, want] of [
        [`${name} forward`, own],
        ['js forward', portable],
      ] as const) {
        const e = relError(got, want);
        assert.ok(e < 1e-5, `${name} lastState vs ${what}: rel error ${e}`);
      }
      if (inputs.mask !== null) {
        // A row with no used step keeps its initial state exactly.
        for (let b = 0; b < c.B; b++) {
          if (inputs.mask.subarray(b * c.T, (b + 1) * c.T).some((v) => v !== 0)) continue;
          for (let j = 0; j < c.U; j++) assert.equal(got[b * c.U + j], inputs.h0[b * c.U + j]);
        }
      }
    }
    if (!c.reference) return;
    const want = tf.tidy(() =>
      resetAfterReference(
        tf.tensor3d(inputs.x, [c.B, c.T, c.F]),
        tf.tensor2d(inputs.kernel, [c.F, 3 * c.U]),
        tf.tensor2d(inputs.recurrentKernel, [c.U, 3 * c.U]),
        tf.tensor2d(inputs.bias!, [2, 3 * c.U]),
        tf.tensor2d(inputs.h0, [c.B, c.U]),
        inputs.mask === null ? null : tf.tensor2d(inputs.mask, [c.B, c.T], 'int32'),
        c.hard ? hardSigmoid : tf.sigmoid,
      ).dataSync(),
    );
    for (const { name, kernel } of kernels) {
      const e = relError(kernel.lastState(config, inputs), want);
      assert.ok(e < 1e-5, `${name} lastState vs tfjs ops: rel error ${e}`);
    }
  });
}

test('GRU lastState without bias and for tfjs’ variant (reset_after false) equals forward', () => {
  for (const resetAfter of [true, false]) {
    const c: Case = { B: 33, T: 6, F: 4, U: 5, hard: true, mask: 'mixed', reference: false };
    const { config, inputs } = inputsFor(c);
    const cfg = { ...config, resetAfter };
    const noBias = { ...inputs, bias: null };
    for (const { name, kernel } of kernels) {
      const e = relError(kernel.lastState(cfg, noBias), js.forward(cfg, noBias, false).hT);
      assert.ok(e < 1e-5, `${name} resetAfter=${resetAfter}: rel error ${e}`);
    }
  }
});
