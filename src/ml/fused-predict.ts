/**
 * Predictions of hepflow's three models without tfjs' op-by-op graph: the dense
 * classifier runs in the fused dense kernel (src/ml/dense), and the sequence models run
 * their GRU in the fused GRU kernel (src/ml/gru) and their head — Dense layers over the
 * last state, with the HLF concatenated for the inclusive model — in the dense kernel.
 * At inference Dropout is the identity and Masking(0) becomes the GRU's step mask, so
 * the result equals model.predict within float rounding (test/fused-predict.test.ts).
 *
 * The sequence models are recognised by the layer names and classes buildModel gives
 * them (src/ml/models.ts); any other model gets null and keeps tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { N_HLF, N_PARTICLE_FEATURES } from '../physics/schema.js';
import { unpaddedInputs, type InputOptions, type InputRow } from './data.js';
import type { ParticleScaler } from '../dataset/scaler.js';
import { activeDenseImplementation, fusedDensePredictor, type MlpImplementation } from './dense/index.js';
import { activeGruImplementation, FusedGru, type GruKernel } from './gru/index.js';
import type { ModelKind } from './models.js';

/**
 * Probabilities [batch x classes] for feature rows, made into the model's inputs as `o`
 * says (scaled; the sequences go to the GRU kernel unpadded: see unpaddedInputs).
 */
export type Predictor = (rows: readonly InputRow[], o: InputOptions, where?: string) => Float32Array;

const values = (t: tf.Tensor): Float32Array => {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
};

/** The layer called `name`, or null when the model has none. */
function layer(model: tf.LayersModel, name: string): tf.layers.Layer | null {
  return model.layers.find((l) => l.name === name) ?? null;
}

function sequencePredictor(
  model: tf.LayersModel,
  kind: 'particle-sequence' | 'inclusive',
  gruKernel: GruKernel,
  dense: MlpImplementation,
): Predictor | null {
  const inclusive = kind === 'inclusive';
  const gru = layer(model, 'gru');
  const masking = layer(model, 'masking');
  const headNames = inclusive ? ['dense', 'output'] : ['output'];
  const head = headNames.map((n) => layer(model, n));
  // buildModel's layers and no others: inputs, masking, gru, dropout(s), [concatenate], head.
  if (
    model.layers.length !== (inclusive ? 8 : 5) ||
    !(gru instanceof FusedGru) ||
    masking?.getClassName() !== 'Masking'
  )
    return null;
  if ((masking.getConfig() as { maskValue?: number }).maskValue !== 0) return null;
  const sizes = [gru.units + (inclusive ? N_HLF : 0)];
  for (const [i, l] of head.entries()) {
    const c = l?.getConfig() as { units?: number; activation?: string; useBias?: boolean } | undefined;
    if (
      l?.getClassName() !== 'Dense' ||
      c?.useBias !== true ||
      c.activation !== (i === head.length - 1 ? 'softmax' : 'relu')
    )
      return null;
    sizes.push(c.units!);
  }
  const [kernel, recurrentKernel, bias] = gru.getWeights().map(values);
  const mlp = dense.create(sizes);
  const flat = new Float32Array(mlp.paramCount);
  let at = 0;
  for (const l of head as tf.layers.Layer[]) {
    for (const w of l.getWeights()) {
      flat.set(values(w), at);
      at += w.size;
    }
  }
  mlp.setParams(flat);
  const U = gru.units;
  const classes = sizes[sizes.length - 1]!;
  if (kernel!.length !== N_PARTICLE_FEATURES * 3 * gru.units) return null;
  // The particles of the last batch: reused, since fresh pages cost as much as the copy.
  let buffer: Float32Array = new Float32Array(0);
  let scale: { readonly source: ParticleScaler; readonly mean: Float64Array; readonly std: Float64Array } | null = null;
  return (rows, o, where) => {
    const { hlf, particles } = unpaddedInputs(rows, o, where, buffer);
    if (particles!.values.buffer !== buffer.buffer) buffer = particles!.values;
    const ps = o.particleScaler;
    if (ps !== undefined && scale?.source !== ps)
      scale = { source: ps, mean: Float64Array.from(ps.mean), std: Float64Array.from(ps.std) };
    const B = rows.length;
    const hT = gruKernel.lastState(
      {
        batch: B,
        features: N_PARTICLE_FEATURES,
        units: U,
        resetAfter: gru.resetAfter,
        hardSigmoid: gru.recurrentActivation === 'hardSigmoid',
      },
      {
        x: particles!.values,
        lengths: particles!.lengths,
        scale: ps === undefined ? null : scale,
        kernel: kernel!,
        recurrentKernel: recurrentKernel!,
        bias: gru.useBias ? bias! : null,
        h0: new Float32Array(B * U),
      },
    );
    let x = hT;
    if (inclusive) {
      x = new Float32Array(B * (U + N_HLF));
      for (let i = 0; i < B; i++) {
        x.set(hT.subarray(i * U, (i + 1) * U), i * (U + N_HLF));
        x.set(hlf!.subarray(i * N_HLF, (i + 1) * N_HLF), i * (U + N_HLF) + U);
      }
    }
    const out = new Float32Array(B * classes);
    mlp.forward(x, B, out);
    return out;
  };
}

/**
 * A predictor for `model` (of `kind`) from its current weights, read once here, or null
 * when the model is not one buildModel makes or a fused kernel is off (HEPFLOW_DENSE or
 * HEPFLOW_GRU = tfjs): then predict with tfjs. The kernels default to the process-wide choices.
 */
export function fusedPredictor(
  model: tf.LayersModel,
  kind: ModelKind,
  dense: MlpImplementation | null = activeDenseImplementation().impl,
  gruKernel: () => GruKernel | null = () => activeGruImplementation().kernel,
): Predictor | null {
  if (dense === null) return null;
  if (kind === 'hlf') {
    const predict = fusedDensePredictor(model, dense);
    return predict && ((rows, o, where) => predict(unpaddedInputs(rows, o, where).hlf!, rows.length));
  }
  const gru = gruKernel();
  return gru === null ? null : sequencePredictor(model, kind, gru, dense);
}
