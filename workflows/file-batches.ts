import { executeChild, proxyActivities, workflowInfo, ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { mapBounded } from './concurrency.js';
import type {
  FailureNote, FanOutOptions, FanOutProgress, FileBatchInput, FileBatchResult, FileResult, FileTask, Totals,
} from './file-batches-types.js';

const storageOps = proxyActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
});

// Errors an unreadable input raises: retrying cannot fix them, the manifest records them.
const NON_RETRYABLE = ['RootFileError', 'ObjectNotFoundError', 'InvalidUriError', 'InvalidInput'];

const fileOps = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

const MAX_REPORTED_FAILURES = 20;
export const ZERO_TOTALS: Totals = { ok: 0, failed: 0, bytes: 0, counters: {} };

export function addTotals(a: Totals, b: Totals): Totals {
  const counters: Record<string, number> = { ...a.counters };
  for (const [k, v] of Object.entries(b.counters)) counters[k] = (counters[k] ?? 0) + v;
  return { ok: a.ok + b.ok, failed: a.failed + b.failed, bytes: a.bytes + b.bytes, counters };
}

/** The failure's root message: the activity's own error names the file and the cause. */
function messageOf(e: unknown): { error: string; errorType: string } {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return { error: cause.message, errorType: cause.type ?? 'Error' };
  return { error: (cause as Error)?.message ?? String(cause), errorType: (cause as Error)?.name ?? 'Error' };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw ApplicationFailure.nonRetryable(`${name} must be a positive integer, got ${value}`, 'InvalidInput');
  return value;
}

/**
 * One step of a per-file fan-out, for a parent workflow to call: lists the inputs on
 * the first run, then runs up to `batchesPerRun` batches as child workflows. Returns
 * the progress; the parent continues as new while `nextBatch < listing.batches`, so no
 * history grows with the number of files.
 */
export async function fanOutStep(
  inputUri: string,
  outputUri: string,
  task: FileTask,
  options: FanOutOptions,
  progress: FanOutProgress | undefined,
): Promise<FanOutProgress> {
  const batchSize = positive('batchSize', options.batchSize ?? 100);
  const batchesPerRun = positive('batchesPerRun', options.batchesPerRun ?? 100);
  const current = progress ?? {
    listing: await storageOps.listInputFiles({ inputUri, outputUri, suffix: options.suffix ?? '.root', batchSize }),
    nextBatch: 0,
    totals: ZERO_TOTALS,
    failures: [],
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  const runEnd = Math.min(current.listing.batches, current.nextBatch + batchesPerRun);
  const batches = Array.from({ length: runEnd - current.nextBatch }, (_, i) => current.nextBatch + i);
  const results = await mapBounded(batches, positive('batchesInFlight', options.batchesInFlight ?? 4), (batch) =>
    executeChild(fileBatchWorkflow, {
      workflowId: `${workflowInfo().workflowId}-batch-${batch}`,
      args: [{ outputUri, batch, task, filesInFlight: positive('filesInFlight', options.filesInFlight ?? 8) } satisfies FileBatchInput],
    }),
  );
  return {
    ...current,
    nextBatch: runEnd,
    totals: results.reduce((t, r) => addTotals(t, r.totals), current.totals),
    failures: [...current.failures, ...results.flatMap((r) => r.failures)].slice(0, MAX_REPORTED_FAILURES),
  };
}

export const fanOutDone = (p: FanOutProgress): boolean => p.nextBatch >= p.listing.batches;

/** Writes the manifest once every batch is done. */
export async function finishFanOut(kind: string, inputUri: string, outputUri: string, task: FileTask, p: FanOutProgress) {
  const { manifestUri } = await storageOps.writeManifest({
    kind, inputUri, outputUri, task, batches: p.listing.batches, totals: p.totals, startedAt: p.startedAt,
  });
  return { manifestUri, listing: p.listing, totals: p.totals, failures: p.failures };
}

/** One batch of files: bounded parallel activities; a file's failure is recorded, not fatal. */
export async function fileBatchWorkflow(input: FileBatchInput): Promise<FileBatchResult> {
  const files = await storageOps.readListingBatch({ outputUri: input.outputUri, batch: input.batch });
  const run = fileOps[input.task.activity] as (a: { file: typeof files[number] } & FileTask['params']) => Promise<{ counters: Record<string, number> }>;
  const results = await mapBounded(files, input.filesInFlight, async (file): Promise<FileResult> => {
    try {
      return { status: 'ok', file, outcome: await run({ file, ...input.task.params }) };
    } catch (e) {
      return { status: 'failed', file, ...messageOf(e) };
    }
  });
  await storageOps.writeBatchResult({ outputUri: input.outputUri, batch: input.batch, results });
  let totals = ZERO_TOTALS;
  const failures: FailureNote[] = [];
  for (const r of results) {
    if (r.status === 'ok') totals = addTotals(totals, { ok: 1, failed: 0, bytes: r.file.size, counters: r.outcome.counters });
    else {
      totals = addTotals(totals, { ok: 0, failed: 1, bytes: r.file.size, counters: {} });
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ uri: r.file.uri, error: r.error });
    }
  }
  return { totals, failures };
}
