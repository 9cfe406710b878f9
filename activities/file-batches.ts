import { Readable } from 'node:stream';
import { storage } from '../src/storage/index.js';
import { fanOutFiles } from '../src/contract/layout.js';
import { nonRetryable } from '../src/contract/errors.js';
import { listSources } from '../src/stages/listing.js';
import type { FileRef, FileResult, FileTask, InputSource, Listing, SampleTally, Totals } from '../src/contract/fan-out.js';
import { withHeartbeat } from './heartbeat.js';

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
    await storage().writeJson(fanOutFiles(input.outputUri).listingBatch(batches), batch);
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
  return withHeartbeat(() => storage().readJson<FileRef[]>(fanOutFiles(input.outputUri).listingBatch(input.batch)));
}

export async function writeBatchResult(input: { outputUri: string; batch: number; results: FileResult[] }): Promise<string> {
  const uri = fanOutFiles(input.outputUri).batchResult(input.batch);
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
  const files = fanOutFiles(input.outputUri);
  const manifestUri = files.manifest;
  const { batches, header: extra, ...common } = input;
  const header = { ...common, ...extra };
  async function* chunks(): AsyncGenerator<string> {
    yield JSON.stringify({ ...header, finishedAt: new Date().toISOString() }).slice(0, -1);
    yield ',"files":[';
    let first = true;
    for (let b = 0; b < batches; b++) {
      for (const r of await storage().readJson<FileResult[]>(files.batchResult(b))) {
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
