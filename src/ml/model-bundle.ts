/**
 * A trained model as training leaves it in a directory (model.json, weights.bin,
 * scaler.json, metadata.json, and particle-scaler.json for sequence models): the network
 * plus everything needed to turn feature rows into its inputs exactly as training did.
 * Evaluation, scoring, serving and export all read models through this module.
 */
import * as tf from '@tensorflow/tfjs';
import { joinUri, ObjectNotFoundError, type Storage } from '../storage/index.js';
import type { HlfScaler, ParticleScaler } from '../dataset/scaler.js';
import { InvalidInputError } from '../errors.js';
import { validateParticleScaler, validateScaler, type InputOptions, type InputRow, makeInputs } from './data.js';
import { fusedPredictor, type Predictor } from './fused-predict.js';
import type { TrainConfig } from './train.js';
// Registers the fused GRU layer class, which saved sequence models refer to by name.
import './gru/index.js';
import { toFusedTopology } from './portable-topology.js';

const fromUtf8 = new TextDecoder();

/** metadata.json as training writes it (config and the run's results). */
export interface ModelMetadata {
  readonly config: TrainConfig;
  readonly particleScaling?: 'standard' | 'none';
  readonly [key: string]: unknown;
}

/** The files of a model directory, unparsed where they are binary. */
export interface ModelFiles {
  readonly uri: string;
  readonly modelJson: Uint8Array;
  readonly weights: Uint8Array;
  readonly scaler: HlfScaler;
  readonly particleScaler?: ParticleScaler;
  readonly metadata: ModelMetadata;
}

export async function readModelFiles(store: Storage, modelUri: string): Promise<ModelFiles> {
  const need = <T>(p: Promise<T>, name: string): Promise<T> =>
    p.catch((e) => {
      if (e instanceof ObjectNotFoundError)
        throw new InvalidInputError(`model ${modelUri} has no ${name}: not a hepflow model directory?`);
      throw e;
    });
  const reads = [
    need(store.readAll(joinUri(modelUri, 'model.json')), 'model.json'),
    need(store.readAll(joinUri(modelUri, 'weights.bin')), 'weights.bin'),
    need(store.readJson<HlfScaler>(joinUri(modelUri, 'scaler.json')), 'scaler.json'),
    need(store.readJson<ModelMetadata>(joinUri(modelUri, 'metadata.json')), 'metadata.json'),
  ] as const;
  // Read in parallel, but report the first failure in this order, not whichever read lost
  // the race: the same directory always gets the same error.
  const failed = (await Promise.allSettled(reads)).find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const [modelJson, weights, scaler, metadata] = await Promise.all(reads);
  if (metadata?.config?.model?.kind === undefined)
    throw new InvalidInputError(`model ${modelUri}: metadata.json has no config.model.kind`);
  validateScaler(scaler, `model ${modelUri}: scaler.json`);
  // The model's own scaler, not a dataset's: inputs must be transformed as in training.
  const particleScaler =
    metadata.particleScaling === 'standard'
      ? await store.readJson<ParticleScaler>(joinUri(modelUri, 'particle-scaler.json')).catch((e) => {
          if (e instanceof ObjectNotFoundError)
            throw new InvalidInputError(
              `model ${modelUri} was trained on standardised particles but has no particle-scaler.json`,
            );
          throw e;
        })
      : undefined;
  if (particleScaler !== undefined) validateParticleScaler(particleScaler, `model ${modelUri}: particle-scaler.json`);
  return {
    uri: modelUri,
    modelJson,
    weights,
    scaler,
    metadata,
    ...(particleScaler !== undefined ? { particleScaler } : {}),
  };
}

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
  const model = await loadModel(files.modelJson, files.weights, joinUri(files.uri, 'model.json'));
  return {
    uri: files.uri,
    model,
    input: {
      kind: config.model.kind,
      maxLen: config.model.maxLen,
      scaler: files.scaler,
      padding: config.padding,
      ...(files.particleScaler !== undefined ? { particleScaler: files.particleScaler } : {}),
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
