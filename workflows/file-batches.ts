import { executeChild, workflowInfo, ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../src/contract/errors.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { mapBounded } from './concurrency.js';
import { activitiesFor } from './activities.js';
import { addTallies, addToSample, addTotals, totalsOf, ZERO_TOTALS } from '../src/contract/tally.js';
import type {
  FailureNote, FanOutOptions, FanOutProgress, FileBatchInput, FileBatchResult, FileResult, FileTask, InputSource, SampleTally,
} from '../src/contract/fan-out.js';

const MAX_REPORTED_FAILURES = 20;
/** The failure's root message: the activity's own error names the file and the cause. */
function messageOf(e: unknown): { error: string; errorType: string } {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return { error: cause.message, errorType: cause.type ?? 'Error' };
  return { error: (cause as Error)?.message ?? String(cause), errorType: (cause as Error)?.name ?? 'Error' };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw ApplicationFailure.nonRetryable(`${name} must be a positive integer, got ${value}`, ErrorTypes.invalidInput);
  return value;
}

/**
 * One step of a per-file fan-out, for a parent workflow to call: lists the inputs on
 * the first run, then runs up to `batchesPerRun` batches as child workflows. Returns
 * the progress; the parent continues as new while `nextBatch < listing.batches`, so no
 * history grows with the number of files.
 */
export async function fanOutStep(
  sources: readonly InputSource[],
  outputUri: string,
  task: FileTask,
  options: FanOutOptions,
  progress: FanOutProgress | undefined,
): Promise<FanOutProgress> {
  const batchSize = positive('batchSize', options.batchSize ?? 100);
  const batchesPerRun = positive('batchesPerRun', options.batchesPerRun ?? 100);
  const current = progress ?? {
    listing: await activitiesFor('storage', { retry: options.retry }).listInputFiles({ sources, outputUri, suffix: options.suffix ?? '.root', batchSize }),
    nextBatch: 0,
    totals: ZERO_TOTALS,
    failures: [],
    perSample: [],
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  const runEnd = Math.min(current.listing.batches, current.nextBatch + batchesPerRun);
  const batches = Array.from({ length: runEnd - current.nextBatch }, (_, i) => current.nextBatch + i);
  const results = await mapBounded(batches, positive('batchesInFlight', options.batchesInFlight ?? 4), (batch) =>
    executeChild(fileBatchWorkflow, {
      workflowId: `${workflowInfo().workflowId}-batch-${batch}`,
      args: [{
        outputUri, batch, task, filesInFlight: positive('filesInFlight', options.filesInFlight ?? 8),
        ...(options.retry ? { retry: options.retry } : {}),
      } satisfies FileBatchInput],
    }),
  );
  return {
    ...current,
    nextBatch: runEnd,
    totals: results.reduce((t, r) => addTotals(t, r.totals), current.totals),
    failures: [...current.failures, ...results.flatMap((r) => r.failures)].slice(0, MAX_REPORTED_FAILURES),
    perSample: results.reduce((t, r) => addTallies(t, r.perSample), current.perSample),
  };
}

export const fanOutDone = (p: FanOutProgress): boolean => p.nextBatch >= p.listing.batches;

/** Writes the manifest once every batch is done; `header` adds what the stage records about its run. */
export async function finishFanOut(
  kind: string, sources: readonly InputSource[], outputUri: string, task: FileTask, p: FanOutProgress, header: Record<string, unknown> = {},
  retry?: RetrySettings,
) {
  const { manifestUri } = await activitiesFor('storage', { retry }).writeManifest({
    kind, sources, outputUri, task, batches: p.listing.batches, totals: p.totals, perSample: p.perSample, startedAt: p.startedAt, header,
  });
  return { manifestUri, listing: p.listing, totals: p.totals, failures: p.failures, perSample: p.perSample };
}

/**
 * Only a non-retryable failure is a verdict on the file itself, to record in the
 * manifest. A failure that stayed retryable (a storage outage that outlasted the
 * retries, a timeout) fails the batch instead: an input that could not be read right
 * now is never reported as a bad file.
 */
export const isVerdictOnFile = (e: unknown): boolean => e instanceof ActivityFailure && e.retryState === 'NON_RETRYABLE_FAILURE';

/** One batch of files: bounded parallel activities; a file's failure is recorded, not fatal. */
export async function fileBatchWorkflow(input: FileBatchInput): Promise<FileBatchResult> {
  const storageOps = activitiesFor('storage', { retry: input.retry });
  const files = await storageOps.readListingBatch({ outputUri: input.outputUri, batch: input.batch });
  const run = activitiesFor('file', { retry: input.retry })[input.task.activity] as (a: { file: typeof files[number] } & FileTask['params']) => Promise<{ counters: Record<string, number> }>;
  const results = await mapBounded(files, input.filesInFlight, async (file): Promise<FileResult> => {
    try {
      return { status: 'ok', file, outcome: await run({ file, ...input.task.params }) };
    } catch (e) {
      if (!isVerdictOnFile(e)) throw e;
      return { status: 'failed', file, ...messageOf(e) };
    }
  });
  await storageOps.writeBatchResult({ outputUri: input.outputUri, batch: input.batch, results });
  let totals = ZERO_TOTALS;
  const failures: FailureNote[] = [];
  let perSample: SampleTally[] = [];
  for (const r of results) {
    perSample = addToSample(perSample, r);
    totals = addTotals(totals, totalsOf(r));
    if (r.status === 'failed') {
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ uri: r.file.uri, error: r.error });
    }
  }
  return { totals, failures, perSample };
}
