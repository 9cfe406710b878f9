import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import type { SelectionMetric, TrainRunResult } from '../src/contract/training.js';
import type { EvaluateResult } from '../src/stages/evaluate.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { gridFiles } from '../src/contract/run-layout.js';
import { activitiesFor } from './activities.js';
import type { ProgressTracker } from './progress.js';

/** The root cause's message: a distributed point's failure is a child's failure of an activity's failure. */
export const errorOf = (e: unknown): string => {
  let cause = e;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  return (cause as Error)?.message ?? String(cause);
};

export interface Selected {
  readonly best: TrainRunResult;
  readonly tableUri: string;
  readonly evaluation: EvaluateResult;
}

/**
 * The end of a search (grid or tuning study): the best run by a validation metric, the
 * results table stored beside the runs, and the best model evaluated on the test set.
 */
export async function selectAndEvaluate(
  tracker: ProgressTracker,
  o: {
    readonly outputUri: string;
    readonly datasetUri: string;
    readonly outcomes: readonly TrainRunResult[];
    readonly failed: readonly { runId: string; error: string }[];
    readonly metric: SelectionMetric;
    readonly retry?: RetrySettings | undefined;
    readonly what: string;
  },
): Promise<Selected> {
  if (o.outcomes.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `every ${o.what} failed: ${o.failed.map((f) => `${f.runId}: ${f.error}`).join('; ')}`,
      WorkflowFailureTypes.gridSearchFailed,
    );
  }
  const cpuOps = activitiesFor('data', { retry: o.retry });
  const outcomes = [...o.outcomes].sort((a, b) => (a.runId < b.runId ? -1 : 1));
  tracker.stage('selecting');
  const { best, tableUri } = await cpuOps.selectBestModel({
    outputUri: gridFiles(o.outputUri).root,
    outcomes,
    failed: [...o.failed],
    metric: o.metric,
    maximize: o.metric !== 'valLoss',
  });
  tracker.stage('evaluating');
  const evaluation = await cpuOps.evaluateTestSet({
    modelUri: best.modelUri,
    datasetUri: o.datasetUri,
    outputUri: gridFiles(o.outputUri).evaluation,
  });
  tracker.stage('done');
  return { best, tableUri, evaluation };
}
