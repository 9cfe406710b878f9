/**
 * The fused dense classifier: ReLU hidden layers, a softmax output, tfjs-layers'
 * categorical cross-entropy and tfjs' Adam, each training step one call on plain typed
 * arrays. The HLF model is so small (14 inputs, 50-20-10 hidden units) that tfjs' per-op
 * dispatch and per-call tensor allocation cost more than its arithmetic; one call per
 * step removes both. Two implementations with the same contract: the native addon
 * (native/fused_dense) and this portable one, which gives the same results within float
 * rounding (the native one sums in float32 and in another order).
 *
 * Parameters are one flat list in tfjs' order (model.trainableWeights): per layer the
 * kernel [in x out] row-major, then the bias [out]. Adam's moments use the same layout.
 */

import type { AdamStep } from '../fused-adam.js';
export type { AdamStep } from '../fused-adam.js';

export interface MlpKernel {
  /** Widths: inputs, hidden layers..., outputs. */
  readonly sizes: readonly number[];
  readonly paramCount: number;
  setParams(flat: Float32Array): void;
  getParams(flat: Float32Array): void;
  setMoments(m: Float32Array, v: Float32Array): void;
  getMoments(m: Float32Array, v: Float32Array): void;
  /** Softmax probabilities of x [batch x inputs] into out [batch x outputs]. */
  forward(x: Float32Array, batch: number, out: Float32Array): void;
  /** One Adam step on the batch's mean cross-entropy against y [batch x outputs]; returns the loss before the step. */
  trainStep(x: Float32Array, y: Float32Array, batch: number, adam: AdamStep): number;
}

export interface MlpImplementation {
  readonly name: 'native' | 'js';
  readonly description: string;
  create(sizes: readonly number[]): MlpKernel;
}

export const paramCount = (sizes: readonly number[]): number =>
  sizes.slice(1).reduce((n, out, l) => n + sizes[l]! * out + out, 0);

/** tfjs-layers' epsilon: its cross-entropy clips probabilities to [ε, 1 − ε] (zero gradient outside). */
const LAYERS_EPSILON = 1e-7;

/** The portable implementation: plain loops over unpadded arrays. */
export class JsMlp implements MlpKernel {
  readonly paramCount: number;
  private readonly params: Float32Array;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly grads: Float32Array;
  /** Offset of each layer's kernel in the flat list (its bias follows the kernel). */
  private readonly offsets: number[] = [];
  private acts: Float32Array[] = [];
  private deltas: Float32Array[] = [];
  private capacity = 0;

  constructor(readonly sizes: readonly number[]) {
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) {
      throw new Error(
        `fused dense (js): layer widths must be at least two positive integers, got ${JSON.stringify(sizes)}`,
      );
    }
    this.paramCount = paramCount(sizes);
    this.params = new Float32Array(this.paramCount);
    this.m = new Float32Array(this.paramCount);
    this.v = new Float32Array(this.paramCount);
    this.grads = new Float32Array(this.paramCount);
    let at = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      this.offsets.push(at);
      at += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!;
    }
  }

  setParams(flat: Float32Array): void {
    this.params.set(flat.subarray(0, this.paramCount));
  }
  getParams(flat: Float32Array): void {
    flat.set(this.params);
  }
  setMoments(m: Float32Array, v: Float32Array): void {
    this.m.set(m.subarray(0, this.paramCount));
    this.v.set(v.subarray(0, this.paramCount));
  }
  getMoments(m: Float32Array, v: Float32Array): void {
    m.set(this.m);
    v.set(this.v);
  }

  private ensure(batch: number): void {
    if (batch <= this.capacity) return;
    this.capacity = batch;
    this.acts = this.sizes.map((s) => new Float32Array(batch * s));
    this.deltas = this.sizes.map((s) => new Float32Array(batch * s));
  }

  /** Fills this.acts[l] for every layer boundary; acts[0] is x. */
  private run(x: Float32Array, batch: number): void {
    const { sizes, params } = this;
    this.acts[0]!.set(x.subarray(0, batch * sizes[0]!));
    const L = sizes.length - 1;
    for (let l = 0; l < L; l++) {
      const nIn = sizes[l]!,
        nOut = sizes[l + 1]!,
        w = this.offsets[l]!,
        b = w + nIn * nOut;
      const a = this.acts[l]!,
        z = this.acts[l + 1]!;
      for (let i = 0; i < batch; i++) {
        const zi = i * nOut,
          ai = i * nIn;
        for (let j = 0; j < nOut; j++) z[zi + j] = params[b + j]!;
        for (let k = 0; k < nIn; k++) {
          const aik = a[ai + k]!;
          if (aik === 0) continue;
          const wk = w + k * nOut;
          for (let j = 0; j < nOut; j++) z[zi + j]! += aik * params[wk + j]!;
        }
        if (l + 1 < L) {
          // NaN passes through (as in tfjs), so weights that overflowed show as a NaN loss.
          for (let j = 0; j < nOut; j++) if (z[zi + j]! < 0) z[zi + j] = 0;
        } else {
          let mx = z[zi]!;
          for (let j = 1; j < nOut; j++) mx = Math.max(mx, z[zi + j]!);
          let sum = 0;
          for (let j = 0; j < nOut; j++) sum += z[zi + j] = Math.exp(z[zi + j]! - mx);
          for (let j = 0; j < nOut; j++) z[zi + j] = z[zi + j]! / sum;
        }
      }
    }
  }

  forward(x: Float32Array, batch: number, out: Float32Array): void {
    this.ensure(batch);
    this.run(x, batch);
    out.set(this.acts[this.sizes.length - 1]!.subarray(0, batch * this.sizes[this.sizes.length - 1]!));
  }

  trainStep(x: Float32Array, y: Float32Array, batch: number, adam: AdamStep): number {
    const { sizes, params, grads } = this;
    this.ensure(batch);
    this.run(x, batch);
    const L = sizes.length - 1;
    const n = sizes[L]!;
    const p = this.acts[L]!;
    let d = this.deltas[L]!;
    let loss = 0;
    const gq = new Float64Array(n);
    const gp = new Float64Array(n);
    // δ of the logits: through the clip, the renormalisation q = p / Σp and the softmax.
    for (let i = 0; i < batch; i++) {
      const r = i * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += p[r + j]!;
      let gqDotQ = 0;
      for (let j = 0; j < n; j++) {
        const q = p[r + j]! / s;
        const t = y[r + j]!;
        loss -= t * Math.log(Math.min(Math.max(q, LAYERS_EPSILON), 1 - LAYERS_EPSILON));
        gq[j] = q >= LAYERS_EPSILON && q <= 1 - LAYERS_EPSILON ? -t / q : 0;
        gqDotQ += gq[j]! * q;
      }
      let gpDotP = 0;
      for (let j = 0; j < n; j++) {
        gp[j] = (gq[j]! - gqDotQ) / s;
        gpDotP += gp[j]! * p[r + j]!;
      }
      for (let j = 0; j < n; j++) d[r + j] = (p[r + j]! * (gp[j]! - gpDotP)) / batch;
    }
    grads.fill(0);
    for (let l = L - 1; l >= 0; l--) {
      const nIn = sizes[l]!,
        nOut = sizes[l + 1]!,
        w = this.offsets[l]!,
        b = w + nIn * nOut;
      const a = this.acts[l]!;
      const below = this.deltas[l]!;
      for (let i = 0; i < batch; i++) {
        const ai = i * nIn,
          di = i * nOut;
        for (let j = 0; j < nOut; j++) grads[b + j]! += d[di + j]!;
        for (let k = 0; k < nIn; k++) {
          const aik = a[ai + k]!;
          const wk = w + k * nOut;
          let back = 0;
          for (let j = 0; j < nOut; j++) {
            grads[wk + j]! += aik * d[di + j]!;
            back += d[di + j]! * params[wk + j]!;
          }
          // relu'(z) = z > 0, and a = relu(z) > 0 exactly then.
          if (l > 0) below[ai + k] = aik > 0 ? back : 0;
        }
      }
      d = below;
    }
    const [lr, b1, b2, eps, acc1, acc2] = adam as unknown as [number, number, number, number, number, number];
    const c1 = 1 - acc1,
      c2 = 1 - acc2;
    const { m, v } = this;
    for (let i = 0; i < this.paramCount; i++) {
      const g = grads[i]!;
      m[i] = m[i]! * b1 + g * (1 - b1);
      v[i] = v[i]! * b2 + g * g * (1 - b2);
      params[i] = (m[i]! / c1 / (Math.sqrt(v[i]! / c2) + eps)) * -lr + params[i]!;
    }
    return loss / batch;
  }
}

export const jsMlp: MlpImplementation = {
  name: 'js',
  description: 'portable JS',
  create: (sizes) => new JsMlp(sizes),
};
