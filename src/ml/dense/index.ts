/**
 * Where the fused dense classifier (kernel.ts) replaces tfjs: training steps and
 * predictions of any model that is a plain chain of Dense layers — ReLU hidden layers, a
 * softmax output, one input — trained with Adam on categorical cross-entropy, which is
 * what buildModel makes for 'hlf'. Other models, and HEPFLOW_DENSE=tfjs, keep tfjs.
 * HEPFLOW_DENSE=native|js forces an implementation (default: native when built, else js).
 */
import * as tf from '@tensorflow/tfjs';
import { chooseOnce } from '../../runtime-settings.js';
import { jsMlp, type MlpImplementation, type MlpKernel } from './kernel.js';
import { loadDenseAddon } from './kernel-native.js';
import { float32, fusedAdamTrainStep, type FusedTrainStep } from '../fused-adam.js';

export { JsMlp, jsMlp, paramCount, type MlpKernel, type MlpImplementation } from './kernel.js';
export { loadDenseAddon } from './kernel-native.js';
export type { FusedTrainStep } from '../fused-adam.js';

export interface DenseImplementation {
  readonly name: 'native' | 'js' | 'tfjs';
  /** null for 'tfjs' (the fused kernel off). */
  readonly impl: MlpImplementation | null;
  readonly reason: string;
}

/** `load` finds the native addon (tests pass one that finds none). */
export function resolveDenseImplementation(requested?: string, load = loadDenseAddon): DenseImplementation {
  switch (requested) {
    case 'tfjs':
      return { name: 'tfjs', impl: null, reason: 'forced: tfjs layers, fused kernel off' };
    case 'js':
      return { name: 'js', impl: jsMlp, reason: 'forced' };
    case 'native': {
      const loaded = load();
      if ('error' in loaded) throw new Error(`HEPFLOW_DENSE=native but ${loaded.error}`);
      return { name: 'native', impl: loaded.impl, reason: 'forced' };
    }
    case undefined:
    case '': {
      const loaded = load();
      if ('impl' in loaded) return { name: 'native', impl: loaded.impl, reason: 'addon available' };
      return { name: 'js', impl: jsMlp, reason: `native unavailable: ${loaded.error}` };
    }
    default:
      throw new Error(`HEPFLOW_DENSE must be native, js or tfjs, got '${requested}'`);
  }
}

/** The process-wide choice (runtime settings' HEPFLOW_DENSE), made and logged on first use. */
export const activeDenseImplementation: () => DenseImplementation = chooseOnce(
  'dense',
  (s) => resolveDenseImplementation(s.kernels.dense),
  (c) => `${c.name}: ${c.impl?.description ?? 'tfjs layers'}`,
);

type Inbound = { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] };

/**
 * The widths (inputs, hidden..., outputs) of a model that is one input followed by a
 * chain of biased Dense layers, ReLU then a softmax last; null for any other model.
 */
export function denseClassifierSizes(model: tf.LayersModel): number[] | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const inputShape = model.inputs[0]!.shape;
  if (inputShape.length !== 2 || typeof inputShape[1] !== 'number') return null;
  const [input, ...dense] = model.layers;
  if (input === undefined || input.getClassName() !== 'InputLayer' || dense.length === 0) return null;
  const sizes = [inputShape[1]];
  for (let i = 0; i < dense.length; i++) {
    const layer = dense[i]!;
    if (layer.getClassName() !== 'Dense') return null;
    const c = layer.getConfig() as { units?: number; activation?: string; useBias?: boolean };
    if (c.useBias !== true || c.activation !== (i === dense.length - 1 ? 'softmax' : 'relu')) return null;
    const nodes = (layer as unknown as Inbound).inboundNodes;
    const from = i === 0 ? input : dense[i - 1]!;
    if (nodes.length !== 1 || nodes[0]!.inboundLayers.length !== 1 || nodes[0]!.inboundLayers[0] !== from) return null;
    sizes.push(c.units!);
  }
  return sizes;
}

/**
 * The fused training step for `model`, or null when the model is not a plain dense
 * classifier compiled with Adam, or the fused kernel is off (src/ml/fused-adam.ts keeps
 * the weights and Adam's state between syncs). `impl` defaults to the process-wide choice.
 */
export function fusedDenseTrainStep(
  model: tf.LayersModel,
  impl = activeDenseImplementation().impl,
): FusedTrainStep | null {
  const sizes = impl === null ? null : denseClassifierSizes(model);
  if (impl === null || sizes === null) return null;
  const kernel = impl.create(sizes);
  return fusedAdamTrainStep(model, kernel, {
    implementation: `fused dense, ${impl.description}`,
    offSwitch: 'HEPFLOW_DENSE=tfjs',
    run: (inputs, labels, adam) => {
      const x = inputs[0]!;
      return kernel.trainStep(float32(x), float32(labels), x.shape[0], adam);
    },
  });
}

/**
 * Predicts with the fused kernel from the model's current weights (read once, here):
 * x [batch x inputs] → probabilities [batch x outputs]. Null when the model is not a
 * plain dense classifier or the fused kernel is off.
 */
export function fusedDensePredictor(
  model: tf.LayersModel,
  impl = activeDenseImplementation().impl,
): ((x: Float32Array, batch: number) => Float32Array) | null {
  const sizes = impl === null ? null : denseClassifierSizes(model);
  if (impl === null || sizes === null) return null;
  const kernel: MlpKernel = impl.create(sizes);
  const weights = model.trainableWeights.map((w) => float32(w.read()));
  if (weights.reduce((s, w) => s + w.length, 0) !== kernel.paramCount) return null;
  const flat = new Float32Array(kernel.paramCount);
  let at = 0;
  for (const w of weights) {
    flat.set(w, at);
    at += w.length;
  }
  kernel.setParams(flat);
  const outputs = sizes[sizes.length - 1]!;
  return (x, batch) => {
    const out = new Float32Array(batch * outputs);
    kernel.forward(x, batch, out);
    return out;
  };
}
