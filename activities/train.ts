import { Context, ApplicationFailure } from '@temporalio/activity';
import { TrainingWorkerError } from '../src/ml/train-runner.js';
import { stoppedTraining, withHeartbeat } from './heartbeat.js';
import { storage, joinUri } from '../src/storage/index.js';
import { datasetFiles } from '../src/dataset/layout.js';
import type { DatasetMetadata } from '../src/dataset/assemble.js';
import type { TrainHeartbeat } from '../workflows/progress.js';
import type { TrainConfig, TrainProgress } from '../src/ml/train.js';
import { resolveTrainSpec, type TrainSpec } from '../src/stages/train-spec.js';
import { AbortError } from '../src/ml/errors.js';
import { expandGrid, applyGridPoint, selectBest, type GridOutcome, type GridParams } from '../src/ml/grid.js';
import { datasetClasses, trainRun, type TrainRunInput, type TrainRunResult } from '../src/stages/train.js';
import { InvalidInputError } from '../src/errors.js';
import { nonRetryable } from './file-batches.js';

const invalid = (e: unknown): never => {
  throw nonRetryable(new InvalidInputError((e as Error).message, { cause: e }));
};

/**
 * Batches in one epoch: estimated from the dataset's train rows less the validation
 * share (the split is by hash, so only about), exact once an epoch has run.
 */
async function estimatedBatchesPerEpoch(input: TrainRunInput): Promise<number> {
  const meta = await storage().readJson<DatasetMetadata>(datasetFiles(input.datasetUri).metadata).catch(() => undefined);
  const rows = Object.values(meta?.counts?.train ?? {}).reduce((s, n) => s + n, 0);
  return Math.max(1, Math.ceil((rows * (1 - input.config.split.validationFraction)) / input.config.batchSize));
}

/**
 * One training run (see src/stages/train.ts), in a worker thread so heartbeats keep
 * flowing. After a crash Temporal retries the activity, possibly on another worker,
 * and training resumes from the newest checkpoint in object storage, which the last
 * heartbeat names. The heartbeat also tells people how far it is (the UI's pending
 * activity, `hepflow status`): the point and its hyper-parameters, epoch i/N, batch
 * j/M, ETA. Cancelling the activity stops training between batches.
 */
export async function trainModel(input: TrainRunInput & { params?: Readonly<GridParams> }): Promise<TrainRunResult> {
  const ctx = Context.current();
  // Whether this attempt resumes is decided (and logged) by training itself, which checks
  // that the newest checkpoint was taken on this dataset with these settings.
  let lastCheckpointEpoch = (ctx.info.heartbeatDetails as TrainHeartbeat | undefined)?.lastCheckpointEpoch ?? -1;
  const { params, ...run } = input;
  return withHeartbeat(async (report) => {
    let batchesPerEpoch = await estimatedBatchesPerEpoch(run);
    const epochs = run.config.epochs;
    const started = { at: Date.now(), fraction: -1 };
    try {
      return await trainRun(run, {
        signal: ctx.cancellationSignal,
        onProgress: (p: TrainProgress) => {
          if (p.type === 'epoch') {
            lastCheckpointEpoch = p.epoch;
            batchesPerEpoch = Math.max(1, p.batch);
          }
          // The share of the whole run done, counted from where this attempt began.
          const fraction = p.type === 'epoch' ? (p.epoch + 1) / epochs : (p.epoch + Math.min(1, p.batch / batchesPerEpoch)) / epochs;
          if (started.fraction < 0) started.fraction = fraction;
          const rate = (fraction - started.fraction) / ((Date.now() - started.at) / 1000);
          report({
            point: run.runId, ...(params ? { params } : {}),
            epoch: p.type === 'epoch' ? p.epoch + 1 : p.epoch, epochs, batch: p.type === 'epoch' ? 0 : p.batch, batchesPerEpoch,
            loss: p.loss, samplesPerSecond: p.samplesPerSecond, ...(rate > 0 ? { etaSeconds: (1 - fraction) / rate } : {}), lastCheckpointEpoch,
          } satisfies TrainHeartbeat);
        },
        log: (m) => ctx.log.info(`${run.runId} attempt ${ctx.info.attempt}: ${m}`),
      });
    } catch (e) {
      if (e instanceof AbortError) throw stoppedTraining(`training ${run.runId}`, e);
      if (e instanceof TrainingWorkerError && e.nonRetryable) {
        throw ApplicationFailure.create({ message: `training ${input.runId}: ${e.message}`, type: e.name, nonRetryable: true, cause: e });
      }
      throw nonRetryable(e);
    }
  });
}

export interface GridPlanInput {
  readonly grid: unknown;
  readonly spec: TrainSpec;
  /** The dataset the points train on: it names the classes. */
  readonly datasetUri: string;
}

/**
 * Expands and validates the grid against the spec's defaults (domain code that loads
 * tfjs, so it runs here rather than in the workflow sandbox).
 */
export async function planGridSearch(input: GridPlanInput): Promise<{ id: string; params: Readonly<GridParams>; config: TrainConfig }[]> {
  return withHeartbeat(async () => {
    // Outside the try: a storage error reading the dataset is worth retrying.
    const classes = await datasetClasses(input.datasetUri).catch((e) => {
      throw nonRetryable(e);
    });
    try {
      const base = resolveTrainSpec(input.spec, classes);
      return expandGrid(input.grid).map((p) => ({ id: p.id, params: p.params, config: applyGridPoint(base, p) }));
    } catch (e) {
      return invalid(e);
    }
  });
}

/** The best point by a validation metric (never the test set), with the full results table stored. */
export async function selectBestModel(input: {
  outputUri: string;
  outcomes: TrainRunResult[];
  failed: { runId: string; error: string }[];
  metric: string;
  maximize: boolean;
}): Promise<{ best: TrainRunResult; tableUri: string }> {
  return withHeartbeat(() => selectBestOf(input));
}

async function selectBestOf(input: Parameters<typeof selectBestModel>[0]): Promise<{ best: TrainRunResult; tableUri: string }> {
  let picked: GridOutcome;
  try {
    picked = selectBest(input.outcomes.map((o): GridOutcome => ({ id: o.runId, metrics: o.metrics })), input.metric, input.maximize);
  } catch (e) {
    return invalid(e);
  }
  const best = input.outcomes.find((o) => o.runId === picked.id)!;
  const tableUri = joinUri(input.outputUri, 'grid-results.json');
  await storage().writeJson(tableUri, { metric: input.metric, maximize: input.maximize, best: best.runId, results: input.outcomes, failed: input.failed });
  return { best, tableUri };
}
