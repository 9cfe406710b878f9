import { continueAsNew, executeChild, proxyActivities, workflowInfo, ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { mapBounded } from './concurrency.js';
import type { FileResult, IngestBatchInput, IngestBatchResult, IngestInput, IngestResult, IngestTotals } from './ingest-types.js';

const storageOps = proxyActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
});

const fileOps = proxyActivities<typeof activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['RootFileError', 'ObjectNotFoundError', 'InvalidUriError'] },
});

const MAX_REPORTED_FAILURES = 20;
const ZERO: IngestTotals = { ok: 0, failed: 0, entries: 0, bytes: 0 };

const add = (a: IngestTotals, b: IngestTotals): IngestTotals => ({
  ok: a.ok + b.ok,
  failed: a.failed + b.failed,
  entries: a.entries + b.entries,
  bytes: a.bytes + b.bytes,
});

/** The failure's root message: the activity's own error names the file and the cause. */
const messageOf = (e: unknown): { error: string; errorType: string } => {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure) return { error: cause.message, errorType: cause.type ?? 'Error' };
  return { error: (cause as Error)?.message ?? String(cause), errorType: (cause as Error)?.name ?? 'Error' };
};

/**
 * Reads every ROOT file under a prefix, one activity per file, and writes a manifest.
 * Files are processed in batches by child workflows, and the parent continues as new
 * every `batchesPerRun` batches, so no history grows with the number of files.
 */
export async function ingestWorkflow(input: IngestInput): Promise<IngestResult> {
  const batchSize = input.batchSize ?? 100;
  const batchesPerRun = input.batchesPerRun ?? 100;
  const batchesInFlight = input.batchesInFlight ?? 4;
  const { treeName } = input;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw ApplicationFailure.nonRetryable(`batchSize must be a positive integer, got ${batchSize}`, 'InvalidInput');
  if (!Number.isInteger(batchesPerRun) || batchesPerRun < 1) throw ApplicationFailure.nonRetryable(`batchesPerRun must be a positive integer, got ${batchesPerRun}`, 'InvalidInput');

  const progress = input.progress ?? {
    listing: await storageOps.listInputFiles({
      inputUri: input.inputUri,
      outputUri: input.outputUri,
      suffix: input.suffix ?? '.root',
      batchSize,
    }),
    nextBatch: 0,
    totals: ZERO,
    failures: [],
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  const { listing } = progress;
  const runEnd = Math.min(listing.batches, progress.nextBatch + batchesPerRun);
  const batches = Array.from({ length: runEnd - progress.nextBatch }, (_, i) => progress.nextBatch + i);
  const results = await mapBounded(batches, batchesInFlight, (batch) =>
    executeChild(ingestBatchWorkflow, {
      workflowId: `${workflowInfo().workflowId}-batch-${batch}`,
      args: [{
        outputUri: input.outputUri,
        batch,
        treeName,
        statBranches: input.statBranches ?? [],
        filesInFlight: input.filesInFlight ?? 8,
      } satisfies IngestBatchInput],
    }),
  );
  const totals = results.reduce((t, r) => add(t, r.totals), progress.totals);
  const failures = [...progress.failures, ...results.flatMap((r) => r.failures)].slice(0, MAX_REPORTED_FAILURES);

  if (runEnd < listing.batches) {
    await continueAsNew<typeof ingestWorkflow>({ ...input, progress: { ...progress, nextBatch: runEnd, totals, failures } });
  }
  const { manifestUri } = await storageOps.writeManifest({
    inputUri: input.inputUri,
    outputUri: input.outputUri,
    treeName,
    batches: listing.batches,
    totals,
    startedAt: progress.startedAt,
  });
  return { manifestUri, listing, totals, failures };
}

/** One batch of files: bounded parallel reads; a file's failure is recorded, not fatal. */
export async function ingestBatchWorkflow(input: IngestBatchInput): Promise<IngestBatchResult> {
  const files = await storageOps.readListingBatch({ outputUri: input.outputUri, batch: input.batch });
  const results = await mapBounded(files, input.filesInFlight, async (file): Promise<FileResult> => {
    try {
      const summary = await fileOps.inspectRootFile({ file, treeName: input.treeName, statBranches: input.statBranches });
      return { status: 'ok', file, ...summary };
    } catch (e) {
      return { status: 'failed', file, ...messageOf(e) };
    }
  });
  await storageOps.writeBatchResult({ outputUri: input.outputUri, batch: input.batch, results });
  let totals = ZERO;
  const failures: { uri: string; error: string }[] = [];
  for (const r of results) {
    if (r.status === 'ok') totals = add(totals, { ok: 1, failed: 0, entries: r.entries, bytes: r.file.size });
    else {
      totals = add(totals, { ok: 0, failed: 1, entries: 0, bytes: r.file.size });
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ uri: r.file.uri, error: r.error });
    }
  }
  return { totals, failures };
}
