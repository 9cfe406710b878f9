/**
 * The model directory: the only reader and writer of its files. Training (either
 * scheduler) writes one; evaluation, scoring, serving, export and the registry read it
 * through readModelFiles. It holds the network in tfjs' layers format (model.json +
 * weights.bin), the scalers that turn feature rows into its inputs exactly as in
 * training, the validation report, and metadata.json, written last: a directory without
 * metadata is incomplete to every reader.
 */
import * as tf from '@tensorflow/tfjs';
import { joinUri, ObjectNotFoundError, type Storage } from '../../storage/index.js';
import type { HlfScaler, ParticleScaler } from '../../dataset/scaler.js';
import { InvalidInputError } from '../../errors.js';
import type { EpochMetrics } from '../../contract/training.js';
import type { RunTotals } from '../../contract/distributed-rounds.js';
import type { BackendInfo } from '../backend.js';
import { validateParticleScaler, validateScaler } from '../data.js';
import type { ClassificationReport } from '../metrics.js';
import type { TrainConfig } from './config.js';

/** The directory's file names. */
export const MODEL_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  scaler: 'scaler.json',
  particleScaler: 'particle-scaler.json',
  validationReport: 'validation-report.json',
  keras: 'model.keras',
  metadata: 'metadata.json',
} as const;

/**
 * metadata.json's layout. Version 1 (no `format` field) is what training wrote before
 * both schedulers shared this module; its fields are a subset of version 2's, so it
 * reads as is. A newer version is refused with the version this code reads.
 */
export const MODEL_FORMAT = 'hepflow-model/2';

/** The validation report's summary in metadata.json (the full report is validation-report.json). */
export type ValidationSummary = Omit<ClassificationReport, 'perClass'> & {
  perClass: { className: string; auc: number }[];
};

/** How a training run went: what a trainer returns, and the core of metadata.json. */
export interface TrainingOutcome {
  /** What was trained on: a stored dataset's URI, or the row source's id. */
  readonly datasetId: string;
  readonly backend: BackendInfo;
  readonly epochsCompleted: number;
  readonly resumedFromEpoch: number;
  readonly bestEpoch: number;
  readonly history: readonly EpochMetrics[];
  readonly validation?: ValidationSummary | undefined;
  readonly parameters: number;
  readonly trainSeconds: number;
  readonly samplesPerSecond: number;
  /** The directory's files, metadata.json last. */
  readonly artifacts: readonly string[];
}

/** metadata.json: how the model was trained and how training went. One type for both schedulers. */
export interface ModelMetadata extends Omit<TrainingOutcome, 'backend'> {
  /** Absent in version-1 directories. */
  readonly format?: typeof MODEL_FORMAT;
  readonly config: TrainConfig;
  /** Whether particle-scaler.json must be applied to the inputs (sequence models). */
  readonly particleScaling?: 'standard' | 'none';
  /** Version 1 of distributed training wrote the backend's kind only. */
  readonly backend: BackendInfo | string;
  /** How a distributed run trained (absent for single-process training). */
  readonly distributed?:
    | {
        readonly localSteps: number;
        readonly warmupEpochs: number;
        readonly groupsPerWorker: number;
        readonly workersPerRound: readonly (readonly [number, number])[];
        readonly totals: RunTotals;
      }
    | undefined;
  /** Set by export: the directory the model was exported from. */
  readonly exportedFrom?: string;
}

/** Where training writes a model directory's files. */
export interface ArtifactSink {
  put(name: string, data: Uint8Array): Promise<void>;
}

const utf8 = new TextEncoder();

/** Serialises a LayersModel in the tfjs layers format (model.json + one weights.bin). */
export async function modelArtifacts(model: tf.LayersModel): Promise<{ modelJson: Uint8Array; weights: Uint8Array }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved?.weightData === undefined || saved.weightSpecs === undefined)
    throw new Error('model.save produced no weights');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(saved.weightData));
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: saved.modelTopology,
    trainingConfig: saved.trainingConfig,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: saved.weightSpecs }],
  };
  return { modelJson: utf8.encode(JSON.stringify(json)), weights };
}

/** What a trained model directory is made of; the writer adds format, particleScaling and artifacts. */
export interface ModelDirectory {
  readonly model: tf.LayersModel;
  readonly scaler: HlfScaler;
  readonly particleScaler?: ParticleScaler | undefined;
  /** validation-report.json's bytes (the full report, ROC curves included). */
  readonly validationReport?: Uint8Array | undefined;
  readonly metadata: Omit<ModelMetadata, 'format' | 'particleScaling' | 'artifacts'>;
}

/** Writes the directory, metadata.json last; returns the files written, in order. */
export async function writeModelDirectory(sink: ArtifactSink, d: ModelDirectory): Promise<readonly string[]> {
  const artifacts: string[] = [];
  const put = async (name: string, data: Uint8Array) => {
    await sink.put(name, data);
    artifacts.push(name);
  };
  if (d.validationReport !== undefined) await put(MODEL_FILES.validationReport, d.validationReport);
  const { modelJson, weights } = await modelArtifacts(d.model);
  await put(MODEL_FILES.model, modelJson);
  await put(MODEL_FILES.weights, weights);
  await put(MODEL_FILES.scaler, utf8.encode(JSON.stringify(d.scaler)));
  if (d.particleScaler !== undefined)
    await put(MODEL_FILES.particleScaler, utf8.encode(JSON.stringify(d.particleScaler)));
  artifacts.push(MODEL_FILES.metadata);
  const metadata: ModelMetadata = {
    format: MODEL_FORMAT,
    ...d.metadata,
    // Tells evaluation whether particle-scaler.json must be applied.
    particleScaling: d.particleScaler !== undefined ? 'standard' : 'none',
    artifacts,
  };
  await sink.put(MODEL_FILES.metadata, utf8.encode(JSON.stringify(metadata, null, 2)));
  return artifacts;
}

/** The files of a model directory, unparsed where they are binary. */
export interface ModelFiles {
  readonly uri: string;
  readonly modelJson: Uint8Array;
  readonly weights: Uint8Array;
  readonly scaler: HlfScaler;
  readonly particleScaler?: ParticleScaler | undefined;
  readonly metadata: ModelMetadata;
}

function checkMetadata(metadata: ModelMetadata, modelUri: string): void {
  const format = (metadata as { format?: unknown }).format;
  if (format !== undefined && format !== MODEL_FORMAT)
    throw new InvalidInputError(
      `model ${modelUri}: metadata.json has format ${JSON.stringify(format)}; this code reads '${MODEL_FORMAT}' and version-1 directories (no format field)`,
    );
  if (metadata?.config?.model?.kind === undefined)
    throw new InvalidInputError(`model ${modelUri}: metadata.json has no config.model.kind`);
}

export async function readModelFiles(store: Storage, modelUri: string): Promise<ModelFiles> {
  const need = <T>(p: Promise<T>, name: string): Promise<T> =>
    p.catch((e) => {
      if (e instanceof ObjectNotFoundError)
        throw new InvalidInputError(`model ${modelUri} has no ${name}: not a hepflow model directory?`);
      throw e;
    });
  const at = (name: string) => joinUri(modelUri, name);
  const reads = [
    need(store.readAll(at(MODEL_FILES.model)), MODEL_FILES.model),
    need(store.readAll(at(MODEL_FILES.weights)), MODEL_FILES.weights),
    need(store.readJson<HlfScaler>(at(MODEL_FILES.scaler)), MODEL_FILES.scaler),
    need(store.readJson<ModelMetadata>(at(MODEL_FILES.metadata)), MODEL_FILES.metadata),
  ] as const;
  // Read in parallel, but report the first failure in this order, not whichever read lost
  // the race: the same directory always gets the same error.
  const failed = (await Promise.allSettled(reads)).find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const [modelJson, weights, scaler, metadata] = await Promise.all(reads);
  checkMetadata(metadata, modelUri);
  validateScaler(scaler, `model ${modelUri}: ${MODEL_FILES.scaler}`);
  // The model's own scaler, not a dataset's: inputs must be transformed as in training.
  const particleScaler =
    metadata.particleScaling === 'standard'
      ? await store.readJson<ParticleScaler>(at(MODEL_FILES.particleScaler)).catch((e) => {
          if (e instanceof ObjectNotFoundError)
            throw new InvalidInputError(
              `model ${modelUri} was trained on standardised particles but has no ${MODEL_FILES.particleScaler}`,
            );
          throw e;
        })
      : undefined;
  if (particleScaler !== undefined)
    validateParticleScaler(particleScaler, `model ${modelUri}: ${MODEL_FILES.particleScaler}`);
  return { uri: modelUri, modelJson, weights, scaler, metadata, particleScaler };
}
