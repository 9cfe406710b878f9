import { ApplicationFailure } from '@temporalio/activity';
import { Readable } from 'node:stream';
import { storage, joinUri, isTransientStorageError } from '../src/storage/index.js';
import { isInputVerdict } from '../src/errors.js';
import { listSources } from '../src/stages/listing.js';
import type { FileRef, FileResult, FileTask, InputSource, Listing, SampleTally, Totals } from '../workflows/file-batches-types.js';
import { withHeartbeat } from './heartbeat.js';

const pad = (n: number): string => String(n).padStart(6, '0');
const listingUri = (outputUri: string, batch: number): string => joinUri(outputUri, 'listing', `batch-${pad(batch)}.json`);
const batchResultUri = (outputUri: string, batch: number): string => joinUri(outputUri, 'results', `batch-${pad(batch)}.json`);

/**
 * Errors no retry can fix (the bytes are bad, the object or input is wrong) fail
 * non-retryably, and the workflow records them. Everything else, above all a storage
 * outage anywhere in the cause chain, stays retryable: an input that could not be read
 * right now must never be recorded as bad.
 */
export function nonRetryable(e: unknown): unknown {
  if (isTransientStorageError(e)) {
    // Typed by the outage, not by a wrapper whose name the workflow may list as permanent.
    return ApplicationFailure.create({ message: (e as Error).message, type: 'StorageUnavailableError', nonRetryable: false, cause: e as Error });
  }
  if (isInputVerdict(e)) return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
  return e;
}

/**
 * Lists the input files and stores the listing in batches, so the workflow history
 * carries only counts, however many files there are.
 */
type ListInput = { sources: readonly InputSource[]; outputUri: string; suffix: string; batchSize: number };

export async function listInputFiles(input: ListInput): Promise<Listing> {
  return withHeartbeat((report) => list(input, report));
}

async function list(input: ListInput, report: (d: unknown) => void): Promise<Listing> {
  let batch: FileRef[] = [];
  let batches = 0;
  let files = 0;
  let bytes = 0;
  const flush = async () => {
    await storage().writeJson(listingUri(input.outputUri, batches), batch);
    batches++;
    batch = [];
    report({ files, batches });
  };
  try {
    for await (const o of listSources(storage(), input.sources, input.suffix)) {
      batch.push(o);
      files++;
      bytes += o.size;
      if (batch.length === input.batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } catch (e) {
    throw nonRetryable(e);
  }
  return { files, batches, bytes };
}

export async function readListingBatch(input: { outputUri: string; batch: number }): Promise<FileRef[]> {
  return withHeartbeat(() => storage().readJson<FileRef[]>(listingUri(input.outputUri, input.batch)));
}

export async function writeBatchResult(input: { outputUri: string; batch: number; results: FileResult[] }): Promise<string> {
  const uri = batchResultUri(input.outputUri, input.batch);
  await withHeartbeat(() => storage().writeJson(uri, input.results));
  return uri;
}

/**
 * Streams the batch results into one manifest, one batch in memory at a time, so the
 * manifest of a million files costs no more memory than that of a hundred.
 */
export async function writeManifest(input: {
  kind: string;
  sources: readonly InputSource[];
  outputUri: string;
  task: FileTask;
  batches: number;
  totals: Totals;
  perSample: readonly SampleTally[];
  startedAt: string;
  /** What the stage records about its run besides (e.g. samples, classes, policy). */
  header: Record<string, unknown>;
}): Promise<{ manifestUri: string }> {
  return withHeartbeat((report) => writeManifestWith(input, report));
}

async function writeManifestWith(input: Parameters<typeof writeManifest>[0], report: (d: unknown) => void): Promise<{ manifestUri: string }> {
  const manifestUri = joinUri(input.outputUri, 'manifest.json');
  const { batches, header: extra, ...common } = input;
  const header = { ...common, ...extra };
  async function* chunks(): AsyncGenerator<string> {
    yield JSON.stringify({ ...header, finishedAt: new Date().toISOString() }).slice(0, -1);
    yield ',"files":[';
    let first = true;
    for (let b = 0; b < batches; b++) {
      for (const r of await storage().readJson<FileResult[]>(batchResultUri(input.outputUri, b))) {
        yield (first ? '\n' : ',\n') + JSON.stringify(r);
        first = false;
      }
      report(b);
    }
    yield '\n]}\n';
  }
  await storage().write(manifestUri, Readable.from(chunks()));
  return { manifestUri };
}
