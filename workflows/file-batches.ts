/**
 * The per-file fan-out the ingest, features and score workflows share (`runFanOut`):
 * list the inputs, run batches of per-file activities as child workflows
 * (`fileBatchWorkflow`), continue as new between runs of batches, write the manifest.
 * A file is recorded as failed only for a non-retryable verdict on it.
 */
import { executeChild, workflowInfo, ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { mapBounded } from './concurrency.js';
import { activitiesFor } from './activities.js';
import { addTallies, addToSample, addTotals, totalsOf, ZERO_TOTALS } from '../src/contract/tally.js';
import { trackProgress, type ProgressTracker } from './progress.js';
import type { FilesProgress } from '../src/contract/progress.js';
import type {
  FailureNote,
  FanOutOptions,
  FanOutProgress,
  FanOutResult,
  FileBatchInput,
  FileBatchResult,
  FileResult,
  FileRef,
  FileTask,
  InputSource,
  PerFileOutcome,
  SampleTally,
  Totals,
} from '../src/contract/fan-out.js';

const MAX_REPORTED_FAILURES = 20;
/** The last path segment: what a person recognises a file by. */
const fileName = (uri: string): string => uri.replace(/\/+$/, '').split('/').pop() ?? uri;

/** The failure's root message: the activity's own error names the file and the cause. */
function messageOf(e: unknown): { error: string; errorType: string } {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return { error: cause.message, errorType: cause.type ?? 'Error' };
  return { error: (cause as Error)?.message ?? String(cause), errorType: (cause as Error)?.name ?? 'Error' };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw ApplicationFailure.nonRetryable(
      `${name} must be a positive integer, got ${value}`,
      WorkflowFailureTypes.invalidInput,
    );
  return value;
}

/** Events a file task reads: ROOT entries (ingest) or events read (features, scoring). */
const eventsOf = (t: Totals): number => t.counters.read ?? t.counters.entries ?? 0;

const filesProgress = (t: Totals, total: number, startedAt: string): FilesProgress => ({
  total,
  done: t.ok + t.failed,
  failed: t.failed,
  events: eventsOf(t),
  bytes: t.bytes,
  startedAt,
});

/** What a stage's workflow hands the per-file fan-out: one options object, the same for every stage. */
export interface FanOutRun {
  /** The manifest's schema name, e.g. `hepflow.features-manifest/v2`. */
  readonly kind: string;
  readonly sources: readonly InputSource[];
  readonly outputUri: string;
  /** The per-file activity and its parameters besides the file. */
  readonly task: FileTask;
  readonly options: FanOutOptions;
  /** Carried across continue-as-new; absent on the first run. */
  readonly progress: FanOutProgress | undefined;
  readonly tracker: ProgressTracker;
  /** What the stage records about its run in the manifest's header (e.g. samples, classes). */
  readonly header?: Record<string, unknown>;
  /** Continues the calling workflow as new, carrying `progress`. */
  readonly continueAsNew: (progress: FanOutProgress) => Promise<never>;
}

/**
 * The per-file fan-out a stage's workflow runs: lists the inputs on the first run, runs
 * up to `batchesPerRun` batches as child workflows, continues as new while batches are
 * left (so no history grows with the number of files), then writes the manifest. The
 * tracker's files count up as batches finish; its stage is `manifest` while the manifest
 * is written.
 */
export async function runFanOut(run: FanOutRun): Promise<FanOutResult> {
  const progress = await fanOutStep(run);
  if (progress.nextBatch < progress.listing.batches) await run.continueAsNew(progress);
  run.tracker.stage('manifest');
  return finishFanOut(run, progress);
}

/** One run's share of the batches; returns the progress to carry on. */
async function fanOutStep(run: FanOutRun): Promise<FanOutProgress> {
  const { sources, outputUri, task, options, progress, tracker } = run;
  const batchSize = positive('batchSize', options.batchSize ?? 100);
  const batchesPerRun = positive('batchesPerRun', options.batchesPerRun ?? 100);
  if (!progress) tracker.stage('listing');
  const current = progress ?? {
    listing: await activitiesFor('storage', { retry: options.retry }).listInputFiles({
      sources,
      outputUri,
      suffix: options.suffix ?? '.root',
      batchSize,
    }),
    nextBatch: 0,
    totals: ZERO_TOTALS,
    failures: [],
    perSample: [],
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  let finished = current.totals;
  tracker.stage('reading', { files: filesProgress(finished, current.listing.files, current.startedAt) });
  const runEnd = Math.min(current.listing.batches, current.nextBatch + batchesPerRun);
  const batches = Array.from({ length: runEnd - current.nextBatch }, (_, i) => current.nextBatch + i);
  const results = await mapBounded(
    batches,
    positive('batchesInFlight', options.batchesInFlight ?? 4),
    async (batch) => {
      const workflowId = `${workflowInfo().workflowId}-batch-${batch}`;
      const r = await tracker.child(workflowId, () =>
        executeChild(fileBatchWorkflow, {
          workflowId,
          staticSummary: `batch ${batch + 1} of ${current.listing.batches}: ${task.activity}`,
          args: [
            {
              outputUri,
              batch,
              task,
              filesInFlight: positive('filesInFlight', options.filesInFlight ?? 8),
              retry: options.retry,
            } satisfies FileBatchInput,
          ],
        }),
      );
      finished = addTotals(finished, r.totals);
      tracker.update({ files: filesProgress(finished, current.listing.files, current.startedAt) });
      return r;
    },
  );
  return {
    ...current,
    nextBatch: runEnd,
    totals: results.reduce((t, r) => addTotals(t, r.totals), current.totals),
    failures: [...current.failures, ...results.flatMap((r) => r.failures)].slice(0, MAX_REPORTED_FAILURES),
    perSample: results.reduce((t, r) => addTallies(t, r.perSample), current.perSample),
  };
}

/** Writes the manifest once every batch is done. */
async function finishFanOut(run: FanOutRun, p: FanOutProgress): Promise<FanOutResult> {
  const { manifestUri } = await activitiesFor('storage', { retry: run.options.retry }).writeManifest({
    kind: run.kind,
    sources: run.sources,
    outputUri: run.outputUri,
    task: run.task,
    batches: p.listing.batches,
    totals: p.totals,
    perSample: p.perSample,
    startedAt: p.startedAt,
    header: run.header ?? {},
  });
  return { manifestUri, listing: p.listing, totals: p.totals, failures: p.failures, perSample: p.perSample };
}

/**
 * Only a non-retryable failure is a verdict on the file itself, to record in the
 * manifest. A failure that stayed retryable (a storage outage that outlasted the
 * retries, a timeout) fails the batch instead: an input that could not be read right
 * now is never reported as a bad file.
 */
export const isVerdictOnFile = (e: unknown): boolean =>
  e instanceof ActivityFailure && e.retryState === 'NON_RETRYABLE_FAILURE';

/** One batch of files: bounded parallel activities; a file's failure is recorded, not fatal. */
export async function fileBatchWorkflow(input: FileBatchInput): Promise<FileBatchResult> {
  const tracker = trackProgress('file-batch', { stage: 'listing', searchable: false });
  const storageOps = activitiesFor('storage', { retry: input.retry });
  const files = await storageOps.readListingBatch({ outputUri: input.outputUri, batch: input.batch });
  const startedAt = new Date().toISOString();
  let finished = ZERO_TOTALS;
  tracker.stage('reading', { files: filesProgress(finished, files.length, startedAt) });
  // One of three activities, chosen by the task: called the way all three take it.
  const run = activitiesFor('file', { retry: input.retry })[input.task.activity] as unknown as {
    executeWithOptions(
      o: { summary: string },
      args: [{ file: FileRef } & FileTask['params']],
    ): Promise<PerFileOutcome & Record<string, unknown>>;
  };
  const results = await mapBounded(files, input.filesInFlight, async (file): Promise<FileResult> => {
    let r: FileResult;
    try {
      // The summary names the file, so the UI's timeline tells the activities apart.
      const outcome = await run.executeWithOptions({ summary: `${input.task.activity} ${fileName(file.uri)}` }, [
        { file, ...input.task.params },
      ]);
      r = { status: 'ok', file, outcome };
    } catch (e) {
      if (!isVerdictOnFile(e)) throw e;
      r = { status: 'failed', file, ...messageOf(e) };
    }
    finished = addTotals(finished, totalsOf(r));
    tracker.update({ files: filesProgress(finished, files.length, startedAt) });
    return r;
  });
  tracker.stage('writing results');
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
