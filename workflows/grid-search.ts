import {
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
  executeChild,
  isCancellation,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { TrainSpec } from '../src/stages/train-spec.js';
import type { SelectionMetric, TrainRunResult } from '../src/contract/training.js';
import type { TrainConfig } from '../src/ml/training/config.js';
import type { GridParams } from '../src/ml/grid.js';
import type { EvaluateResult } from '../src/stages/evaluate.js';
import type { Pool } from '../src/contract/task-queues.js';
import { withoutUndefined } from '../src/contract/defined.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { mapBounded } from './concurrency.js';
import { activitiesFor, trainingActivitiesOn } from './activities.js';
import { gridSearchInputSchema, validated } from './input-schemas.js';
import { distributedTrainWorkflow } from './distributed-train.js';
import { trackProgress, upsertRunAttributes, type ProgressTracker } from './progress.js';
import { formatParams, type PointProgress } from '../src/contract/progress.js';
import { gridFiles } from '../src/contract/run-layout.js';
import { errorOf, selectAndEvaluate } from './select-evaluate.js';

export interface GridSearchInput {
  /** The model's name, for people: the HepflowModel search attribute, the summaries (default: the spec's kind). */
  readonly name?: string;
  /** A dataset from the dataset workflow (train.parquet, test.parquet, scaler.json). */
  readonly datasetUri: string;
  /** Runs go to <outputUri>/runs/<point id>/, the table and the evaluation beside them. */
  readonly outputUri: string;
  /** The model and the training settings every point starts from (reference defaults otherwise). */
  readonly spec: TrainSpec;
  /** e.g. { batch: [64, 128], layers: [[50, 20, 10], [150, 50, 10]] } (see src/ml/grid.ts). */
  readonly grid?: unknown;
  /**
   * Which worker pool trains: 'cpu' (the workflow's own task queue, served by the CPU
   * pool) or 'gpu' (the GPU pool's queue, `hepflow-gpu` unless `gpuTaskQueue` says otherwise).
   */
  readonly pool?: Pool;
  readonly gpuTaskQueue?: string;
  readonly pointsInFlight?: number;
  /** Chosen on the validation split held out of train; the test set is only for the final evaluation. */
  readonly selectionMetric?: SelectionMetric;
  /** How long a silent training may go before Temporal retries it elsewhere (crash detection). */
  readonly heartbeatTimeout?: Duration;
  /**
   * Workers per point: above 1 each point is one model trained data-parallel by this
   * many shard activities on the pool (distributedTrainWorkflow, docs/distributed.md).
   */
  readonly workers?: number;
  /** Optimizer steps per worker between synchronisations (distributed points only). */
  readonly localSteps?: number;
  /** How long transient failures are retried (src/contract/policies.ts). */
  readonly retry?: RetrySettings;
}

export interface GridSearchResult {
  readonly best: TrainRunResult;
  readonly tableUri: string;
  readonly evaluation: EvaluateResult;
  readonly trained: number;
  readonly failed: { runId: string; error: string }[];
}

/**
 * Hyper-parameter grid search: one training activity per point, in parallel on the
 * chosen pool; a failed point is recorded and the search goes on; the best point by a
 * validation metric is evaluated on the test set.
 */
export async function gridSearchWorkflow(input: GridSearchInput): Promise<GridSearchResult> {
  validated(gridSearchInputSchema, input);
  const metric = input.selectionMetric ?? 'valMeanAuc';
  const model = input.name ?? input.spec.kind;
  const tracker = trackProgress('grid-search', { stage: 'planning', searchable: true, model });
  upsertRunAttributes({ model });
  // The dataset names the classes, so the models' outputs match it.
  // CPU work runs on the workflow's own task queue: whatever the CPU pool was started with.
  const cpuOps = activitiesFor('data', { retry: input.retry });
  const { trainModel: trainer } = trainingActivitiesOn(input);
  const points = await cpuOps.planGridSearch({
    grid: input.grid ?? {},
    spec: input.spec,
    datasetUri: input.datasetUri,
  });
  upsertMemo({
    config: {
      model,
      kind: input.spec.kind,
      datasetUri: input.datasetUri,
      points: points.map((p) => p.id),
      pool: input.pool ?? 'cpu',
      selectionMetric: metric,
    },
  });
  let progress: PointProgress[] = points.map((p) => ({ id: p.id, params: p.params, status: 'waiting' }));
  const setPoint = (id: string, patch: Partial<PointProgress>) => {
    progress = progress.map((p) => (p.id === id ? { ...p, ...patch } : p));
    tracker.update({ points: progress });
  };
  tracker.stage('training', { points: progress });
  const outcomes: TrainRunResult[] = [];
  const failed: { runId: string; error: string }[] = [];
  const files = gridFiles(input.outputUri);
  const train = pointTrainer(input, tracker, trainer);
  let bestAuc = -Infinity;
  await mapBounded(points, input.pointsInFlight ?? 4, async (p) => {
    setPoint(p.id, { status: 'running' });
    try {
      const r = await train(
        { runId: p.id, datasetUri: input.datasetUri, outputUri: files.run(p.id), config: p.config },
        { summary: `${model} ${p.id}: ${formatParams(p.params)}`, params: p.params },
      );
      outcomes.push(r);
      setPoint(p.id, {
        status: 'done',
        ...(r.metrics.valMeanAuc !== undefined ? { valMeanAuc: r.metrics.valMeanAuc } : {}),
      });
      if ((r.metrics.valMeanAuc ?? -Infinity) > bestAuc) {
        bestAuc = r.metrics.valMeanAuc!;
        upsertRunAttributes({ bestAuc });
      }
    } catch (e) {
      // A cancelled search is not a failed point: it ends the search, CANCELED.
      if (isCancellation(e)) throw e;
      failed.push({ runId: p.id, error: errorOf(e) });
      setPoint(p.id, { status: 'failed', error: errorOf(e) });
    }
  });
  // A point that failed while being cancelled (e.g. a distributed point) still means cancelled.
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('grid search cancelled');
  const selected = await selectAndEvaluate(tracker, {
    outputUri: input.outputUri,
    datasetUri: input.datasetUri,
    outcomes,
    failed,
    metric,
    retry: input.retry,
    what: 'grid point',
  });
  return { ...selected, trained: outcomes.length, failed };
}

/** Trains one point: one training activity, or with `workers` above 1 a data-parallel child workflow. */
function pointTrainer(
  input: GridSearchInput,
  tracker: ProgressTracker,
  trainer: ReturnType<typeof activitiesFor>['trainModel'],
) {
  const workers = input.workers ?? 1;
  return async (
    run: { runId: string; datasetUri: string; outputUri: string; config: TrainConfig },
    point: { summary: string; params: Readonly<GridParams> },
  ): Promise<TrainRunResult> => {
    // Waits until training has stopped (between two batches) before the search ends cancelled.
    const options = { summary: point.summary, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };
    if (workers <= 1) return trainer.executeWithOptions(options, [{ ...run, params: point.params }]);
    const workflowId = `${workflowInfo().workflowId}/${run.runId}`;
    const r = await tracker.child(workflowId, () =>
      executeChild(distributedTrainWorkflow, {
        workflowId,
        staticSummary: point.summary,
        args: [
          {
            ...run,
            workers,
            ...withoutUndefined({
              localSteps: input.localSteps,
              pool: input.pool,
              gpuTaskQueue: input.gpuTaskQueue,
              heartbeatTimeout: input.heartbeatTimeout,
              retry: input.retry,
            }),
          },
        ],
      }),
    );
    const { runId, modelUri, metrics, backend, epochsCompleted, resumedFromEpoch, samplesPerSecond, trainSeconds } = r;
    return { runId, modelUri, metrics, backend, epochsCompleted, resumedFromEpoch, samplesPerSecond, trainSeconds };
  };
}
