import type { TreeSummary } from '../src/root/jsroot/tree-summary.js';

/** One input file as listed; the etag ties results to the exact content read. */
export interface FileRef {
  readonly uri: string;
  readonly size: number;
  readonly etag: string;
}

export interface IngestListing {
  readonly files: number;
  readonly batches: number;
  readonly bytes: number;
}

export type FileResult =
  | ({ readonly status: 'ok'; readonly file: FileRef } & TreeSummary)
  | { readonly status: 'failed'; readonly file: FileRef; readonly error: string; readonly errorType: string };

export interface IngestTotals {
  readonly ok: number;
  readonly failed: number;
  readonly entries: number;
  readonly bytes: number;
}

export interface IngestInput {
  /** Prefix (s3://bucket/dir/ or file:///dir/) under which ROOT files are found. */
  readonly inputUri: string;
  /** Where the listing, per-batch results and manifest.json are written. */
  readonly outputUri: string;
  /** Absent: each file's first TTree. */
  readonly treeName?: string;
  /** Branches to read fully, reporting count/sum/first values per file. */
  readonly statBranches?: string[];
  readonly suffix?: string;
  /** Files per child workflow. */
  readonly batchSize?: number;
  /** Concurrent file activities within a batch. */
  readonly filesInFlight?: number;
  /** Concurrent batch child workflows. */
  readonly batchesInFlight?: number;
  /** Batches per run before continuing as new (keeps the history small). */
  readonly batchesPerRun?: number;
  /** Carried across continue-as-new; absent when a user starts the workflow. */
  readonly progress?: IngestProgress;
}

export interface IngestProgress {
  readonly listing: IngestListing;
  readonly nextBatch: number;
  readonly totals: IngestTotals;
  readonly failures: { uri: string; error: string }[];
  readonly startedAt: string;
}

export interface IngestResult {
  readonly manifestUri: string;
  readonly listing: IngestListing;
  readonly totals: IngestTotals;
  /** The first few failures, for display; the manifest has them all. */
  readonly failures: { uri: string; error: string }[];
}

export interface IngestBatchInput {
  readonly outputUri: string;
  readonly batch: number;
  readonly treeName?: string;
  readonly statBranches: string[];
  readonly filesInFlight: number;
}

export interface IngestBatchResult {
  readonly totals: IngestTotals;
  readonly failures: { uri: string; error: string }[];
}
