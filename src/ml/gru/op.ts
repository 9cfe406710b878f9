/**
 * The fused GRU as a differentiable tfjs op: one kernel call forward, one backward,
 * hooked in with tf.customGrad so model.fit and tf.grads use it unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { GruInputs, GruKernel, GruKernelConfig } from './kernel.js';

export interface FusedGruOpOptions {
  readonly resetAfter: boolean;
  readonly hardSigmoid: boolean;
  /** Also mask steps whose features are all 0 (what Masking(0) upstream would do). */
  readonly maskZeros: boolean;
}

/** Called with the bytes saved for backward by each forward pass under a gradient tape. */
export type SavedBytesListener = (bytes: number) => void;

function float32(t: tf.Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`fused GRU: ${what} must be float32, got ${t.dtype}`);
  return t.dataSync() as Float32Array;
}

/**
 * The per-step mask as bytes (1 = used): the AND of an upstream Keras-style mask
 * ([batch, steps], bool) and, with maskZeros, "not all features are zero".
 */
export function buildMask(
  x: Float32Array,
  B: number,
  T: number,
  F: number,
  upstream: tf.Tensor | null,
  maskZeros: boolean,
): Uint8Array | null {
  if (upstream === null && !maskZeros) return null;
  const m = new Uint8Array(B * T).fill(1);
  if (upstream !== null) {
    if (upstream.size !== B * T) {
      throw new Error(`fused GRU: mask has shape [${upstream.shape}], expected [${B}, ${T}]`);
    }
    const u = upstream.dataSync();
    for (let i = 0; i < B * T; i++) if (!u[i]) m[i] = 0;
  }
  if (maskZeros) {
    for (let i = 0; i < B * T; i++) {
      let any = false;
      for (let f = i * F; f < (i + 1) * F; f++)
        if (x[f] !== 0) {
          any = true;
          break;
        }
      if (!any) m[i] = 0;
    }
  }
  let all = true;
  for (let i = 0; i < B * T && all; i++) all = m[i] === 1;
  return all ? null : m;
}

/** Whether a gradient tape is recording (model.fit, tf.grads...): then save for backward. */
function recordingGradients(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

/**
 * Runs the GRU over the whole sequence and returns the last state [batch, units].
 * Gradients flow to x, kernel, recurrentKernel, bias and h0. Call it inside tf.tidy (as
 * layers do): without h0 it creates a zero state that the tape must keep alive.
 */
export function fusedGru(
  kernelImpl: GruKernel,
  x: tf.Tensor,
  kernel: tf.Tensor,
  recurrentKernel: tf.Tensor,
  bias: tf.Tensor | null,
  h0: tf.Tensor | null,
  mask: tf.Tensor | null,
  options: FusedGruOpOptions,
  onSaved?: SavedBytesListener,
): tf.Tensor2D {
  if (x.rank !== 3) throw new Error(`fused GRU: input must be [batch, steps, features], got [${x.shape}]`);
  const [B, T, F] = x.shape as [number, number, number];
  const U = recurrentKernel.shape[0];
  const U3 = 3 * U;
  const expect = (t: tf.Tensor, shape: number[], what: string): void => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`fused GRU: ${what} has shape [${t.shape}], expected [${shape}]`);
    }
  };
  expect(kernel, [F, U3], 'kernel');
  expect(recurrentKernel, [U, U3], 'recurrentKernel');
  if (bias !== null) expect(bias, options.resetAfter ? [2, U3] : [U3], 'bias');
  const init = h0 ?? tf.zeros([B, U]);
  expect(init, [B, U], 'initial state');
  const config: GruKernelConfig = {
    batch: B,
    steps: T,
    features: F,
    units: U,
    resetAfter: options.resetAfter,
    hardSigmoid: options.hardSigmoid,
  };
  const save = recordingGradients();

  const run = (xs: tf.Tensor[]): { value: tf.Tensor2D; gradFunc: (dy: tf.Tensor) => tf.Tensor[] } => {
    const [xT, kT, rT] = xs as [tf.Tensor, tf.Tensor, tf.Tensor];
    const bT = bias === null ? null : xs[3]!;
    const hT0 = xs[xs.length - 1]!;
    const xData = float32(xT, 'input');
    const inputs: GruInputs = {
      x: xData,
      mask: buildMask(xData, B, T, F, mask, options.maskZeros),
      kernel: float32(kT, 'kernel'),
      recurrentKernel: float32(rT, 'recurrentKernel'),
      bias: bT === null ? null : float32(bT, 'bias'),
      h0: float32(hT0, 'initial state'),
    };
    const fwd = kernelImpl.forward(config, inputs, save);
    if (fwd.saved !== null) onSaved?.(fwd.saved.bytes);
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      if (fwd.saved === null) {
        throw new Error('fused GRU: gradient requested for a forward pass run without a gradient tape');
      }
      const g = kernelImpl.backward(config, inputs, fwd.saved, float32(dy, 'output gradient'));
      fwd.saved.dispose();
      const out: tf.Tensor[] = [
        tf.tensor3d(g.dx, [B, T, F]),
        tf.tensor2d(g.dKernel, [F, U3]),
        tf.tensor2d(g.dRecurrentKernel, [U, U3]),
      ];
      if (bT !== null) out.push(tf.tensor(g.dBias!, bT.shape));
      out.push(tf.tensor2d(g.dh0, [B, U]));
      return out;
    };
    return { value: tf.tensor2d(fwd.hT, [B, U]), gradFunc };
  };

  const args: tf.Tensor[] = [x, kernel, recurrentKernel];
  if (bias !== null) args.push(bias);
  args.push(init);
  // customGrad passes the inputs positionally followed by a `save` callback we don't need.
  const op = tf.customGrad((...a: unknown[]) => run(a.slice(0, args.length) as tf.Tensor[]));
  return op(...args);
}
