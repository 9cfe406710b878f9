import { Context } from '@temporalio/activity';
import type { TrainRunResult } from '../src/ml/train-runner.js';
import { withHeartbeat } from './heartbeat.js';
import type { Storage } from '../src/storage/index.js';
import { gridFiles } from '../src/layout/run-layout.js';
import type { TrainConfig, TrainProgress } from '../src/ml/train.js';
import { resolveTrainSpec, type TrainSpec } from '../src/stages/train-spec.js';
import { expandGrid, applyGridPoint, selectBest, type GridOutcome } from '../src/ml/grid.js';
import { trainRun, type TrainRunInput } from '../src/stages/train.js';
import { datasetClasses } from '../src/dataset/classes.js';
import { InvalidInputError } from '../src/errors.js';
import { nonRetryable } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { trainingFailure } from './training-failure.js';

const invalid = (e: unknown): never => {
  throw nonRetryable(new InvalidInputError((e as Error).message, { cause: e }));
};

/** What the activity heartbeats: progress for the UI, and where a retry resumes. */
export interface TrainHeartbeat {
  readonly epoch: number;
  readonly batch: number;
  readonly loss: number;
  readonly samplesPerSecond: number;
  readonly lastCheckpointEpoch: number;
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
   * heartbeat names. Cancelling the activity stops training between batches.
   */
  async trainModel(input: TrainRunInput): Promise<TrainRunResult> {
    const ctx = Context.current();
    // Whether this attempt resumes is decided (and logged) by training itself, which checks
    // that the newest checkpoint was taken on this dataset with these settings.
    let lastCheckpointEpoch = (ctx.info.heartbeatDetails as TrainHeartbeat | undefined)?.lastCheckpointEpoch ?? -1;
    return withHeartbeat(async (report) => {
      try {
        return await trainRun(input, {
          store: storage,
          signal: ctx.cancellationSignal,
          onProgress: (p: TrainProgress) => {
            if (p.type === 'epoch') lastCheckpointEpoch = p.epoch;
            report({ epoch: p.epoch, batch: p.batch, loss: p.loss, samplesPerSecond: p.samplesPerSecond, lastCheckpointEpoch } satisfies TrainHeartbeat);
          },
          log: (m) => ctx.log.info(`${input.runId} attempt ${ctx.info.attempt}: ${m}`),
        });
      } catch (e) {
        throw trainingFailure(`training ${input.runId}`, e);
      }
    });
  },

  /**
   * Expands and validates the grid against the spec's defaults (domain code that loads
   * tfjs, so it runs here rather than in the workflow sandbox).
   */
  async planGridSearch(input: GridPlanInput): Promise<{ id: string; config: TrainConfig }[]> {
    return withHeartbeat(async () => {
      // Outside the try: a storage error reading the dataset is worth retrying.
      const classes = await datasetClasses(input.datasetUri, storage).catch((e) => {
        throw nonRetryable(e);
      });
      try {
        const base = resolveTrainSpec(input.spec, classes);
        return expandGrid(input.grid).map((p) => ({ id: p.id, config: applyGridPoint(base, p) }));
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

async function selectBestOf(storage: Storage, input: SelectBestInput): Promise<{ best: TrainRunResult; tableUri: string }> {
  let picked: GridOutcome;
  try {
    picked = selectBest(input.outcomes.map((o): GridOutcome => ({ id: o.runId, metrics: o.metrics })), input.metric, input.maximize);
  } catch (e) {
    return invalid(e);
  }
  const best = input.outcomes.find((o) => o.runId === picked.id)!;
  const tableUri = gridFiles(input.outputUri).table;
  await storage.writeJson(tableUri, { metric: input.metric, maximize: input.maximize, best: best.runId, results: input.outcomes, failed: input.failed });
  return { best, tableUri };
}
