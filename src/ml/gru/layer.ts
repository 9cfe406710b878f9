/**
 * A drop-in for tf.layers.gru (returnSequences false) that runs the fused kernel.
 * Same weights (kernel [inputDim, 3u], recurrent_kernel [u, 3u], bias [3u] — or Keras'
 * reset_after bias [2, 3u]), same gate order (z, r, h) and masking semantics, so weights
 * move between it, tf.layers.gru and Keras' GRU. Registered for model save/load.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { fusedGru } from './op.js';
import type { GruKernel } from './kernel.js';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** Initializers by their tfjs identifier (what getConfig stores). */
const INITIALIZERS = {
  glorotNormal: () => tf.initializers.glorotNormal({}),
  glorotUniform: () => tf.initializers.glorotUniform({}),
  orthogonal: () => tf.initializers.orthogonal({}),
  zeros: () => tf.initializers.zeros(),
  ones: () => tf.initializers.ones(),
} as const;
export type GruInitializerName = keyof typeof INITIALIZERS;

export type GruRecurrentActivation = 'hardSigmoid' | 'sigmoid';

export interface FusedGruLayerArgs extends LayerArgs {
  units: number;
  /** Only 'tanh' (the models' and both libraries' default). */
  activation?: 'tanh';
  /** Default: tfjs' 'hardSigmoid' (as tf.layers.gru); 'sigmoid' when resetAfter (as Keras). */
  recurrentActivation?: GruRecurrentActivation | undefined;
  useBias?: boolean;
  resetAfter?: boolean | undefined;
  /** Mask steps whose features are all 0 even without a Masking layer upstream. */
  maskZeros?: boolean | undefined;
  /** Must stay false: only the last state is produced. */
  returnSequences?: false;
  kernelInitializer?: GruInitializerName;
  recurrentInitializer?: GruInitializerName;
  biasInitializer?: GruInitializerName;
}

function initializer(name: string, what: string): Initializer {
  const make = (INITIALIZERS as Record<string, () => Initializer>)[name];
  if (make === undefined) {
    throw new Error(`fused GRU: unknown ${what} '${name}' (one of ${Object.keys(INITIALIZERS).join(', ')})`);
  }
  return make();
}

/** How a layer instance finds its kernel: set by createGru from the process-wide choice. */
export type GruKernelProvider = () => GruKernel;

export class FusedGru extends tf.layers.Layer {
  static className = 'HepflowFusedGRU';

  readonly units: number;
  readonly recurrentActivation: GruRecurrentActivation;
  readonly useBias: boolean;
  readonly resetAfter: boolean;
  readonly maskZeros: boolean;
  private readonly initNames: Record<'kernel' | 'recurrent' | 'bias', GruInitializerName>;
  private kernel: tf.LayerVariable | null = null;
  private recurrentKernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  /** Bytes the last training forward pass saved for backward (the layer's per-step memory). */
  lastSavedBytes = 0;

  constructor(
    args: FusedGruLayerArgs,
    private readonly kernelProvider: GruKernelProvider = defaultKernelProvider,
  ) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1) {
      throw new Error(`fused GRU: units must be a positive integer, got ${args.units}`);
    }
    if (args.activation !== undefined && args.activation !== 'tanh') {
      throw new Error(`fused GRU: only activation 'tanh' is supported, got '${String(args.activation)}'`);
    }
    if (args.returnSequences) throw new Error('fused GRU: returnSequences is not supported');
    this.units = args.units;
    this.resetAfter = args.resetAfter ?? false;
    this.recurrentActivation = args.recurrentActivation ?? (this.resetAfter ? 'sigmoid' : 'hardSigmoid');
    if (this.recurrentActivation !== 'sigmoid' && this.recurrentActivation !== 'hardSigmoid') {
      throw new Error(
        `fused GRU: recurrentActivation must be sigmoid or hardSigmoid, got '${String(this.recurrentActivation)}'`,
      );
    }
    this.useBias = args.useBias ?? true;
    this.maskZeros = args.maskZeros ?? false;
    this.initNames = {
      kernel: args.kernelInitializer ?? 'glorotNormal',
      recurrent: args.recurrentInitializer ?? 'orthogonal',
      bias: args.biasInitializer ?? 'zeros',
    };
    for (const [what, name] of Object.entries(this.initNames)) initializer(name, `${what} initializer`);
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 3 || shape[2] == null) {
      throw new Error(`fused GRU: input must be [batch, steps, features] with known features, got [${shape}]`);
    }
    const F = shape[2];
    const U = this.units;
    this.kernel = this.addWeight(
      'kernel',
      [F, 3 * U],
      'float32',
      initializer(this.initNames.kernel, 'kernel initializer'),
    );
    this.recurrentKernel = this.addWeight(
      'recurrent_kernel',
      [U, 3 * U],
      'float32',
      initializer(this.initNames.recurrent, 'recurrent initializer'),
    );
    if (this.useBias) {
      this.bias = this.addWeight(
        'bias',
        this.resetAfter ? [2, 3 * U] : [3 * U],
        'float32',
        initializer(this.initNames.bias, 'bias initializer'),
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, this.units];
  }

  /** The sequence is consumed: nothing downstream is masked (tfjs' "no mask" is null). */
  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor;
  }

  /**
   * inputs: x, or [x, h0]. kwargs.mask: the upstream [batch, steps] mask (from Masking);
   * kwargs.initialState: h0 (a tensor or a one-element array), as tf.layers.gru accepts.
   */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const x = list[0]!;
      let h0: tf.Tensor | null = list[1] ?? null;
      const init = kwargs['initialState'];
      if (h0 === null && init != null) h0 = (Array.isArray(init) ? init[0] : init) as tf.Tensor;
      const rawMask = kwargs['mask'];
      const mask = (Array.isArray(rawMask) ? rawMask[0] : rawMask) as tf.Tensor | null | undefined;
      const onSaved = (bytes: number): void => {
        this.lastSavedBytes = bytes;
      };
      return fusedGru(
        this.kernelProvider(),
        x,
        this.kernel!.read(),
        this.recurrentKernel!.read(),
        this.bias === null ? null : this.bias.read(),
        h0,
        mask ?? null,
        {
          resetAfter: this.resetAfter,
          hardSigmoid: this.recurrentActivation === 'hardSigmoid',
          maskZeros: this.maskZeros,
        },
        onSaved,
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: 'tanh',
      recurrentActivation: this.recurrentActivation,
      useBias: this.useBias,
      resetAfter: this.resetAfter,
      maskZeros: this.maskZeros,
      kernelInitializer: this.initNames.kernel,
      recurrentInitializer: this.initNames.recurrent,
      biasInitializer: this.initNames.bias,
    };
  }
}

let defaultKernelProvider: GruKernelProvider = () => {
  throw new Error('fused GRU: no kernel provider set (import it through src/ml/gru/index.js)');
};

/** Set by index.ts so that deserialised layers use the process-wide implementation. */
export function setDefaultGruKernelProvider(provider: GruKernelProvider): void {
  defaultKernelProvider = provider;
}

tf.serialization.registerClass(FusedGru);
