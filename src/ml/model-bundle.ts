/**
 * A trained model loaded for prediction: the network of a model directory (read by
 * training/model-dir.ts) plus everything needed to turn feature rows into its inputs
 * exactly as training did. Evaluation, scoring and serving predict through this module.
 */
import * as tf from '@tensorflow/tfjs';
import { joinUri } from '../storage/index.js';
import { type InputOptions, type InputRow, makeInputs } from './data.js';
import { fusedPredictor, type Predictor } from './fused-predict.js';
import { MODEL_FILES, type ModelFiles, type ModelMetadata } from './training/model-dir.js';
// Registers the fused GRU layer class, which saved sequence models refer to by name.
import './gru/index.js';
import { toFusedTopology } from './portable-topology.js';

const fromUtf8 = new TextDecoder();

/** Loads a LayersModel from a model.json + weights.bin pair (hepflow's or the portable dialect). */
export async function loadModel(
  modelJson: Uint8Array,
  weights: Uint8Array,
  where = 'model.json',
): Promise<tf.LayersModel> {
  let json: { modelTopology?: object; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(fromUtf8.decode(modelJson));
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${where}: not a tfjs layers model (needs modelTopology and weightsManifest)`);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: toFusedTopology(json.modelTopology, where), weightSpecs, weightData }),
  );
}

/** A loaded model and how rows become its inputs. */
export interface ModelBundle {
  readonly uri: string;
  readonly model: tf.LayersModel;
  readonly input: InputOptions;
  readonly classNames: readonly string[];
  readonly metadata: ModelMetadata;
}

/** Loads the network of `files` (the caller initialises the tf backend first). */
export async function bundleFromFiles(files: ModelFiles): Promise<ModelBundle> {
  const { config } = files.metadata;
  const model = await loadModel(files.modelJson, files.weights, joinUri(files.uri, MODEL_FILES.model));
  return {
    uri: files.uri,
    model,
    input: {
      kind: config.model.kind,
      maxLen: config.model.maxLen,
      scaler: files.scaler,
      padding: config.padding,
      particleScaler: files.particleScaler,
    },
    classNames: config.classNames,
    metadata: files.metadata,
  };
}

// A bundle's weights never change after loading, so its fused predictor is made once.
const fusedPredictors = new WeakMap<tf.LayersModel, Predictor | null>();

/** Class probabilities of `rows`, row-major rows × classes. */
export async function predictProbabilities(
  bundle: ModelBundle,
  rows: readonly InputRow[],
  where = bundle.uri,
): Promise<Float32Array> {
  if (!fusedPredictors.has(bundle.model))
    fusedPredictors.set(bundle.model, fusedPredictor(bundle.model, bundle.input.kind));
  const fused = fusedPredictors.get(bundle.model);
  if (fused) return fused(rows, bundle.input, where);
  const { inputs } = makeInputs(rows, bundle.input, where);
  try {
    const out = bundle.model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor;
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  } finally {
    tf.dispose(inputs);
  }
}
