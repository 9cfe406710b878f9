import * as tf from '@tensorflow/tfjs';

/** Options of the GRU used by the sequence models (a subset of tf.layers.gru's). */
export interface GruOptions {
  readonly units: number;
  readonly name?: string;
  /** Keras' reset_after variant (Keras' default) instead of tfjs' original GRU. */
  readonly resetAfter?: boolean;
}

/** The GRU layer for hepflow's models. Placeholder until the fused kernel lands. */
export function createGru(options: GruOptions): tf.layers.Layer {
  return tf.layers.gru({ units: options.units, name: options.name, returnSequences: false });
}
