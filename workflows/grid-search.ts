import { ApplicationFailure, ActivityFailure, ChildWorkflowFailure, executeChild, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { TrainSpec } from '../src/stages/train-spec.js';
import type { TrainRunResult } from '../src/ml/train-runner.js';
import type { TrainConfig } from '../src/ml/train.js';
import type { SelectionMetric } from '../src/ml/metrics.js';
import type { EvaluateResult } from '../src/stages/evaluate.js';
import { GPU_TASK_QUEUE, type Pool } from '../src/contract/task-queues.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { mapBounded } from './concurrency.js';
import { activitiesFor } from './activities.js';
import { gridSearchInputSchema, validated } from './input-schemas.js';
import { distributedTrainWorkflow } from './distributed-train.js';
import { gridFiles } from '../src/layout/run-layout.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { trimTrailingSlashes } from '../src/storage/uri-path.js';


export interface GridSearchInput {
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

const errorOf = (e: unknown): string => {
  const cause = e instanceof ActivityFailure || e instanceof ChildWorkflowFailure ? e.cause : e;
  return (cause as Error)?.message ?? String(cause);
};

/**
 * Hyper-parameter grid search: one training activity per point, in parallel on the
 * chosen pool; a failed point is recorded and the search goes on; the best point by a
 * validation metric is evaluated on the test set.
 */
export async function gridSearchWorkflow(input: GridSearchInput): Promise<GridSearchResult> {
  validated(gridSearchInputSchema, input);
  const metric = input.selectionMetric ?? 'valMeanAuc';
  // The dataset names the classes, so the models' outputs match it.
  // CPU work runs on the workflow's own task queue: whatever the CPU pool was started with.
  const cpuOps = activitiesFor('data', { retry: input.retry });
  // A retry resumes from the newest checkpoint, so retrying after a crash is cheap.
  const { trainModel: trainer } = activitiesFor('training', {
    retry: input.retry,
    ...(input.pool === 'gpu' ? { taskQueue: input.gpuTaskQueue ?? GPU_TASK_QUEUE } : {}),
    ...(input.heartbeatTimeout !== undefined ? { heartbeatTimeout: input.heartbeatTimeout } : {}),
  });
  const points = await cpuOps.planGridSearch({ grid: input.grid ?? {}, spec: input.spec, datasetUri: input.datasetUri });
  const workers = input.workers ?? 1;
  const train = async (run: { runId: string; datasetUri: string; outputUri: string; config: TrainConfig }): Promise<TrainRunResult> => {
    if (workers <= 1) return trainer(run);
    const r = await executeChild(distributedTrainWorkflow, {
      workflowId: `${workflowInfo().workflowId}/${run.runId}`,
      args: [{
        ...run, workers, ...(input.localSteps !== undefined ? { localSteps: input.localSteps } : {}),
        ...(input.pool !== undefined ? { pool: input.pool } : {}), ...(input.gpuTaskQueue !== undefined ? { gpuTaskQueue: input.gpuTaskQueue } : {}),
        ...(input.heartbeatTimeout !== undefined ? { heartbeatTimeout: input.heartbeatTimeout } : {}),
        ...(input.retry !== undefined ? { retry: input.retry } : {}),
      }],
    });
    const { runId, modelUri, metrics, backend, epochsCompleted, resumedFromEpoch, samplesPerSecond, trainSeconds } = r;
    return { runId, modelUri, metrics, backend, epochsCompleted, resumedFromEpoch, samplesPerSecond, trainSeconds };
  };
  const outcomes: TrainRunResult[] = [];
  const failed: { runId: string; error: string }[] = [];
  const files = gridFiles(input.outputUri);
  await mapBounded(points, input.pointsInFlight ?? 4, async (p) => {
    try {
      outcomes.push(await train({ runId: p.id, datasetUri: input.datasetUri, outputUri: files.run(p.id), config: p.config }));
    } catch (e) {
      failed.push({ runId: p.id, error: errorOf(e) });
    }
  });
  if (outcomes.length === 0) {
    throw ApplicationFailure.nonRetryable(`every grid point failed: ${failed.map((f) => `${f.runId}: ${f.error}`).join('; ')}`, WorkflowFailureTypes.gridSearchFailed);
  }
  outcomes.sort((a, b) => (a.runId < b.runId ? -1 : 1));
  const { best, tableUri } = await cpuOps.selectBestModel({
    outputUri: trimTrailingSlashes(input.outputUri), outcomes, failed, metric, maximize: metric !== 'valLoss',
  });
  const evaluation = await cpuOps.evaluateTestSet({ modelUri: best.modelUri, datasetUri: input.datasetUri, outputUri: files.evaluation });
  return { best, tableUri, evaluation, trained: outcomes.length, failed };
}
