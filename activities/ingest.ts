import { Context, ApplicationFailure } from '@temporalio/activity';
import { Readable } from 'node:stream';
import { storage, joinUri, ObjectNotFoundError, InvalidUriError, type ObjectInfo } from '../src/storage/index.js';
import { summarizeTree, type TreeSummary } from '../src/root/jsroot/tree-summary.js';
import { RootFileError } from '../src/root/errors.js';
import type { FileRef, FileResult, IngestListing, IngestTotals } from '../workflows/ingest-types.js';

const pad = (n: number): string => String(n).padStart(6, '0');
export const listingUri = (outputUri: string, batch: number): string => joinUri(outputUri, 'listing', `batch-${pad(batch)}.json`);
export const batchResultUri = (outputUri: string, batch: number): string => joinUri(outputUri, 'results', `batch-${pad(batch)}.json`);

/** Errors no retry can fix: the workflow records them instead of retrying forever. */
export function nonRetryable(e: unknown): unknown {
  if (e instanceof RootFileError || e instanceof ObjectNotFoundError || e instanceof InvalidUriError) {
    return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
  }
  return e;
}

/**
 * Lists the input files and stores the listing in batches, so the workflow history
 * carries only counts, however many files there are.
 */
export async function listInputFiles(input: {
  inputUri: string;
  outputUri: string;
  suffix: string;
  batchSize: number;
}): Promise<IngestListing> {
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

/** Opens one ROOT file through ranged reads and summarizes its tree with jsroot. */
export async function inspectRootFile(input: {
  file: FileRef;
  /** Absent: the file's first TTree. */
  treeName?: string;
  statBranches: string[];
}): Promise<TreeSummary> {
  const ctx = Context.current();
  const source = await storage().openRead(input.file.uri).catch((e) => {
    throw nonRetryable(e);
  });
  const beat = setInterval(() => ctx.heartbeat(), 5_000);
  try {
    return await summarizeTree(source, input.treeName, input.statBranches);
  } catch (e) {
    throw nonRetryable(e);
  } finally {
    clearInterval(beat);
    await source.close();
  }
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
  inputUri: string;
  outputUri: string;
  treeName?: string;
  batches: number;
  totals: IngestTotals;
  startedAt: string;
}): Promise<{ manifestUri: string; info: ObjectInfo }> {
  const ctx = Context.current();
  const manifestUri = joinUri(input.outputUri, 'manifest.json');
  const { batches, ...header } = input;
  async function* chunks(): AsyncGenerator<string> {
    yield JSON.stringify({ kind: 'hepflow.ingest-manifest/v1', ...header, finishedAt: new Date().toISOString() }).slice(0, -1);
    yield ',"files":[';
    let first = true;
    for (let b = 0; b < batches; b++) {
      const results = await storage().readJson<FileResult[]>(batchResultUri(input.outputUri, b));
      for (const r of results) {
        yield (first ? '\n' : ',\n') + JSON.stringify(r);
        first = false;
      }
      ctx.heartbeat(b);
    }
    yield '\n]}\n';
  }
  const info = await storage().write(manifestUri, Readable.from(chunks()));
  return { manifestUri, info };
}
