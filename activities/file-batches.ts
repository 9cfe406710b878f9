import { Context, ApplicationFailure } from '@temporalio/activity';
import { Readable } from 'node:stream';
import { storage, joinUri, ObjectNotFoundError, InvalidUriError } from '../src/storage/index.js';
import { RootFileError } from '../src/root/errors.js';
import { InvalidInputError } from '../src/errors.js';
import type { FileRef, FileResult, FileTask, Listing, Totals } from '../workflows/file-batches-types.js';

const pad = (n: number): string => String(n).padStart(6, '0');
const listingUri = (outputUri: string, batch: number): string => joinUri(outputUri, 'listing', `batch-${pad(batch)}.json`);
const batchResultUri = (outputUri: string, batch: number): string => joinUri(outputUri, 'results', `batch-${pad(batch)}.json`);

/** Errors no retry can fix: the workflow records them instead of retrying forever. */
export function nonRetryable(e: unknown): unknown {
  if (e instanceof RootFileError || e instanceof ObjectNotFoundError || e instanceof InvalidUriError || e instanceof InvalidInputError) {
    return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
  }
  return e;
}

/**
 * Lists the input files and stores the listing in batches, so the workflow history
 * carries only counts, however many files there are.
 */
export async function listInputFiles(input: { inputUri: string; outputUri: string; suffix: string; batchSize: number }): Promise<Listing> {
  const ctx = Context.current();
  let batch: FileRef[] = [];
  let batches = 0;
  let files = 0;
  let bytes = 0;
  const flush = async () => {
    await storage().writeJson(listingUri(input.outputUri, batches), batch);
    batches++;
    batch = [];
    ctx.heartbeat({ files, batches });
  };
  try {
    for await (const o of storage().list(input.inputUri)) {
      if (!o.uri.endsWith(input.suffix)) continue;
      batch.push({ uri: o.uri, size: o.size, etag: o.etag });
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
  return storage().readJson<FileRef[]>(listingUri(input.outputUri, input.batch));
}

export async function writeBatchResult(input: { outputUri: string; batch: number; results: FileResult[] }): Promise<string> {
  const uri = batchResultUri(input.outputUri, input.batch);
  await storage().writeJson(uri, input.results);
  return uri;
}

/**
 * Streams the batch results into one manifest, one batch in memory at a time, so the
 * manifest of a million files costs no more memory than that of a hundred.
 */
export async function writeManifest(input: {
  kind: string;
  inputUri: string;
  outputUri: string;
  task: FileTask;
  batches: number;
  totals: Totals;
  startedAt: string;
}): Promise<{ manifestUri: string }> {
  const ctx = Context.current();
  const manifestUri = joinUri(input.outputUri, 'manifest.json');
  const { batches, ...header } = input;
  async function* chunks(): AsyncGenerator<string> {
    yield JSON.stringify({ ...header, finishedAt: new Date().toISOString() }).slice(0, -1);
    yield ',"files":[';
    let first = true;
    for (let b = 0; b < batches; b++) {
      for (const r of await storage().readJson<FileResult[]>(batchResultUri(input.outputUri, b))) {
        yield (first ? '\n' : ',\n') + JSON.stringify(r);
        first = false;
      }
      ctx.heartbeat(b);
    }
    yield '\n]}\n';
  }
  await storage().write(manifestUri, Readable.from(chunks()));
  return { manifestUri };
}
