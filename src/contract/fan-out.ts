/** Shared types of the per-file fan-out (listing → batches of per-file activities → manifest). */
import type { LabelSource, SampleOutcome } from './samples.js';
import type { DelphesEvent } from './delphes-event.js';
import type { Selection } from './selection.js';
import type { RetrySettings } from './policies.js';

/** One input file as listed; the etag ties results to the exact content read. */
export interface FileRef {
  readonly uri: string;
  readonly size: number;
  readonly etag: string;
  /** Index of the sample the file belongs to (0 when the input is one prefix). */
  readonly sample?: number;
  /**
   * The file's place within its sample: the listed source's index and the path below
   * it. With the sample, a key that does not depend on where the run writes.
   */
  readonly rel?: string;
}

/** A prefix (ends with /) or a single file to list, and the sample it belongs to. */
export interface InputSource {
  readonly uri: string;
  readonly sample?: number;
  /** The sample's name, for messages. */
  readonly name?: string;
}

export interface Listing {
  readonly files: number;
  readonly batches: number;
  readonly bytes: number;
}

/**
 * What every per-file activity returns: numbers the workflow adds up across files
 * (entries, cut-flow counts, ...), plus whatever details go into the manifest.
 */
export interface PerFileOutcome {
  readonly counters: Readonly<Record<string, number>>;
}

/** A feature-preparation task's parameters besides the file (src/stages/features.ts runs it). */
export interface FeatureOptions {
  readonly labels: LabelSource;
  readonly treeName?: string;
  /** Treat these missing collections (DelphesEvent keys, e.g. 'muons') as empty instead of failing the file. */
  readonly emptyIfMissing?: readonly (keyof DelphesEvent)[];
  readonly rowGroupSize?: number;
}

/** A scoring task's parameters besides the file (src/stages/score.ts runs it). */
export interface ScoreOptions {
  /** A model directory (a registry name is resolved to one before this stage). */
  readonly modelUri: string;
  /** Writes `accepted` per event and the efficiency counts. */
  readonly selection?: Selection;
  /** ROOT inputs: where the true class comes from, in the model's class order, for the efficiency table (default: unknown). */
  readonly labels?: LabelSource;
  readonly treeName?: string;
  readonly emptyIfMissing?: readonly (keyof DelphesEvent)[];
  /** Events per model call (default 1024). */
  readonly eventsPerCall?: number;
}

/** The per-file activities a fan-out can run, with their parameters besides the file. */
export type FileTask =
  | {
      readonly activity: 'inspectRootFile';
      readonly params: { readonly treeName?: string | undefined; readonly statBranches: string[] };
    }
  | {
      readonly activity: 'prepareFileFeatures';
      /** `labels[file.sample]` labels each file. */
      readonly params: Omit<FeatureOptions, 'labels'> & {
        readonly outputUri: string;
        readonly labels: readonly LabelSource[];
      };
    }
  | { readonly activity: 'scoreFile'; readonly params: ScoreOptions & { readonly outputUri: string } };

export type FileResult<D = Record<string, unknown>> =
  | { readonly status: 'ok'; readonly file: FileRef; readonly outcome: PerFileOutcome & D }
  | { readonly status: 'failed'; readonly file: FileRef; readonly error: string; readonly errorType: string };

export interface Totals {
  readonly ok: number;
  readonly failed: number;
  readonly bytes: number;
  readonly counters: Readonly<Record<string, number>>;
}

export interface FailureNote {
  readonly uri: string;
  readonly error: string;
}

/** What happened to one sample's files, as the fan-out adds it up (src/contract/samples.ts). */
export type SampleTally = SampleOutcome;

export interface FanOutOptions {
  /** Files per child workflow. */
  readonly batchSize?: number | undefined;
  /** Concurrent file activities within a batch. */
  readonly filesInFlight?: number | undefined;
  /** Concurrent batch child workflows. */
  readonly batchesInFlight?: number | undefined;
  /** Batches per run before continuing as new (keeps the history small). */
  readonly batchesPerRun?: number | undefined;
  readonly suffix?: string | undefined;
  /** How long transient failures are retried (src/contract/policies.ts). */
  readonly retry?: RetrySettings | undefined;
}

/** Carried across continue-as-new. */
export interface FanOutProgress {
  readonly listing: Listing;
  readonly nextBatch: number;
  readonly totals: Totals;
  readonly failures: FailureNote[];
  /** Per sample, by index. */
  readonly perSample: SampleTally[];
  readonly startedAt: string;
}

export interface FileBatchInput {
  readonly outputUri: string;
  readonly batch: number;
  readonly task: FileTask;
  readonly filesInFlight: number;
  readonly retry?: RetrySettings | undefined;
}

export interface FileBatchResult {
  readonly totals: Totals;
  readonly failures: FailureNote[];
  readonly perSample: SampleTally[];
}

export interface FanOutResult {
  readonly manifestUri: string;
  readonly listing: Listing;
  readonly totals: Totals;
  /** The first few failures, for display; the manifest has them all. */
  readonly failures: FailureNote[];
  readonly perSample: SampleTally[];
}
