/**
 * One training run over a stored dataset, the stage the grid search's activity calls:
 * checks the config against the dataset's classes, reads its scalers, keys checkpoints
 * by the dataset's content, and trains in a worker thread (src/ml/training/threads.ts).
 * Promises: checkpoints under <outputUri>/checkpoints/, the model directory under
 * <outputUri>/model/, and a small TrainRunResult for the workflow's history.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ObjectNotFoundError, parseUri, type Storage } from '../storage/index.js';
import type { HlfScaler, ParticleScaler } from '../dataset/scaler.js';
import { datasetFiles, trainFiles } from '../contract/run-layout.js';
import { trainInWorker } from '../ml/training/threads.js';
import { bestEpochMetrics, type TrainRunResult } from '../contract/training.js';
import { validateTrainConfig, type TrainConfig, type TrainProgress } from '../ml/training/config.js';
import { type TrainResult } from '../ml/train.js';
import { ObjectArtifactSink, ObjectCheckpointStore } from '../ml/store.js';
import { PARQUET_SOURCE_MODULE, type ParquetSourceOptions } from '../ml/parquet-source.js';
import { modelInputs } from '../ml/models.js';
import { InvalidInputError } from '../errors.js';
import { datasetClasses } from '../dataset/classes.js';

export interface TrainRunInput {
  /** The grid point's id (or any run name). */
  readonly runId: string;
  /** A dataset written by the dataset stage (train.parquet, scaler.json, ...). */
  readonly datasetUri: string;
  /** Checkpoints go to <outputUri>/checkpoints/, the model to <outputUri>/model/. */
  readonly outputUri: string;
  readonly config: TrainConfig;
}

/**
 * What identifies a dataset's content, for keying checkpoints: its metadata.json (the
 * parts it was built from, counts, configuration) and train.parquet's ETag and size. A
 * dataset rebuilt under the same URI from other data gets another identity.
 */
export async function datasetIdentity(store: Storage, datasetUri: string): Promise<string> {
  const files = datasetFiles(datasetUri);
  const [train, metadata] = await Promise.all([
    store.head(files.train),
    store.readAll(files.metadata).catch((e) => {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }),
  ]);
  if (train === undefined) throw new InvalidInputError(`dataset ${datasetUri} has no train.parquet`);
  const h = createHash('sha256').update(`${train.etag}\n${train.size}\n`);
  if (metadata !== undefined) h.update(metadata);
  return h.digest('hex');
}

/**
 * One training run over a dataset in object storage, in a worker thread. A checkpoint
 * goes to <outputUri>/checkpoints/ every epoch and a rerun resumes from the newest one.
 */
export async function trainRun(
  input: TrainRunInput,
  o: {
    store: Storage;
    signal?: AbortSignal | undefined;
    onProgress?: ((p: TrainProgress) => void) | undefined;
    log?: ((m: string) => void) | undefined;
  },
): Promise<TrainRunResult> {
  const { store } = o;
  try {
    validateTrainConfig(input.config);
  } catch (e) {
    throw new InvalidInputError((e as Error).message, { cause: e });
  }
  const classes = await datasetClasses(input.datasetUri, store);
  if (input.config.classNames.join() !== classes.join()) {
    throw new InvalidInputError(
      `training config has classes [${input.config.classNames.join(', ')}] but dataset ${input.datasetUri} has [${classes.join(', ')}]`,
    );
  }
  const files = datasetFiles(input.datasetUri);
  const scaler = await store.readJson<HlfScaler>(files.scaler).catch((e) => {
    if (e instanceof ObjectNotFoundError)
      throw new InvalidInputError(`dataset ${input.datasetUri} has no scaler.json: not a hepflow dataset?`);
    throw e;
  });
  // Sequence models need the dataset's particle standardisation: raw energies (hundreds
  // of GeV) next to angles of order 1 train poorly.
  const particleScaler = modelInputs(input.config.model.kind).includes('particles')
    ? await store.readJson<ParticleScaler>(files.particleScaler).catch((e) => {
        if (e instanceof ObjectNotFoundError)
          throw new InvalidInputError(
            `dataset ${input.datasetUri} has no particle-scaler.json, which ${input.config.model.kind} models need`,
          );
        throw e;
      })
    : undefined;
  const identity = await datasetIdentity(store, input.datasetUri);
  const layout = trainFiles(input.outputUri);
  const modelUri = layout.model;
  // Every epoch and every validation pass reads the whole training split: from object
  // storage that is hundreds of ranged GETs per pass, so the run reads a local copy,
  // fetched in one streamed GET (a local dataset is read where it is).
  const local =
    parseUri(files.train).scheme === 'file' ? undefined : await mkdtemp(path.join(tmpdir(), 'hepflow-train-'));
  try {
    const trainUri = local === undefined ? files.train : path.join(local, 'train.parquet');
    if (local !== undefined) await store.download(files.train, trainUri);
    const source: ParquetSourceOptions = { uris: [trainUri], id: input.datasetUri };
    const r = await trainInWorker(input.config, {
      source: { module: PARQUET_SOURCE_MODULE, options: source },
      scaler,
      particleScaler,
      checkpoints: new ObjectCheckpointStore(layout.checkpoints, store),
      datasetIdentity: identity,
      artifacts: new ObjectArtifactSink(modelUri, store),
      signal: o.signal,
      onProgress: o.onProgress,
      log: o.log,
      progressIntervalMs: 2_000,
    });
    return trainRunResult(input.runId, modelUri, r);
  } finally {
    if (local !== undefined) await rm(local, { recursive: true, force: true });
  }
}

function trainRunResult(runId: string, modelUri: string, r: TrainResult): TrainRunResult {
  const metrics = bestEpochMetrics(r.history, r.bestEpoch);
  return {
    runId,
    modelUri,
    metrics,
    backend: r.backend.kind,
    epochsCompleted: r.epochsCompleted,
    resumedFromEpoch: r.resumedFromEpoch,
    samplesPerSecond: r.samplesPerSecond,
    trainSeconds: r.trainSeconds,
  };
}
