/**
 * The grid search's training activities: planning the grid's points, training one point
 * (src/stages/train.ts) in a worker thread with heartbeats that say how far it is and
 * name the newest checkpoint, and selecting the best point. Promises: a retried attempt
 * resumes from the newest checkpoint, a larger `epochs` continues a finished point, and
 * a training error fails the activity as training-failure.ts maps it.
 */
import { Context } from '@temporalio/activity';
import type { TrainRunResult } from '../src/contract/training.js';
import { withHeartbeat } from './heartbeat.js';
import type { Storage } from '../src/storage/index.js';
import { datasetFiles, gridFiles } from '../src/contract/run-layout.js';
import type { DatasetMetadata } from '../src/dataset/assemble.js';
import type { TrainHeartbeat } from '../src/contract/progress.js';
import type { TrainConfig, TrainProgress } from '../src/ml/training/config.js';
import type { TrainSpec } from '../src/stages/train-spec.js';
import type { GridOutcome, GridParams } from '../src/ml/grid.js';
import type { TrainRunInput } from '../src/stages/train.js';
import { datasetClasses } from '../src/dataset/classes.js';
import { InvalidInputError } from '../src/errors.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { trainingFailure } from './training-failure.js';

const invalid = (e: unknown): never => {
  throw toActivityFailure(new InvalidInputError((e as Error).message, { cause: e }));
};

/**
 * Batches in one epoch: estimated from the dataset's train rows less the validation
 * share (the split is by hash, so only about), exact once an epoch has run.
 */
async function estimatedBatchesPerEpoch(storage: Storage, input: TrainRunInput): Promise<number> {
  const meta = await storage.readJson<DatasetMetadata>(datasetFiles(input.datasetUri).metadata).catch(() => undefined);
  const rows = Object.values(meta?.counts?.train ?? {}).reduce((s, n) => s + n, 0);
  return Math.max(1, Math.ceil((rows * (1 - input.config.split.validationFraction)) / input.config.batchSize));
}

export interface GridPlanInput {
  readonly grid: unknown;
  readonly spec: TrainSpec;
  /** The dataset the points train on: it names the classes. */
  readonly datasetUri: string;
}

export interface SelectBestInput {
  readonly outputUri: string;
  readonly outcomes: TrainRunResult[];
  readonly failed: { runId: string; error: string }[];
  readonly metric: string;
  readonly maximize: boolean;
}

export const trainActivities = ({ storage }: ActivityDeps) => ({
  /**
   * One training run (see src/stages/train.ts), in a worker thread so heartbeats keep
   * flowing. After a crash Temporal retries the activity, possibly on another worker,
   * and training resumes from the newest checkpoint in object storage, which the last
   * heartbeat names. The heartbeat also tells people how far it is (the UI's pending
   * activity, `hepflow status`): the point and its hyper-parameters, epoch i/N, batch
   * j/M, ETA. Cancelling the activity stops training between batches.
   */
  async trainModel(input: TrainRunInput & { params?: Readonly<GridParams> }): Promise<TrainRunResult> {
    const ctx = Context.current();
    // Whether this attempt resumes is decided (and logged) by training itself, which checks
    // that the newest checkpoint was taken on this dataset with these settings.
    let lastCheckpointEpoch = (ctx.info.heartbeatDetails as TrainHeartbeat | undefined)?.lastCheckpointEpoch ?? -1;
    const { params, ...run } = input;
    return withHeartbeat(async (report) => {
      const { trainRun } = await import('../src/stages/train.js');
      let batchesPerEpoch = await estimatedBatchesPerEpoch(storage, run);
      const epochs = run.config.epochs;
      const started = { at: Date.now(), fraction: -1 };
      try {
        return await trainRun(run, {
          store: storage,
          signal: ctx.cancellationSignal,
          onProgress: (p: TrainProgress) => {
            if (p.type === 'epoch') {
              lastCheckpointEpoch = p.epoch;
              batchesPerEpoch = Math.max(1, p.batch);
            }
            // The share of the whole run done, counted from where this attempt began.
            const fraction =
              p.type === 'epoch' ? (p.epoch + 1) / epochs : (p.epoch + Math.min(1, p.batch / batchesPerEpoch)) / epochs;
            if (started.fraction < 0) started.fraction = fraction;
            const rate = (fraction - started.fraction) / ((Date.now() - started.at) / 1000);
            report({
              point: run.runId,
              ...(params ? { params } : {}),
              epoch: p.type === 'epoch' ? p.epoch + 1 : p.epoch,
              epochs,
              batch: p.type === 'epoch' ? 0 : p.batch,
              batchesPerEpoch,
              loss: p.loss,
              samplesPerSecond: p.samplesPerSecond,
              ...(rate > 0 ? { etaSeconds: (1 - fraction) / rate } : {}),
              lastCheckpointEpoch,
            } satisfies TrainHeartbeat);
          },
          log: (m) => ctx.log.info(`${run.runId} attempt ${ctx.info.attempt}: ${m}`),
        });
      } catch (e) {
        throw trainingFailure(`training ${run.runId}`, e);
      }
    });
  },

  /**
   * Expands and validates the grid against the spec's defaults (domain code that loads
   * tfjs, so it runs here rather than in the workflow sandbox).
   */
  async planGridSearch(
    input: GridPlanInput,
  ): Promise<{ id: string; params: Readonly<GridParams>; config: TrainConfig }[]> {
    return withHeartbeat(async () => {
      // Outside the try: a storage error reading the dataset is worth retrying.
      const classes = await datasetClasses(input.datasetUri, storage).catch((e) => {
        throw toActivityFailure(e);
      });
      const [{ resolveTrainSpec }, { expandGrid, applyGridPoint }] = await Promise.all([
        import('../src/stages/train-spec.js'),
        import('../src/ml/grid.js'),
      ]);
      try {
        const base = resolveTrainSpec(input.spec, classes);
        return expandGrid(input.grid).map((p) => ({ id: p.id, params: p.params, config: applyGridPoint(base, p) }));
      } catch (e) {
        return invalid(e);
      }
    });
  },

  /** The best point by a validation metric (never the test set), with the full results table stored. */
  async selectBestModel(input: SelectBestInput): Promise<{ best: TrainRunResult; tableUri: string }> {
    return withHeartbeat(() => selectBestOf(storage, input));
  },
});

async function selectBestOf(
  storage: Storage,
  input: SelectBestInput,
): Promise<{ best: TrainRunResult; tableUri: string }> {
  const { selectBest } = await import('../src/ml/grid.js');
  let picked: GridOutcome;
  try {
    picked = selectBest(
      input.outcomes.map((o): GridOutcome => ({ id: o.runId, metrics: o.metrics })),
      input.metric,
      input.maximize,
    );
  } catch (e) {
    return invalid(e);
  }
  const best = input.outcomes.find((o) => o.runId === picked.id)!;
  const tableUri = gridFiles(input.outputUri).table;
  await storage.writeJson(tableUri, {
    metric: input.metric,
    maximize: input.maximize,
    best: best.runId,
    results: input.outcomes,
    failed: input.failed,
  });
  return { best, tableUri };
}
