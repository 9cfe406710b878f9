/**
 * The contract between the tfjs-facing GRU op and a fused kernel implementation.
 *
 * A kernel runs the whole recurrence in one call each way on plain typed arrays, so it
 * works under every tfjs backend (inputs are read with dataSync, results wrapped with
 * tf.tensor). What the backward pass needs from the forward pass stays behind the opaque
 * {@link GruSavedState}: a CPU kernel keeps host buffers there, a GPU kernel could keep
 * device buffers and implement the same interface.
 */

/** Shape and variant of one fused call. Layouts are row-major, gate order (z, r, h). */
export interface GruKernelConfig {
  readonly batch: number;
  readonly steps: number;
  readonly features: number;
  readonly units: number;
  /** Keras' reset_after variant: bias is [2, 3*units] (input row, recurrent row). */
  readonly resetAfter: boolean;
  /** tfjs' hardSigmoid, clip(0.2x + 0.5, 0, 1), for the z and r gates instead of sigmoid. */
  readonly hardSigmoid: boolean;
}

export interface GruInputs {
  /** [batch, steps, features] */
  readonly x: Float32Array;
  /** [batch, steps], 1 = step used, 0 = masked (state and gradient pass through); null = none. */
  readonly mask: Uint8Array | null;
  /** [features, 3*units] */
  readonly kernel: Float32Array;
  /** [units, 3*units] */
  readonly recurrentKernel: Float32Array;
  /** [3*units], or [2*3*units] when resetAfter; null without bias. */
  readonly bias: Float32Array | null;
  /** [batch, units] */
  readonly h0: Float32Array;
}

/** A batch of sequences of their own lengths: the steps come from the lengths. */
export type GruSequenceConfig = Omit<GruKernelConfig, 'steps'>;

/**
 * Sequences as the models see them, unpadded: the models pad in front to a common length
 * and mask (Masking(0)) every step whose features are all zero, padding or not.
 */
export interface GruSequenceInputs extends Omit<GruInputs, 'x' | 'mask'> {
  /** [sum(lengths), features]: the sequences one after another. */
  readonly x: Float32Array;
  /** [batch] steps of each sequence. */
  readonly lengths: Int32Array;
  /**
   * Standardise each feature as it is read, (x − mean) / std computed in double and
   * rounded to float32 (hepflow's particle scaler), before the zero-step test; null: as is.
   */
  readonly scale: { readonly mean: Float64Array; readonly std: Float64Array } | null;
}

/** The padded batch and step mask that `inputs` stand for (for kernels without a sequence path). */
export function padSequences(
  c: GruSequenceConfig,
  inputs: GruSequenceInputs,
): { config: GruKernelConfig; inputs: GruInputs } {
  const { batch: B, features: F } = c;
  const T = inputs.lengths.reduce((m, len) => Math.max(m, len), 1);
  const x = new Float32Array(B * T * F);
  const mask = new Uint8Array(B * T);
  const s = inputs.scale;
  for (let b = 0, at = 0; b < B; at += inputs.lengths[b]!, b++) {
    const len = inputs.lengths[b]!;
    for (let t = T - len, from = at * F; t < T; t++) {
      const o = (b * T + t) * F;
      for (let f = 0; f < F; f++, from++) {
        x[o + f] = s === null ? inputs.x[from]! : (inputs.x[from]! - s.mean[f]!) / s.std[f]!;
        if (x[o + f] !== 0) mask[b * T + t] = 1;
      }
    }
  }
  return { config: { ...c, steps: T }, inputs: { ...inputs, x, mask } };
}

/** What the forward pass keeps for the backward pass. */
export interface GruSavedState {
  /** Bytes held (reported as the layer's per-step training memory). */
  readonly bytes: number;
  /** Hands the buffers back for reuse; the state is unusable afterwards. */
  dispose(): void;
}

export interface GruForwardResult {
  /** [batch, units]: the state after the last step. */
  readonly hT: Float32Array;
  /** Present when the forward pass was asked to save for backward. */
  readonly saved: GruSavedState | null;
}

export interface GruGradients {
  readonly dx: Float32Array;
  readonly dKernel: Float32Array;
  readonly dRecurrentKernel: Float32Array;
  readonly dBias: Float32Array | null;
  readonly dh0: Float32Array;
}

export interface GruKernel {
  /** 'native', 'js', ... (what {@link activeGruImplementation} reports). */
  readonly name: string;
  /** One line for logs: where it runs and how. */
  readonly description: string;
  forward(config: GruKernelConfig, inputs: GruInputs, save: boolean): GruForwardResult;
  /**
   * [batch, units]: each sequence's last state, for prediction: forward's hT on the
   * sequences front-padded and masked as {@link padSequences} does, without a saved state,
   * by whatever path is fastest when nothing is kept for backward.
   */
  lastState(config: GruSequenceConfig, inputs: GruSequenceInputs): Float32Array;
  /** `saved` must come from this kernel's forward on the same config and inputs. */
  backward(config: GruKernelConfig, inputs: GruInputs, saved: GruSavedState, dhT: Float32Array): GruGradients;
}

/** Number of float32 values the CPU kernels save per forward pass: states + 4 gate rows. */
export function savedFloats(config: GruKernelConfig): number {
  return config.batch * config.steps * config.units * 5;
}

/**
 * Reuses the large save-for-backward buffers between training steps: allocating and
 * zero-filling hundreds of MB per step would cost as much as the recurrence at T=801.
 * A buffer that is never handed back (inference under a gradient tape) is simply GC'd.
 */
export class WorkspacePool {
  private readonly free: Float32Array[] = [];

  constructor(private readonly keep = 2) {}

  take(length: number): Float32Array {
    const i = this.free.findIndex((b) => b.length === length);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    return new Float32Array(length);
  }

  give(buffer: Float32Array): void {
    this.free.unshift(buffer);
    this.free.length = Math.min(this.free.length, this.keep);
  }
}

/** Saved state of the CPU kernels: per-step states and gate values in one pooled buffer. */
export class HostSavedState implements GruSavedState {
  private buffer: Float32Array | null;

  constructor(
    config: GruKernelConfig,
    private readonly pool: WorkspacePool,
  ) {
    this.buffer = pool.take(savedFloats(config));
    const n = config.batch * config.steps * config.units;
    this.hs = this.buffer.subarray(0, n);
    this.gates = this.buffer.subarray(n, 5 * n);
  }

  /** [batch, steps, units] state after each step. */
  readonly hs: Float32Array;
  /** [batch, steps, 4*units]: z, r, hh, and r*h (tfjs) or h Uh + bhh (reset_after). */
  readonly gates: Float32Array;

  get bytes(): number {
    return this.buffer === null ? 0 : this.buffer.byteLength;
  }

  dispose(): void {
    if (this.buffer !== null) this.pool.give(this.buffer);
    this.buffer = null;
  }

  assertLive(): void {
    if (this.buffer === null) throw new Error('fused GRU: saved state used after dispose()');
  }
}
