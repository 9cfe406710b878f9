/**
 * ingestWorkflow: what every ROOT file under a prefix holds (its tree, entries,
 * branches, optional branch statistics), one `inspectRootFile` activity per file through
 * the per-file fan-out, summed in the manifest.
 */
import { continueAsNew, upsertMemo } from '@temporalio/workflow';
import { runFanOut } from './file-batches.js';
import type { FanOutOptions, FanOutProgress, FanOutResult, FileTask } from '../src/contract/fan-out.js';
import { ingestInputSchema, validated } from './input-schemas.js';
import { trackProgress, upsertRunAttributes } from './progress.js';

export interface IngestInput extends FanOutOptions {
  /** Prefix (s3://bucket/dir/ or file:///dir/) under which ROOT files are found. */
  readonly inputUri: string;
  /** Where the listing, per-batch results and manifest.json are written. */
  readonly outputUri: string;
  /** Absent: each file's first TTree. */
  readonly treeName?: string | undefined;
  /** Branches to read fully, reporting count/sum/first values per file. */
  readonly statBranches?: string[];
  /** Carried across continue-as-new; absent when a user starts the workflow. */
  readonly progress?: FanOutProgress;
}

/**
 * Reads every ROOT file under a prefix, one `inspectRootFile` activity per file (in
 * batches run by child workflows), and writes a manifest of what each file holds.
 */
export async function ingestWorkflow(input: IngestInput): Promise<FanOutResult> {
  validated(ingestInputSchema, input);
  const task: FileTask = {
    activity: 'inspectRootFile',
    params: { treeName: input.treeName, statBranches: input.statBranches ?? [] },
  };
  const sources = [{ uri: input.inputUri }];
  const tracker = trackProgress('ingest', { stage: 'starting', searchable: true });
  if (!input.progress) {
    upsertRunAttributes({ samples: [input.inputUri] });
    upsertMemo({
      config: {
        inputUri: input.inputUri,
        outputUri: input.outputUri,
        treeName: input.treeName ?? '(first TTree)',
        statBranches: input.statBranches ?? [],
      },
    });
  }
  const result = await runFanOut({
    kind: 'hepflow.ingest-manifest/v1',
    sources,
    outputUri: input.outputUri,
    task,
    options: input,
    progress: input.progress,
    tracker,
    continueAsNew: (progress) => continueAsNew<typeof ingestWorkflow>({ ...input, progress }),
  });
  tracker.stage('done');
  return result;
}
