/**
 * Where the fused dense classifier (kernel.ts) replaces tfjs: training steps and
 * predictions of any model that is a plain chain of Dense layers — ReLU hidden layers, a
 * softmax output, one input — trained with Adam on categorical cross-entropy, which is
 * what buildModel makes for 'hlf'. Other models, and HEPFLOW_DENSE=tfjs, keep tfjs.
 * HEPFLOW_DENSE=native|js forces an implementation (default: native when built, else js).
 */
import * as tf from '@tensorflow/tfjs';
import { isVerbose } from '../../verbose.js';
import { jsMlp, type MlpImplementation, type MlpKernel } from './kernel.js';
import { loadDenseAddon } from './kernel-native.js';

export { JsMlp, jsMlp, paramCount, type MlpKernel, type MlpImplementation } from './kernel.js';
export { loadDenseAddon } from './kernel-native.js';

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

let chosen: DenseImplementation | null = null;

/** The process-wide choice (HEPFLOW_DENSE), made and logged on first use. */
export function activeDenseImplementation(): DenseImplementation {
  if (chosen === null) {
    chosen = resolveDenseImplementation(process.env['HEPFLOW_DENSE']);
    if (isVerbose() || chosen.reason.startsWith('native unavailable')) {
      console.error(
        `[hepflow:dense] using ${chosen.name}: ${chosen.impl?.description ?? 'tfjs layers'} (${chosen.reason})`,
      );
    }
  }
  return chosen;
}

/** A float32 tensor's values as a Float32Array (tfjs' CPU backend may hold a cast's result in another array type). */
function float32(t: tf.Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

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

/** tfjs' Adam, as far as the fused step reads and continues it (fields of tfjs-core 4.x's AdamOptimizer). */
interface AdamInternals {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  readonly accumulatedFirstMoment: readonly ({ variable: tf.Variable } | undefined)[];
  readonly accumulatedSecondMoment: readonly ({ variable: tf.Variable } | undefined)[];
}

function adamInternals(o: tf.Optimizer): AdamInternals | null {
  if (o.getClassName() !== 'Adam') return null;
  const a = o as unknown as AdamInternals;
  if (
    !Array.isArray(a.accumulatedFirstMoment) ||
    !(a.accBeta1 instanceof tf.Variable) ||
    typeof a.epsilon !== 'number'
  ) {
    throw new Error(
      "fused dense: this tfjs version's Adam optimizer keeps its state differently; set HEPFLOW_DENSE=tfjs",
    );
  }
  return a;
}

/** A training step with the shape of makeTrainStep's, plus a way to hand the state back to tfjs. */
export interface FusedTrainStep {
  (inputs: tf.Tensor[], labels: tf.Tensor): number;
  /**
   * Writes the weights and Adam's state into the model's variables and optimizer, where
   * everything else (prediction, checkpoints, weight export) reads them. The next step
   * reads them back, so changes made to the model in between are honoured.
   */
  sync(): Promise<void>;
  readonly implementation: string;
}

/**
 * The fused training step for `model`, or null when the model is not a plain dense
 * classifier compiled with Adam, or the fused kernel is off. It holds the weights and
 * Adam's moments itself between sync() calls; each step does what tfjs' Adam step does
 * (same formula, same bias correction accumulated in float32), so a run can switch
 * between the two at any sync. `impl` defaults to the process-wide choice.
 */
export function fusedDenseTrainStep(
  model: tf.LayersModel,
  impl = activeDenseImplementation().impl,
): FusedTrainStep | null {
  const sizes = impl === null ? null : denseClassifierSizes(model);
  const adam = sizes === null ? null : adamInternals(model.optimizer);
  if (impl === null || sizes === null || adam === null) return null;
  const kernel = impl.create(sizes);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (vars.reduce((n, v) => n + v.size, 0) !== kernel.paramCount) return null;
  const n = kernel.paramCount;
  const settings = new Float32Array(6);
  let loaded = false;
  let iterations = 0;
  let accBeta1 = 0;
  let accBeta2 = 0;

  const slots = (list: AdamInternals['accumulatedFirstMoment']): Float32Array => {
    const out = new Float32Array(n);
    let at = 0;
    vars.forEach((v, i) => {
      const slot = list[i];
      if (slot !== undefined) out.set(float32(slot.variable), at);
      at += v.size;
    });
    return out;
  };
  const load = (): void => {
    const flat = new Float32Array(n);
    let at = 0;
    for (const v of vars) {
      flat.set(float32(v), at);
      at += v.size;
    }
    kernel.setParams(flat);
    kernel.setMoments(slots(adam.accumulatedFirstMoment), slots(adam.accumulatedSecondMoment));
    iterations = model.optimizer.iterations;
    accBeta1 = adam.accBeta1.dataSync()[0]!;
    accBeta2 = adam.accBeta2.dataSync()[0]!;
    settings.set([adam.learningRate, adam.beta1, adam.beta2, adam.epsilon]);
    loaded = true;
  };

  const step = ((inputs: tf.Tensor[], labels: tf.Tensor): number => {
    if (!loaded) load();
    const x = inputs[0]!;
    settings[4] = accBeta1;
    settings[5] = accBeta2;
    const loss = kernel.trainStep(float32(x), float32(labels), x.shape[0], settings);
    accBeta1 = Math.fround(accBeta1 * Math.fround(adam.beta1));
    accBeta2 = Math.fround(accBeta2 * Math.fround(adam.beta2));
    iterations++;
    return loss;
  }) as FusedTrainStep;

  step.sync = async (): Promise<void> => {
    if (!loaded) return;
    const flat = new Float32Array(n);
    const m = new Float32Array(n);
    const v2 = new Float32Array(n);
    kernel.getParams(flat);
    kernel.getMoments(m, v2);
    const slice = (a: Float32Array, at: number, v: tf.Variable) => tf.tensor(a.slice(at, at + v.size), v.shape);
    let at = 0;
    for (const v of vars) {
      tf.tidy(() => v.assign(slice(flat, at, v)));
      at += v.size;
    }
    const fresh: { name: string; tensor: tf.Tensor }[] = [{ name: 'iter', tensor: tf.scalar(iterations, 'int32') }];
    for (const [moments, suffix] of [
      [m, 'm'],
      [v2, 'v'],
    ] as const) {
      at = 0;
      for (const v of vars) {
        fresh.push({ name: `${v.name}/${suffix}`, tensor: slice(moments, at, v) });
        at += v.size;
      }
    }
    // setWeights replaces the slot variables (and recomputes accBeta = beta^(iterations+1)): the old ones go.
    const old = await model.optimizer.getWeights();
    await model.optimizer.setWeights(fresh);
    tf.dispose([...old.map((w) => w.tensor), ...fresh.map((w) => w.tensor)]);
    loaded = false;
  };
  Object.defineProperty(step, 'implementation', { value: `fused dense, ${impl.description}` });
  return step;
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
