import { Context, ApplicationFailure } from '@temporalio/activity';
import { storage, joinUri, ObjectNotFoundError } from '../src/storage/index.js';
import type { HlfScaler } from '../src/dataset/schema.js';
import { trainInWorker } from '../src/ml/train-runner.js';
import { validateTrainConfig, type TrainConfig, type TrainProgress } from '../src/ml/train.js';
import { ObjectArtifactSink, ObjectCheckpointStore } from '../src/ml/store.js';
import { PARQUET_SOURCE_MODULE, type ParquetSourceOptions } from '../src/ml/parquet-source.js';
import { AbortError } from '../src/ml/errors.js';
import { expandGrid, applyGridPoint, selectBest, type GridOutcome } from '../src/ml/grid.js';
import { datasetFiles } from '../src/dataset/layout.js';

export interface TrainModelInput {
  /** The grid point's id (or any run name): names the output directory. */
  readonly runId: string;
  /** A dataset written by the dataset workflow (train.parquet, scaler.json, ...). */
  readonly datasetUri: string;
  /** Checkpoints go to <outputUri>/checkpoints/, the model to <outputUri>/model/. */
  readonly outputUri: string;
  readonly config: TrainConfig;
}

/** Small by design: it travels through the workflow history. */
export interface TrainModelResult {
  readonly runId: string;
  readonly modelUri: string;
  readonly metrics: Record<string, number>;
  readonly backend: string;
  readonly epochsCompleted: number;
  readonly resumedFromEpoch: number;
  readonly samplesPerSecond: number;
  readonly trainSeconds: number;
}

/** What the activity heartbeats: enough to see progress in the UI and where a retry resumes. */
export interface TrainHeartbeat {
  readonly epoch: number;
  readonly batch: number;
  readonly loss: number;
  readonly samplesPerSecond: number;
  readonly lastCheckpointEpoch: number;
}

const invalid = (e: unknown): never => {
  throw ApplicationFailure.create({ message: (e as Error).message, type: 'InvalidInput', nonRetryable: true, cause: e as Error });
};

/**
 * One training run, in a worker thread so heartbeats keep flowing. A checkpoint goes to
 * object storage every epoch; after a crash Temporal retries the activity (possibly on
 * another worker) and training resumes from the newest checkpoint, which the last
 * heartbeat names. Cancelling the activity stops training between batches.
 */
export async function trainModel(input: TrainModelInput): Promise<TrainModelResult> {
  const ctx = Context.current();
  try {
    validateTrainConfig(input.config);
  } catch (e) {
    invalid(e);
  }
  const files = datasetFiles(input.datasetUri);
  const scaler = await storage().readJson<HlfScaler>(files.scaler).catch((e) => {
    if (e instanceof ObjectNotFoundError) invalid(new Error(`dataset ${input.datasetUri} has no scaler.json: not a hepflow dataset?`));
    throw e;
  });
  const previous = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
  if (previous) ctx.log.info(`attempt ${ctx.info.attempt}: resuming ${input.runId} after epoch ${previous.lastCheckpointEpoch}`);
  let lastCheckpointEpoch = previous?.lastCheckpointEpoch ?? -1;
  const source: ParquetSourceOptions = { uris: [files.train], id: input.datasetUri };
  const modelUri = joinUri(input.outputUri, 'model');
  try {
    const r = await trainInWorker(input.config, {
      source: { module: PARQUET_SOURCE_MODULE, options: source },
      scaler,
      checkpoints: new ObjectCheckpointStore(joinUri(input.outputUri, 'checkpoints')),
      artifacts: new ObjectArtifactSink(modelUri),
      signal: ctx.cancellationSignal,
      progressIntervalMs: 2_000,
      onProgress: (p: TrainProgress) => {
        if (p.type === 'epoch') lastCheckpointEpoch = p.epoch;
        ctx.heartbeat({ epoch: p.epoch, batch: p.batch, loss: p.loss, samplesPerSecond: p.samplesPerSecond, lastCheckpointEpoch } satisfies TrainHeartbeat);
      },
      log: (m) => ctx.log.info(m),
    });
    const best = r.history.find((h) => h.epoch === r.bestEpoch);
    const metrics: Record<string, number> = {};
    if (best?.valLoss !== undefined) metrics.valLoss = best.valLoss;
    if (best?.valMeanAuc !== undefined) metrics.valMeanAuc = best.valMeanAuc;
    if (best?.valAccuracy !== undefined) metrics.valAccuracy = best.valAccuracy;
    return {
      runId: input.runId,
      modelUri,
      metrics,
      backend: r.backend.kind,
      epochsCompleted: r.epochsCompleted,
      resumedFromEpoch: r.resumedFromEpoch,
      samplesPerSecond: r.samplesPerSecond,
      trainSeconds: r.trainSeconds,
    };
  } catch (e) {
    if (e instanceof AbortError) throw ApplicationFailure.create({ message: `training ${input.runId} cancelled`, type: 'Cancelled', nonRetryable: true });
    throw e;
  }
}

export interface GridPlanInput {
  readonly grid: unknown;
  readonly base: TrainConfig;
}

/** Expands and validates the grid (domain code that needs tfjs types, so not in the workflow). */
export async function planGridSearch(input: GridPlanInput): Promise<{ id: string; config: TrainConfig }[]> {
  try {
    return expandGrid(input.grid).map((p) => ({ id: p.id, config: applyGridPoint(input.base, p) }));
  } catch (e) {
    return invalid(e);
  }
}

/** The best point by a validation metric (never the test set), with the full results table stored. */
export async function selectBestModel(input: {
  outputUri: string;
  outcomes: TrainModelResult[];
  failed: { runId: string; error: string }[];
  metric: string;
  maximize: boolean;
}): Promise<{ best: TrainModelResult; tableUri: string }> {
  const picked = (() => {
    try {
      return selectBest(input.outcomes.map((o): GridOutcome => ({ id: o.runId, metrics: o.metrics })), input.metric, input.maximize);
    } catch (e) {
      return invalid(e);
    }
  })();
  const best = input.outcomes.find((o) => o.runId === picked.id)!;
  const tableUri = joinUri(input.outputUri, 'grid-results.json');
  await storage().writeJson(tableUri, { metric: input.metric, maximize: input.maximize, best: best.runId, results: input.outcomes, failed: input.failed });
  return { best, tableUri };
}
