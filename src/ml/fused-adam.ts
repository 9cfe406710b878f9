/**
 * What every fused training step (src/ml/dense, src/ml/gru/train-step.ts) shares: it
 * takes a tfjs model's weights and Adam's state into a kernel that keeps them between
 * steps as one flat list in tfjs' order (model.trainableWeights), runs each step as one
 * call, and writes everything back into the model's variables and optimizer on sync().
 * Each step does what tfjs' Adam step does (same formula, same bias correction
 * accumulated in float32), so a run can switch between tfjs and a fused step at any sync.
 */
import * as tf from '@tensorflow/tfjs';

/** Adam's settings for one step: [learningRate, beta1, beta2, epsilon, accBeta1, accBeta2], accBeta = beta^t. */
export type AdamStep = Float32Array;

/** A kernel that holds a model's parameters and Adam's moments as flat lists in tfjs' order. */
export interface FlatParamKernel {
  readonly paramCount: number;
  setParams(flat: Float32Array): void;
  getParams(flat: Float32Array): void;
  setMoments(m: Float32Array, v: Float32Array): void;
  getMoments(m: Float32Array, v: Float32Array): void;
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

/** A float32 tensor's values as a Float32Array (tfjs' CPU backend may hold a cast's result in another array type). */
export function float32(t: tf.Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** tfjs' Adam, as far as a fused step reads and continues it (fields of tfjs-core 4.x's AdamOptimizer). */
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

/** null when the optimizer is not Adam; `offSwitch` names the setting that turns the fused step off. */
function adamInternals(o: tf.Optimizer, offSwitch: string): AdamInternals | null {
  if (o.getClassName() !== 'Adam') return null;
  const a = o as unknown as AdamInternals;
  if (
    !Array.isArray(a.accumulatedFirstMoment) ||
    !(a.accBeta1 instanceof tf.Variable) ||
    typeof a.epsilon !== 'number'
  ) {
    throw new Error(
      `fused training step: this tfjs version's Adam optimizer keeps its state differently; set ${offSwitch}`,
    );
  }
  return a;
}

/**
 * The fused step of `model` around `kernel`, or null when the model is not compiled with
 * Adam or the kernel's parameter count is not the model's. `run` does one step on the
 * batch with the kernel and returns the loss before it.
 */
export function fusedAdamTrainStep(
  model: tf.LayersModel,
  kernel: FlatParamKernel,
  o: {
    implementation: string;
    offSwitch: string;
    run: (inputs: tf.Tensor[], labels: tf.Tensor, adam: AdamStep) => number;
  },
): FusedTrainStep | null {
  const adam = adamInternals(model.optimizer, o.offSwitch);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (adam === null || vars.reduce((n, v) => n + v.size, 0) !== kernel.paramCount) return null;
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
    settings[4] = accBeta1;
    settings[5] = accBeta2;
    const loss = o.run(inputs, labels, settings);
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
  Object.defineProperty(step, 'implementation', { value: o.implementation });
  return step;
}
