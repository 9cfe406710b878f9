/**
 * Running the real workflows against stubbed activities: one workflow bundle per test
 * process, one worker per test on its own task queue, and an in-memory stand-in for the
 * per-file fan-out's storage activities (listing, batches, manifest).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type * as activities from '../../activities/index.js';
import type { FileRef, FileResult, InputSource, Listing } from '../../workflows/file-batches-types.js';

export type Activities = typeof activities;
export type ActivityStubs = Partial<Activities>;

const workflowsPath = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflows as the pool worker bundles them, built once: bundling takes seconds. */
export const workflowBundle = (): Promise<WorkflowBundleWithSourceMap> =>
  (bundle ??= bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') }));

/**
 * Runs `body` while a worker serves the workflows with `stubs` as its only activities,
 * on a task queue of its own so that no other test's worker picks up its tasks.
 */
export async function withStubWorker<T>(
  env: TestWorkflowEnvironment,
  stubs: ActivityStubs,
  body: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `stubs-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: stubs,
    // Stubs that wait for their cancellation heartbeat; the default throttle (80% of the
    // heartbeat timeout) would only slow the cancellation tests down.
    maxHeartbeatThrottleInterval: '200 ms',
  });
  return worker.runUntil(body(taskQueue));
}

/**
 * The fan-out's storage activities kept in memory: a prefix source (ending in /) lists
 * `filesPerPrefix` files `<prefix>f<k>.root`, a file source itself. `written` records
 * what the workflows wrote, for assertions.
 */
export function inMemoryFanOut(filesPerPrefix = 2) {
  const listings = new Map<string, { files: FileRef[]; batchSize: number }>();
  const written = { batches: new Map<string, FileResult[]>(), manifests: [] as Parameters<Activities['writeManifest']>[0][] };
  const stubs = {
    async listInputFiles(input: { sources: readonly InputSource[]; outputUri: string; batchSize: number }): Promise<Listing> {
      const files = input.sources.flatMap((s, i): FileRef[] => {
        const uris = s.uri.endsWith('/') ? Array.from({ length: filesPerPrefix }, (_, k) => `${s.uri}f${k}.root`) : [s.uri];
        return uris.map((uri) => ({ uri, size: 100, etag: `"${uri}"`, sample: s.sample ?? 0, rel: `${i}/${uri.slice(uri.lastIndexOf('/') + 1)}` }));
      });
      listings.set(input.outputUri, { files, batchSize: input.batchSize });
      return { files: files.length, batches: Math.ceil(files.length / input.batchSize), bytes: files.length * 100 };
    },
    async readListingBatch(input: { outputUri: string; batch: number }): Promise<FileRef[]> {
      const listing = listings.get(input.outputUri);
      assert.ok(listing, `${input.outputUri} was listed before its batches are read`);
      return listing.files.slice(input.batch * listing.batchSize, (input.batch + 1) * listing.batchSize);
    },
    async writeBatchResult(input: { outputUri: string; batch: number; results: FileResult[] }): Promise<string> {
      written.batches.set(`${input.outputUri}#${input.batch}`, input.results);
      return `${input.outputUri}/batches/${input.batch}.json`;
    },
    async writeManifest(input: Parameters<Activities['writeManifest']>[0]): Promise<{ manifestUri: string }> {
      written.manifests.push(input);
      return { manifestUri: `${input.outputUri}/manifest.json` };
    },
  } satisfies ActivityStubs;
  return { stubs, written };
}

/** A promise with its resolve at hand, for a stub that waits on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}
