/**
 * Portable fused GRU kernel in plain TypeScript: the same algorithm as the native addon
 * (one call per direction, masked steps skipped), with no compiler needed. Arithmetic is
 * in float64 (JS numbers) and rounded to float32 where values are stored.
 */
import {
  HostSavedState,
  padSequences,
  WorkspacePool,
  type GruForwardResult,
  type GruGradients,
  type GruInputs,
  type GruKernel,
  type GruKernelConfig,
  type GruSavedState,
  type GruSequenceConfig,
  type GruSequenceInputs,
} from './kernel.js';

const gate = (x: number, hard: boolean): number =>
  hard ? Math.min(Math.max(0.2 * x + 0.5, 0), 1) : 1 / (1 + Math.exp(-x));

// From the activation's output; hardSigmoid's saturated ends get 0 (see the native kernel).
const gateDeriv = (y: number, hard: boolean): number => (hard ? (y > 0 && y < 1 ? 0.2 : 0) : y * (1 - y));

export class JsGruKernel implements GruKernel {
  readonly name = 'js';
  readonly description = 'portable TypeScript loops (single thread)';
  private readonly pool = new WorkspacePool();

  lastState(c: GruSequenceConfig, a: GruSequenceInputs): Float32Array {
    const padded = padSequences(c, a);
    return this.forward(padded.config, padded.inputs, false).hT;
  }

  forward(c: GruKernelConfig, a: GruInputs, save: boolean): GruForwardResult {
    const { batch: B, steps: T, features: F, units: U, resetAfter: ra, hardSigmoid: hard } = c;
    const U3 = 3 * U;
    const saved = save ? new HostSavedState(c, this.pool) : null;
    const hT = new Float32Array(B * U);
    const h = new Float64Array(U);
    const xp = new Float64Array(U3); // x W + input bias
    const hp = new Float64Array(U3); // h U (+ recurrent bias) for the gates that use it
    const rh = new Float64Array(U);
    const { x, kernel: W, recurrentKernel: Ur, bias } = a;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < U; j++) h[j] = a.h0[b * U + j]!;
      for (let t = 0; t < T; t++) {
        const bt = b * T + t;
        if (a.mask !== null && a.mask[bt] === 0) {
          if (saved !== null) for (let j = 0; j < U; j++) saved.hs[bt * U + j] = h[j]!;
          continue;
        }
        for (let q = 0; q < U3; q++) xp[q] = bias === null ? 0 : bias[q]!;
        for (let f = 0; f < F; f++) {
          const xv = x[bt * F + f]!;
          if (xv === 0) continue;
          for (let q = 0; q < U3; q++) xp[q]! += xv * W[f * U3 + q]!;
        }
        const recurrentCols = ra ? U3 : 2 * U;
        for (let q = 0; q < recurrentCols; q++) hp[q] = ra && bias !== null ? bias[U3 + q]! : 0;
        for (let k = 0; k < U; k++) {
          const hk = h[k]!;
          for (let q = 0; q < recurrentCols; q++) hp[q]! += hk * Ur[k * U3 + q]!;
        }
        const sv = saved === null ? null : saved.gates;
        const o = bt * 4 * U;
        if (!ra) {
          for (let j = 0; j < U; j++) rh[j] = gate(xp[U + j]! + hp[U + j]!, hard) * h[j]!;
          for (let j = 0; j < U; j++) {
            let s = xp[2 * U + j]!;
            for (let k = 0; k < U; k++) s += rh[k]! * Ur[k * U3 + 2 * U + j]!;
            hp[2 * U + j] = s;
          }
        }
        for (let j = 0; j < U; j++) {
          const z = gate(xp[j]! + hp[j]!, hard);
          const r = gate(xp[U + j]! + hp[U + j]!, hard);
          const hh = Math.tanh(ra ? xp[2 * U + j]! + r * hp[2 * U + j]! : hp[2 * U + j]!);
          if (sv !== null) {
            sv[o + j] = z;
            sv[o + U + j] = r;
            sv[o + 2 * U + j] = hh;
            sv[o + 3 * U + j] = ra ? hp[2 * U + j]! : rh[j]!;
          }
          h[j] = Math.fround(z * h[j]! + (1 - z) * hh);
        }
        if (saved !== null) for (let j = 0; j < U; j++) saved.hs[bt * U + j] = h[j]!;
      }
      for (let j = 0; j < U; j++) hT[b * U + j] = h[j]!;
    }
    return { hT, saved };
  }

  backward(c: GruKernelConfig, a: GruInputs, s: GruSavedState, dhT: Float32Array): GruGradients {
    if (!(s instanceof HostSavedState)) throw new Error('fused GRU (js): foreign saved state');
    s.assertLive();
    const { batch: B, steps: T, features: F, units: U, resetAfter: ra, hardSigmoid: hard } = c;
    const U3 = 3 * U;
    const { x, kernel: W, recurrentKernel: Ur } = a;
    const dx = new Float32Array(B * T * F);
    const dW = new Float64Array(F * U3);
    const dU = new Float64Array(U * U3);
    const dbi = new Float64Array(U3);
    const dbr = new Float64Array(U3);
    const dh0 = new Float32Array(B * U);
    const dh = new Float64Array(U);
    const dhp = new Float64Array(U);
    const da = new Float64Array(U3); // gradient of the input-side pre-activations
    const dr = new Float64Array(U3); // of the recurrent-side pre-activations (reset_after)
    const drh = new Float64Array(U);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < U; j++) dh[j] = dhT[b * U + j]!;
      for (let t = T - 1; t >= 0; t--) {
        const bt = b * T + t;
        if (a.mask !== null && a.mask[bt] === 0) continue;
        const hOff = t > 0 ? (bt - 1) * U : -1;
        const hPrev = (j: number): number => (hOff >= 0 ? s.hs[hOff + j]! : a.h0[b * U + j]!);
        const o = bt * 4 * U;
        const g = s.gates;
        for (let j = 0; j < U; j++) {
          const z = g[o + j]!,
            r = g[o + U + j]!,
            hh = g[o + 2 * U + j]!,
            q = g[o + 3 * U + j]!;
          const dah = dh[j]! * (1 - z) * (1 - hh * hh);
          da[j] = dh[j]! * (hPrev(j) - hh) * gateDeriv(z, hard);
          da[2 * U + j] = dah;
          dhp[j] = dh[j]! * z;
          if (ra) {
            da[U + j] = dah * q * gateDeriv(r, hard);
            dr[j] = da[j]!;
            dr[U + j] = da[U + j]!;
            dr[2 * U + j] = dah * r;
          }
        }
        recurrentBackward({ U, hard, ra, Ur, g, o, hPrev, da, dr, drh, dhp, dU, dbr });
        for (let q = 0; q < U3; q++) dbi[q]! += da[q]!;
        for (let f = 0; f < F; f++) {
          const xv = x[bt * F + f]!;
          let acc = 0;
          for (let q = 0; q < U3; q++) {
            acc += da[q]! * W[f * U3 + q]!;
            dW[f * U3 + q]! += xv * da[q]!;
          }
          dx[bt * F + f] = acc;
        }
        for (let j = 0; j < U; j++) dh[j] = dhp[j]!;
      }
      for (let j = 0; j < U; j++) dh0[b * U + j] = dh[j]!;
    }
    let dBias: Float32Array | null = null;
    if (a.bias !== null) {
      dBias = new Float32Array(ra ? 2 * U3 : U3);
      dBias.set(dbi);
      if (ra) dBias.set(dbr, U3);
    }
    return {
      dx,
      dKernel: Float32Array.from(dW),
      dRecurrentKernel: Float32Array.from(dU),
      dBias,
      dh0,
    };
  }
}

/** Buffers and inputs of one time step's backward pass through the recurrent side. */
interface RecurrentStep {
  readonly U: number;
  readonly hard: boolean;
  readonly ra: boolean;
  readonly Ur: Float32Array;
  readonly g: Float32Array;
  /** Offset of the step's gates in g. */
  readonly o: number;
  readonly hPrev: (j: number) => number;
  readonly da: Float64Array;
  readonly dr: Float64Array;
  readonly drh: Float64Array;
  readonly dhp: Float64Array;
  readonly dU: Float64Array;
  readonly dbr: Float64Array;
}

/**
 * The step's gradients through the recurrent kernel: into the previous state (dhp), the
 * recurrent kernel (dU) and, with reset_after, the recurrent bias (dbr); without
 * reset_after also the reset gate's input-side pre-activation (da).
 */
function recurrentBackward({ U, hard, ra, Ur, g, o, hPrev, da, dr, drh, dhp, dU, dbr }: RecurrentStep): void {
  const U3 = 3 * U;
  if (!ra) {
    for (let k = 0; k < U; k++) {
      let acc = 0;
      for (let j = 0; j < U; j++) acc += da[2 * U + j]! * Ur[k * U3 + 2 * U + j]!;
      drh[k] = acc;
    }
    for (let j = 0; j < U; j++) {
      const r = g[o + U + j]!;
      da[U + j] = drh[j]! * hPrev(j) * gateDeriv(r, hard);
      dhp[j]! += drh[j]! * r;
    }
    for (let k = 0; k < U; k++) {
      const hk = hPrev(k),
        rhk = g[o + 3 * U + k]!;
      let acc = 0;
      for (let q = 0; q < 2 * U; q++) {
        acc += da[q]! * Ur[k * U3 + q]!;
        dU[k * U3 + q]! += hk * da[q]!;
      }
      for (let j = 0; j < U; j++) dU[k * U3 + 2 * U + j]! += rhk * da[2 * U + j]!;
      dhp[k]! += acc;
    }
  } else {
    for (let k = 0; k < U; k++) {
      const hk = hPrev(k);
      let acc = 0;
      for (let q = 0; q < U3; q++) {
        acc += dr[q]! * Ur[k * U3 + q]!;
        dU[k * U3 + q]! += hk * dr[q]!;
      }
      dhp[k]! += acc;
    }
    for (let q = 0; q < U3; q++) dbr[q]! += dr[q]!;
  }
}
