/**
 * The training step (one optimisation step on a batch) both schedulers take, and the
 * seeding that makes a step's random draws (initial weights, dropout masks) repeatable.
 */
import * as tf from '@tensorflow/tfjs';
import { fnv1a, mulberry32 } from '../data.js';
import { fusedDenseTrainStep } from '../dense/index.js';
import { fusedSequenceTrainStep } from '../gru/index.js';

/**
 * tfjs draws the seed of every unseeded random op (weight initialisers, dropout masks)
 * from Math.random (tfjs-core's rand_util), so training swaps in a PRNG seeded from
 * (config.seed, purpose) while it runs: the same data and seed give the same weights on
 * one backend, and reseeding per epoch makes a run resumed at epoch k draw the masks an
 * uninterrupted run would. Exact only while nothing else on the thread draws from
 * Math.random meanwhile, which the training threads guarantee: a job has its thread to
 * itself until it ends (threads.ts).
 */
export function seedTfjsRandom(seed: number, purpose: string): void {
  Math.random = mulberry32(fnv1a(purpose, seed));
}

/** One optimisation step on a batch, returning the batch's mean loss. */
export interface TrainStep {
  (inputs: tf.Tensor[], labels: tf.Tensor): number;
  /** Makes the model's variables and optimizer current (a fused step keeps them itself): await before reading them. */
  sync(): Promise<void>;
  readonly implementation: string;
}

/**
 * The training step runTraining, grid search and distributed training use: the fused
 * dense kernel for plain dense classifiers (the HLF model; src/ml/dense), the fused
 * sequence step for the GRU models (src/ml/gru/train-step.ts), tfjs otherwise.
 */
export function makeTrainStep(model: tf.LayersModel): TrainStep {
  return fusedDenseTrainStep(model) ?? fusedSequenceTrainStep(model) ?? tfjsTrainStep(model);
}

/**
 * tfjs' training step. Calls the compiled optimizer directly rather than
 * LayersModel.trainOnBatch, whose per-call bookkeeping (input standardisation, a fresh
 * train function) costs about as much as the whole HLF model's arithmetic: measured 2×
 * faster at batch 128 on WASM. The loss is tfjs-layers' own categorical cross-entropy,
 * and the variable list is fixed so Adam's per-variable slots line up across checkpoints.
 */
export function tfjsTrainStep(model: tf.LayersModel): TrainStep {
  const optimizer = model.optimizer;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = (inputs: tf.Tensor[], labels: tf.Tensor): number => {
    const loss = optimizer.minimize(
      () => {
        const out = model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: true }) as tf.Tensor;
        return tf.mean<tf.Scalar>(tf.metrics.categoricalCrossentropy(labels, out));
      },
      true,
      vars,
    )!;
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return value;
  };
  return Object.assign(step, { sync: async () => undefined, implementation: 'tfjs' });
}
