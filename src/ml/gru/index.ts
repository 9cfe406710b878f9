import * as tf from '@tensorflow/tfjs';
import { FusedGru, setDefaultGruKernelProvider, type GruRecurrentActivation } from './layer.js';
import { activeGruImplementation } from './select.js';
import { withoutUndefined } from '../../contract/defined.js';

export { FusedGru, type FusedGruLayerArgs, type GruRecurrentActivation } from './layer.js';
export { fusedGru, type FusedGruOpOptions } from './op.js';
export {
  activeGruImplementation,
  resolveGruImplementation,
  type GruImplementation,
  type GruImplementationName,
} from './select.js';
export {
  activeSeqStep,
  fusedSequenceTrainStep,
  loadSeqAddon,
  resolveSeqStep,
  sequenceClassifierLayout,
  type SeqStepChoice,
  type SequenceLayout,
} from './train-step.js';
export type {
  GruKernel,
  GruKernelConfig,
  GruInputs,
  GruGradients,
  GruSavedState,
  GruSequenceConfig,
  GruSequenceInputs,
} from './kernel.js';
export { padSequences } from './kernel.js';

/** Options of the GRU used by the sequence models (a subset of tf.layers.gru's). */
export interface GruOptions {
  readonly units: number;
  readonly name?: string;
  /** Keras' reset_after variant (Keras' default) instead of tfjs' original GRU. */
  readonly resetAfter?: boolean;
  /** Default: 'hardSigmoid' (tf.layers.gru's default), or 'sigmoid' with resetAfter (Keras'). */
  readonly recurrentActivation?: GruRecurrentActivation;
  /** Mask all-zero steps without a Masking layer upstream (one with one works too). */
  readonly maskZeros?: boolean;
}

// Deserialised layers (tf.loadLayersModel) have no createGru call: give them the same choice.
setDefaultGruKernelProvider(() => {
  const impl = activeGruImplementation();
  if (impl.kernel === null) {
    throw new Error('HEPFLOW_GRU=tfjs but a saved model contains the fused GRU layer');
  }
  return impl.kernel;
});

/**
 * The GRU layer for hepflow's models: the fused kernel (native addon, else portable JS),
 * or tf.layers.gru when HEPFLOW_GRU=tfjs. Returns only the last state.
 */
export function createGru(options: GruOptions): tf.layers.Layer {
  const impl = activeGruImplementation();
  if (impl.kernel === null) {
    if (options.maskZeros) throw new Error('HEPFLOW_GRU=tfjs: tf.layers.gru has no maskZeros');
    if (options.resetAfter) {
      // Turning the kernel off must not break the models: fall back to tfjs' only form,
      // loudly, since its weights (bias [3u]) no longer match Keras'.
      console.error(
        `[hepflow:gru] HEPFLOW_GRU=tfjs: '${options.name ?? 'gru'}' uses tf.layers.gru without reset_after ` +
          '(weights not Keras-compatible)',
      );
    }
    const recurrentActivation = options.recurrentActivation ?? (options.resetAfter ? 'sigmoid' : undefined);
    return tf.layers.gru({
      units: options.units,
      returnSequences: false,
      ...withoutUndefined({ name: options.name, recurrentActivation }),
    });
  }
  const kernel = impl.kernel;
  return new FusedGru(
    {
      units: options.units,
      ...withoutUndefined({ name: options.name }),
      resetAfter: options.resetAfter,
      recurrentActivation: options.recurrentActivation,
      maskZeros: options.maskZeros,
    },
    () => kernel,
  );
}
