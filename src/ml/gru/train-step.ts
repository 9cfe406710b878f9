/**
 * The fused training step of the sequence classifiers (buildModel's 'particle-sequence'
 * and 'inclusive'): Masking(0), the GRU, dropout, the dense head, categorical
 * cross-entropy and Adam in one native call per batch (native/fused_seq, which compiles
 * fused_gru's recurrence and fused_dense's classifier). The tfjs path around the fused GRU
 * op spends per step what this removes: the mask built over the whole input, the input's
 * gradient (a model input needs none), the head's small ops and Adam per variable.
 *
 * HEPFLOW_SEQ_STEP=tfjs keeps tfjs layers around the fused GRU op; =fused forces this step
 * (an error when the addon is missing). Default: this step when the addon is built and the
 * GRU runs natively (HEPFLOW_GRU), with the GRU's thread count (HEPFLOW_GRU_THREADS).
 * Dropout's masks are drawn with tfjs' own dropout op, in the layers' order, so a seeded
 * run draws what the tfjs path draws.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { projectRoot } from '../../paths.js';
import { chooseOnce } from '../../runtime-settings.js';
import {
  float32,
  fusedAdamTrainStep,
  type AdamStep,
  type FlatParamKernel,
  type FusedTrainStep,
} from '../fused-adam.js';
import { FusedGru } from './layer.js';
import { NativeGruKernel } from './kernel-native.js';
import { activeGruImplementation } from './select.js';

interface NativeSeqModel extends FlatParamKernel {
  trainStep(
    x: Float32Array,
    hlf: Float32Array | null,
    y: Float32Array,
    keep: Float32Array,
    batch: number,
    steps: number,
    adam: AdamStep,
  ): number;
}

export interface SeqAddon {
  SeqModel: new (features: number, units: number, extra: number, head: number[], threads: number) => NativeSeqModel;
}

export const SEQ_ADDON_PATH = path.join(projectRoot, 'native/fused_seq/build/Release/fused_seq.node');

/** Loads the addon, or says why it cannot be used. */
export function loadSeqAddon(file = SEQ_ADDON_PATH): { addon: SeqAddon } | { error: string } {
  if (!existsSync(file)) return { error: `${file} not built (infra/bootstrap.sh builds it with node-gyp)` };
  try {
    const addon = createRequire(import.meta.url)(file) as SeqAddon;
    if (typeof addon.SeqModel !== 'function') return { error: `${file} does not export SeqModel` };
    return { addon };
  } catch (e) {
    return { error: `${file} failed to load: ${(e as Error).message}` };
  }
}

export interface SeqStepChoice {
  /** null: the tfjs path. */
  readonly addon: SeqAddon | null;
  readonly threads: number;
  readonly reason: string;
}

/** `load` finds the addon (tests pass one that finds none). */
export function resolveSeqStep(requested?: string, load = loadSeqAddon): SeqStepChoice {
  const gru = activeGruImplementation();
  const threads = gru.kernel instanceof NativeGruKernel ? gru.kernel.threads : 1;
  switch (requested) {
    case 'tfjs':
      return { addon: null, threads, reason: 'forced: tfjs layers around the fused GRU op' };
    case 'fused': {
      const loaded = load();
      if ('error' in loaded) throw new Error(`HEPFLOW_SEQ_STEP=fused but ${loaded.error}`);
      return { addon: loaded.addon, threads, reason: 'forced' };
    }
    case undefined:
    case '': {
      if (gru.name !== 'native') return { addon: null, threads, reason: `the GRU runs as ${gru.name}` };
      const loaded = load();
      if ('error' in loaded) return { addon: null, threads, reason: `native unavailable: ${loaded.error}` };
      return { addon: loaded.addon, threads, reason: 'addon available' };
    }
    default:
      throw new Error(`HEPFLOW_SEQ_STEP must be fused or tfjs, got '${requested}'`);
  }
}

/** The process-wide choice (runtime settings' HEPFLOW_SEQ_STEP), made and logged on first use. */
export const activeSeqStep: () => SeqStepChoice = chooseOnce(
  'seq-step',
  (s) => resolveSeqStep(s.kernels.seqStep),
  (c) => (c.addon === null ? 'tfjs layers around the fused GRU' : `the fused sequence step (${c.threads} threads)`),
);

/** What the fused step needs to know of a sequence classifier. */
export interface SequenceLayout {
  readonly features: number;
  readonly units: number;
  /** Width of the second (HLF) input joined after the GRU state; 0 without one. */
  readonly extra: number;
  /** The dense head's widths after its input: ReLU hidden layers..., softmax outputs. */
  readonly head: number[];
  /** Dropout layers on the head's input, in the order the model runs them. */
  readonly dropouts: { readonly layer: tf.layers.Layer; readonly from: number; readonly width: number }[];
}

type Node = tf.layers.Layer & { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] };

function inbound(layer: tf.layers.Layer): tf.layers.Layer[] | null {
  const nodes = (layer as Node).inboundNodes;
  return nodes.length === 1 ? nodes[0]!.inboundLayers : null;
}

function single(layer: tf.layers.Layer): tf.layers.Layer | null {
  const from = inbound(layer);
  return from !== null && from.length === 1 ? from[0]! : null;
}

/**
 * The layout of a model that is particles → Masking(0) → the fused GRU (Keras'
 * reset_after form, sigmoid gates, biased) [→ concatenated with a second 2-D input] →
 * biased Dense layers, ReLU then a softmax last, with plain Dropout layers allowed on the
 * GRU state and the second input; null for any other model.
 */
export function sequenceClassifierLayout(model: tf.LayersModel): SequenceLayout | null {
  if (model.outputs.length !== 1 || model.inputs.length < 1 || model.inputs.length > 2) return null;
  const used = new Set<tf.layers.Layer>();
  const take = (l: tf.layers.Layer | null, cls: string): tf.layers.Layer | null =>
    l !== null && l.getClassName() === cls ? (used.add(l), l) : null;
  const head: number[] = [];
  let layer: tf.layers.Layer | null = model.layers[model.layers.length - 1]!;
  while (layer !== null && layer.getClassName() === 'Dense') {
    const c = layer.getConfig() as { units: number; activation?: string; useBias?: boolean };
    if (c.useBias !== true || c.activation !== (head.length === 0 ? 'softmax' : 'relu')) return null;
    head.unshift(c.units);
    used.add(layer);
    layer = single(layer);
  }
  if (layer === null || head.length === 0) return null;
  // Peels a Dropout (without a noise shape) off a branch.
  const dropouts: tf.layers.Layer[] = [];
  const peel = (l: tf.layers.Layer | null): tf.layers.Layer | null => {
    if (l === null || l.getClassName() !== 'Dropout') return l;
    if ((l.getConfig() as { noiseShape?: unknown }).noiseShape != null) return null;
    used.add(l);
    dropouts.push(l);
    return single(l);
  };
  let branches: (tf.layers.Layer | null)[];
  if (take(layer, 'Concatenate') !== null) {
    const from = inbound(layer);
    if (from === null || from.length !== 2 || (layer.getConfig() as { axis?: number }).axis !== -1) return null;
    branches = from;
  } else {
    branches = [layer];
  }
  const gruOut = branches[0]!;
  const gruLayer = peel(gruOut);
  const gruDropped = gruLayer !== gruOut;
  if (!(gruLayer instanceof FusedGru) || !gruLayer.resetAfter || gruLayer.recurrentActivation !== 'sigmoid')
    return null;
  if (!gruLayer.useBias) return null;
  used.add(gruLayer);
  const masking = take(single(gruLayer), 'Masking');
  if (masking === null || (masking.getConfig() as { maskValue?: number }).maskValue !== 0) return null;
  const particles = take(single(masking), 'InputLayer');
  const pShape = model.inputs[0]!.shape;
  if (particles === null || particles !== model.inputLayers[0] || pShape.length !== 3 || typeof pShape[2] !== 'number')
    return null;
  let extra = 0;
  if (branches.length === 2) {
    const second = branches[1]!;
    const hlf = peel(second);
    const hShape = model.inputs[1]?.shape;
    if (take(hlf, 'InputLayer') === null || hlf !== model.inputLayers[1] || hShape?.length !== 2) return null;
    extra = hShape[1] as number;
  } else if (model.inputs.length !== 1) {
    return null;
  }
  if (used.size !== model.layers.length) return null;
  const units = gruLayer.units;
  const widthOf = (l: tf.layers.Layer) =>
    l === (gruDropped ? dropouts[0] : undefined) ? { from: 0, width: units } : { from: units, width: extra };
  // The model runs its layers in model.layers' (topological) order: draw in that order.
  const ordered = model.layers.filter((l) => dropouts.includes(l));
  return {
    features: pShape[2],
    units,
    extra,
    head,
    dropouts: ordered.map((l) => ({ layer: l, ...widthOf(l) })),
  };
}

/**
 * The fused step for `model`, or null when it is not a sequence classifier of that
 * layout compiled with Adam, or the step is off (`choice` defaults to the process-wide one).
 */
export function fusedSequenceTrainStep(model: tf.LayersModel, choice = activeSeqStep()): FusedTrainStep | null {
  const layout = choice.addon === null ? null : sequenceClassifierLayout(model);
  if (choice.addon === null || layout === null) return null;
  const { features, units, extra, head } = layout;
  const kernel = new choice.addon.SeqModel(features, units, extra, head, choice.threads);
  const width = units + extra;
  let keep = new Float32Array(0);
  return fusedAdamTrainStep(model, kernel, {
    implementation: `fused sequence step, native C++ addon (${choice.threads} thread${choice.threads === 1 ? '' : 's'})`,
    offSwitch: 'HEPFLOW_SEQ_STEP=tfjs',
    run: (xs, labels, adam) => {
      const x = xs[0]!;
      if (x.rank !== 3 || x.shape[2] !== features || xs.length !== (extra > 0 ? 2 : 1)) {
        throw new Error(
          `fused sequence step: expected particles [batch, steps, ${features}]${extra > 0 ? ` and [batch, ${extra}]` : ''}, got ${xs.map((t) => `[${t.shape}]`).join(', ')}`,
        );
      }
      const [B, T] = x.shape as [number, number, number];
      if (keep.length !== B * width) keep = new Float32Array(B * width);
      keep.fill(1);
      for (const d of layout.dropouts) {
        const { rate, seed } = d.layer as unknown as { rate: number; seed?: number };
        // What tfjs' Dropout layer does in training: rate 0 draws nothing.
        if (!(rate > 0 && rate < 1)) continue;
        const m = tf.tidy(() => tf.dropout(tf.ones([B, d.width]), rate, undefined, seed).dataSync());
        for (let b = 0; b < B; b++) keep.set(m.subarray(b * d.width, (b + 1) * d.width), b * width + d.from);
      }
      return kernel.trainStep(float32(x), extra > 0 ? float32(xs[1]!) : null, float32(labels), keep, B, T, adam);
    },
  });
}
