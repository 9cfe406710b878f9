// The kernels' inference path (GruKernel.lastState; natively the batch-as-lanes kernel in
// native/fused_gru/src/gru_infer.cc, which takes the sequences unpadded) against the
// training forward of the same kernel and of the portable kernel, and Keras' reset_after
// GRU in tfjs ops, all three on the padded batch and step mask built here independently.
// The cases cover what the inference kernel treats specially: several row blocks and a
// partial last one, rows of every length sorted into blocks, empty sequences, all-zero
// steps inside a sequence (masked like padding), a non-zero initial state, both gate
// activations, and full-length sequences at the paper's T = 801.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/ml/backend.js';
import type { GruInputs, GruKernelConfig, GruSequenceInputs } from '../src/ml/gru/index.js';
import { availableKernels, hardSigmoid, randomArray, relError, resetAfterReference } from './helpers/gru-reference.js';

await initBackend('cpu');

const kernels = availableKernels();
const js = kernels.find((k) => k.name === 'js')!.kernel;

interface Case {
  B: number;
  T: number;
  F: number;
  U: number;
  hard: boolean;
  lengths: 'full' | 'mixed';
  /** The sequences come unscaled with a (mean, std) for the kernel to apply. */
  scaled: boolean;
  /** Compare with the op-by-op tfjs reference too (slow at large T). */
  reference: boolean;
}

const CASES: Case[] = [
  { B: 1, T: 3, F: 2, U: 3, hard: false, lengths: 'full', scaled: false, reference: true },
  { B: 211, T: 17, F: 19, U: 50, hard: false, lengths: 'mixed', scaled: true, reference: true },
  { B: 97, T: 9, F: 5, U: 7, hard: true, lengths: 'mixed', scaled: false, reference: true },
  { B: 130, T: 40, F: 19, U: 50, hard: false, lengths: 'full', scaled: false, reference: true },
  { B: 40, T: 801, F: 19, U: 50, hard: false, lengths: 'full', scaled: true, reference: false },
  { B: 40, T: 801, F: 19, U: 50, hard: false, lengths: 'mixed', scaled: false, reference: false },
];

/**
 * The same batch twice: padded in front to T with its step mask (a step is used when a
 * feature is non-zero, as Masking(0) decides), and as unpadded sequences, unscaled with
 * their (mean, std) when the case is scaled. Mixed lengths run through 0..T, and every
 * seventh step of some rows is all zero (after scaling: the raw values equal the means).
 */
function batch(
  c: Case,
  resetAfter = true,
): {
  config: GruKernelConfig;
  padded: GruInputs;
  sequences: GruSequenceInputs;
} {
  const { B, T, F, U } = c;
  const lengths = Int32Array.from({ length: B }, (_, b) => (c.lengths === 'full' ? T : (b * 7) % (T + 1)));
  const values = randomArray(B * T * F, 1, 1.5);
  const mean = Float64Array.from(randomArray(F, 8, 2));
  const std = Float64Array.from(randomArray(F, 9, 1), (v) => 1.5 + v);
  const x = new Float32Array(B * T * F);
  const mask = new Uint8Array(B * T);
  const seq: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = T - lengths[b]!; t < T; t++) {
      const hole = b % 3 === 1 && t % 7 === 3;
      for (let f = 0; f < F; f++) {
        const raw = hole ? (c.scaled ? mean[f]! : 0) : values[(b * T + t) * F + f]!;
        x[(b * T + t) * F + f] = c.scaled ? (raw - mean[f]!) / std[f]! : raw;
        seq.push(raw);
      }
      mask[b * T + t] = hole ? 0 : 1;
    }
  }
  const weights = {
    kernel: randomArray(F * 3 * U, 2, 0.5),
    recurrentKernel: randomArray(U * 3 * U, 3, 0.4),
    bias: randomArray((resetAfter ? 6 : 3) * U, 4, 1),
    h0: randomArray(B * U, 6, 0.8),
  };
  return {
    config: { batch: B, steps: T, features: F, units: U, resetAfter, hardSigmoid: c.hard },
    padded: { ...weights, x, mask },
    sequences: { ...weights, x: Float32Array.from(seq), lengths, scale: c.scaled ? { mean, std } : null },
  };
}

for (const c of CASES) {
  const label = `B${c.B} T${c.T} F${c.F} U${c.U} ${c.hard ? 'hardSigmoid' : 'sigmoid'}, lengths ${c.lengths}${c.scaled ? ', scaled' : ''}`;
  test(`GRU lastState equals the training forward, the portable kernel${c.reference ? ' and tfjs ops' : ''} (${label})`, () => {
    const { config, padded, sequences } = batch(c);
    const portable = js.forward(config, padded, false).hT;
    const got = new Map<string, Float32Array>();
    for (const { name, kernel } of kernels) {
      const h = kernel.lastState(config, sequences);
      got.set(name, h);
      assert.equal(h.length, c.B * c.U);
      for (const [what, want] of [
        [`${name} forward`, kernel.forward(config, padded, false).hT],
        ['js forward', portable],
      ] as const) {
        const e = relError(h, want);
        assert.ok(e < 1e-5, `${name} lastState vs ${what}: rel error ${e}`);
      }
      // An empty sequence keeps its initial state exactly.
      for (let b = 0; b < c.B; b++) {
        if (sequences.lengths[b] !== 0) continue;
        for (let j = 0; j < c.U; j++) assert.equal(h[b * c.U + j], sequences.h0[b * c.U + j]);
      }
    }
    if (!c.reference) return;
    const want = tf.tidy(() =>
      resetAfterReference(
        tf.tensor3d(padded.x, [c.B, c.T, c.F]),
        tf.tensor2d(padded.kernel, [c.F, 3 * c.U]),
        tf.tensor2d(padded.recurrentKernel, [c.U, 3 * c.U]),
        tf.tensor2d(padded.bias!, [2, 3 * c.U]),
        tf.tensor2d(padded.h0, [c.B, c.U]),
        tf.tensor2d(padded.mask!, [c.B, c.T], 'int32'),
        c.hard ? hardSigmoid : tf.sigmoid,
      ).dataSync(),
    );
    for (const [name, h] of got) {
      const e = relError(h, want);
      assert.ok(e < 1e-5, `${name} lastState vs tfjs ops: rel error ${e}`);
    }
  });
}

test('GRU lastState without bias and for tfjs’ variant (reset_after false) equals forward', () => {
  for (const resetAfter of [true, false]) {
    const c: Case = { B: 33, T: 6, F: 4, U: 5, hard: true, lengths: 'mixed', scaled: true, reference: false };
    const { config, padded, sequences } = batch(c, resetAfter);
    const want = js.forward(config, { ...padded, bias: null }, false).hT;
    for (const { name, kernel } of kernels) {
      const e = relError(kernel.lastState(config, { ...sequences, bias: null }), want);
      assert.ok(e < 1e-5, `${name} resetAfter=${resetAfter}: rel error ${e}`);
    }
  }
});

test('native lastState rejects sequences that do not match their lengths', () => {
  const native = kernels.find((k) => k.name === 'native');
  if (native === undefined) return;
  const { config, sequences } = batch({
    B: 5,
    T: 4,
    F: 3,
    U: 2,
    hard: false,
    lengths: 'mixed',
    scaled: false,
    reference: false,
  });
  assert.throws(
    () => native.kernel.lastState(config, { ...sequences, x: sequences.x.subarray(3) }),
    /x has \d+ elements, expected/,
  );
});
