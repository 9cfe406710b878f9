/**
 * The three classifiers of the reference pipeline (arXiv:1807.00083), built with
 * tfjs-layers. Every GRU comes from createGru (src/ml/gru) so a fused kernel can replace
 * tfjs' op-by-op recurrence without touching the models.
 */
import * as tf from '@tensorflow/tfjs';
import { createGru } from './gru/index.js';
import { MAX_PARTICLES, N_HLF, N_PARTICLE_FEATURES } from '../physics/schema.js';

export const MODEL_KINDS = ['hlf', 'particle-sequence', 'inclusive'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Names of the model inputs, in the order the model takes them. */
export type ModelInputName = 'particles' | 'hlf';

export interface ModelConfig {
  readonly kind: ModelKind;
  /** HLF classifier hidden Dense sizes (ReLU). */
  readonly hiddenLayers: readonly number[];
  readonly gruUnits: number;
  readonly dropout: number;
  /** Inclusive classifier: Dense size after the concatenation. */
  readonly inclusiveDense: number;
  /** Longest particle sequence fed to the GRU (longer ones keep their LAST particles). */
  readonly maxLen: number;
  readonly learningRate: number;
  readonly nClasses: number;
}

export const DEFAULT_MODEL_CONFIG: Omit<ModelConfig, 'kind'> = {
  hiddenLayers: [50, 20, 10],
  gruUnits: 50,
  dropout: 0.2,
  inclusiveDense: 25,
  maxLen: MAX_PARTICLES,
  learningRate: 0.001,
  nClasses: 3,
};

export function modelConfig(kind: ModelKind, overrides: Partial<Omit<ModelConfig, 'kind'>> = {}): ModelConfig {
  const c: ModelConfig = { ...DEFAULT_MODEL_CONFIG, ...overrides, kind };
  validateModelConfig(c);
  return c;
}

function positiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

export function validateModelConfig(c: ModelConfig): void {
  const bad = (field: string, why: string): never => {
    throw new Error(`invalid model config: ${field} ${why}`);
  };
  if (!(MODEL_KINDS as readonly string[]).includes(c.kind))
    bad('kind', `must be one of ${MODEL_KINDS.join(', ')}, got '${String(c.kind)}'`);
  if (!Array.isArray(c.hiddenLayers) || c.hiddenLayers.length === 0 || !c.hiddenLayers.every(positiveInt)) {
    bad('hiddenLayers', `must be a non-empty list of positive integers, got ${JSON.stringify(c.hiddenLayers)}`);
  }
  for (const f of ['gruUnits', 'inclusiveDense', 'maxLen', 'nClasses'] as const) {
    if (!positiveInt(c[f])) bad(f, `must be a positive integer, got ${JSON.stringify(c[f])}`);
  }
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1))
    bad('dropout', `must be in [0, 1), got ${c.dropout}`);
  if (!(typeof c.learningRate === 'number' && c.learningRate > 0))
    bad('learningRate', `must be > 0, got ${c.learningRate}`);
}

export function modelInputs(kind: ModelKind): readonly ModelInputName[] {
  switch (kind) {
    case 'hlf':
      return ['hlf'];
    case 'particle-sequence':
      return ['particles'];
    case 'inclusive':
      return ['particles', 'hlf'];
  }
}

/**
 * The GRU branch. The time dimension is left open (null): batches are padded at the
 * front to their own longest sequence (at most maxLen), and since Masking(0) makes the
 * GRU carry its state through padded steps, the output does not depend on how much
 * padding there is — shorter batches simply cost fewer steps.
 */
function gruBranch(c: ModelConfig): { input: tf.SymbolicTensor; output: tf.SymbolicTensor } {
  const input = tf.input({ shape: [null, N_PARTICLE_FEATURES], name: 'particles' });
  const masked = tf.layers.masking({ maskValue: 0, name: 'masking' }).apply(input) as tf.SymbolicTensor;
  const gru = createGru({ units: c.gruUnits, name: 'gru', resetAfter: true });
  return { input, output: gru.apply(masked) as tf.SymbolicTensor };
}

function softmaxHead(c: ModelConfig, x: tf.SymbolicTensor): tf.SymbolicTensor {
  return tf.layers.dense({ units: c.nClasses, activation: 'softmax', name: 'output' }).apply(x) as tf.SymbolicTensor;
}

/** Builds and compiles (Adam, categorical cross-entropy) the model `c` describes. */
export function buildModel(c: ModelConfig): tf.LayersModel {
  validateModelConfig(c);
  let model: tf.LayersModel;
  switch (c.kind) {
    case 'hlf': {
      const input = tf.input({ shape: [N_HLF], name: 'hlf' });
      let x: tf.SymbolicTensor = input;
      c.hiddenLayers.forEach((units, i) => {
        x = tf.layers.dense({ units, activation: 'relu', name: `dense_${i + 1}` }).apply(x) as tf.SymbolicTensor;
      });
      model = tf.model({ inputs: input, outputs: softmaxHead(c, x), name: 'hlf_classifier' });
      break;
    }
    case 'particle-sequence': {
      const gru = gruBranch(c);
      const dropped = tf.layers.dropout({ rate: c.dropout, name: 'dropout' }).apply(gru.output) as tf.SymbolicTensor;
      model = tf.model({ inputs: gru.input, outputs: softmaxHead(c, dropped), name: 'particle_sequence_classifier' });
      break;
    }
    case 'inclusive': {
      const gru = gruBranch(c);
      const hlf = tf.input({ shape: [N_HLF], name: 'hlf' });
      const hlfDropped = tf.layers.dropout({ rate: c.dropout, name: 'hlf_dropout' }).apply(hlf) as tf.SymbolicTensor;
      const joined = tf.layers
        .concatenate({ name: 'concatenate' })
        .apply([gru.output, hlfDropped]) as tf.SymbolicTensor;
      const dense = tf.layers
        .dense({ units: c.inclusiveDense, activation: 'relu', name: 'dense' })
        .apply(joined) as tf.SymbolicTensor;
      model = tf.model({ inputs: [gru.input, hlf], outputs: softmaxHead(c, dense), name: 'inclusive_classifier' });
      break;
    }
  }
  // No compiled metrics: they would cost ops every step; validation metrics are computed per epoch.
  model.compile({ optimizer: tf.train.adam(c.learningRate), loss: 'categoricalCrossentropy' });
  return model;
}

/**
 * Parameters of a GRU layer in Keras' reset_after form (Keras' default, which the
 * reference's 12,353 counts): two bias vectors per gate. tfjs' own GRU implements only
 * the original form (one bias per gate): 3·units fewer parameters.
 */
export function gruParamCount(inputDim: number, units: number, resetAfter: boolean): number {
  return 3 * (inputDim * units + units * units + (resetAfter ? 2 : 1) * units);
}
