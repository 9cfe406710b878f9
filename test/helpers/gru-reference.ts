/**
 * Shared helpers for the GRU tests: seeded random data, an op-by-op tfjs reference for
 * Keras' reset_after variant (tf.layers.gru has none), and a relative-error measure.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveGruImplementation, type GruKernel } from '../../src/ml/gru/index.js';

/** Deterministic uniform numbers in [-scale, scale) (mulberry32). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** max |a - b| / max |b|: an error relative to the size of the reference values. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

/**
 * Masks with every pattern the kernel must handle: end padding, start padding, holes,
 * a fully masked row and a full row.
 */
export function mixedMask(B: number, T: number, seed: number): Uint8Array {
  const r = randomArray(B * T, seed);
  const m = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = 1 + Math.floor(((r[b]! + 1) / 2) * (T - 1));
    for (let t = 0; t < T; t++) {
      let on: boolean;
      switch (b % 5) {
        case 0:
          on = t < len;
          break; // padded at the end
        case 1:
          on = t >= T - len;
          break; // padded at the start
        case 2:
          on = r[b * T + t]! > -0.4;
          break; // holes
        case 3:
          on = b === 3 ? false : true;
          break; // one fully masked row
        default:
          on = true;
      }
      m[b * T + t] = on ? 1 : 0;
    }
  }
  return m;
}

/**
 * Keras' GRU with reset_after=True, written with plain tfjs ops so autodiff gives the
 * reference gradients: hh = tanh(x Wh + bih + r * (h Uh + bhh)).
 */
export function resetAfterReference(
  x: tf.Tensor3D,
  W: tf.Tensor2D,
  U: tf.Tensor2D,
  bias: tf.Tensor2D,
  h0: tf.Tensor2D,
  mask: tf.Tensor2D | null,
  recurrentActivation: (t: tf.Tensor) => tf.Tensor,
): tf.Tensor2D {
  const [, T] = x.shape;
  const u = U.shape[0];
  const [bi, br] = tf.unstack(bias) as [tf.Tensor1D, tf.Tensor1D];
  let h: tf.Tensor2D = h0;
  for (let t = 0; t < T; t++) {
    const xt = x.slice([0, t, 0], [-1, 1, -1]).squeeze([1]) as tf.Tensor2D;
    const xp = tf.add(tf.matMul(xt, W), bi);
    const hp = tf.add(tf.matMul(h, U), br);
    const [xz, xr, xh] = tf.split(xp, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [hz, hr, hh] = tf.split(hp, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const z = recurrentActivation(tf.add(xz, hz));
    const r = recurrentActivation(tf.add(xr, hr));
    const cand = tf.tanh(tf.add(xh, tf.mul(r, hh)));
    const next = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), cand)) as tf.Tensor2D;
    if (mask === null) {
      h = next;
    } else {
      const m = mask.slice([0, t], [-1, 1]).cast('bool').tile([1, u]);
      h = tf.where(m, next, h);
    }
  }
  return h;
}

/** tfjs' hardSigmoid as tf.layers uses it. */
export const hardSigmoid = (t: tf.Tensor): tf.Tensor => tf.clipByValue(tf.add(tf.mul(t, 0.2), 0.5), 0, 1);

/**
 * The fused kernels to test: always the portable one, and the native addon where it was
 * built (the suite must also pass where no compiler built it; it says so loudly).
 */
export function availableKernels(): { name: string; kernel: GruKernel }[] {
  const out = [{ name: 'js', kernel: resolveGruImplementation('js').kernel! }];
  try {
    out.push({ name: 'native', kernel: resolveGruImplementation('native').kernel! });
  } catch (e) {
    console.error(`[gru test] native kernel not tested: ${(e as Error).message}`);
  }
  return out;
}
