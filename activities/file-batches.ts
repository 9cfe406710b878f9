/**
 * The storage side of the per-file fan-out (workflows/file-batches.ts): the listing
 * written in batches, each batch's results, and the manifest streamed from them, so the
 * workflow history carries counts only, however many files there are.
 */
import { Readable } from 'node:stream';
import type { Storage } from '../src/storage/index.js';
import { toActivityFailure } from '../src/contract/errors.js';
import { fanOutFiles } from '../src/contract/run-layout.js';
import { listSources } from '../src/stages/listing.js';
import type {
  FileRef,
  FileResult,
  FileTask,
  InputSource,
  Listing,
  SampleTally,
  Totals,
} from '../src/contract/fan-out.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

type ListInput = { sources: readonly InputSource[]; outputUri: string; suffix: string; batchSize: number };

export interface WriteManifestInput {
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
}

export const fileBatchActivities = ({ storage }: ActivityDeps) => ({
  /**
   * Lists the input files and stores the listing in batches, so the workflow history
   * carries only counts, however many files there are.
   */
  async listInputFiles(input: ListInput): Promise<Listing> {
    return withHeartbeat((report) => list(storage, input, report));
  },

  async readListingBatch(input: { outputUri: string; batch: number }): Promise<FileRef[]> {
    return withHeartbeat(() => storage.readJson<FileRef[]>(fanOutFiles(input.outputUri).listingBatch(input.batch)));
  },

  async writeBatchResult(input: { outputUri: string; batch: number; results: FileResult[] }): Promise<string> {
    const uri = fanOutFiles(input.outputUri).batchResult(input.batch);
    await withHeartbeat(() => storage.writeJson(uri, input.results));
    return uri;
  },

  /**
   * Streams the batch results into one manifest, one batch in memory at a time, so the
   * manifest of a million files costs no more memory than that of a hundred.
   */
  async writeManifest(input: WriteManifestInput): Promise<{ manifestUri: string }> {
    return withHeartbeat((report) => writeManifestWith(storage, input, report));
  },
});

async function list(storage: Storage, input: ListInput, report: (d: unknown) => void): Promise<Listing> {
  const files = fanOutFiles(input.outputUri);
  let batch: FileRef[] = [];
  let batches = 0;
  let count = 0;
  let bytes = 0;
  const flush = async () => {
    await storage.writeJson(files.listingBatch(batches), batch);
    batches++;
    batch = [];
    report({ files: count, batches });
  };
  try {
    for await (const o of listSources(storage, input.sources, input.suffix)) {
      batch.push(o);
      count++;
      bytes += o.size;
      if (batch.length === input.batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } catch (e) {
    throw toActivityFailure(e);
  }
  return { files: count, batches, bytes };
}

async function writeManifestWith(
  storage: Storage,
  input: WriteManifestInput,
  report: (d: unknown) => void,
): Promise<{ manifestUri: string }> {
  const files = fanOutFiles(input.outputUri);
  const { batches, header: extra, ...common } = input;
  const header = { ...common, ...extra };
  async function* chunks(): AsyncGenerator<string> {
    yield JSON.stringify({ ...header, finishedAt: new Date().toISOString() }).slice(0, -1);
    yield ',"files":[';
    let first = true;
    for (let b = 0; b < batches; b++) {
      for (const r of await storage.readJson<FileResult[]>(files.batchResult(b))) {
        yield (first ? '\n' : ',\n') + JSON.stringify(r);
        first = false;
      }
      report(b);
    }
    yield '\n]}\n';
  }
  await storage.write(files.manifest, Readable.from(chunks()));
  return { manifestUri: files.manifest };
}
