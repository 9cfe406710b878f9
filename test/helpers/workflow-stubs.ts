/**
 * Running the real workflows against stubbed activities: one workflow bundle per test
 * process, one worker per test on its own task queue, and an in-memory stand-in for the
 * per-file fan-out's storage activities (listing, batches, manifest).
 */
import assert from 'node:assert/strict';
import { DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../activities/index.js';
import type { FileRef, FileResult, InputSource, Listing } from '../../src/contract/fan-out.js';
import type { TrainConfig } from '../../src/ml/training/config.js';
import type { TrainRunResult } from '../../src/contract/training.js';
import type { EvaluateResult } from '../../src/stages/evaluate.js';
import type { BuildDatasetResult } from '../../src/stages/dataset.js';
import type { PipelineInput } from '../../workflows/pipeline.js';
import type { RoundPosition } from '../../src/contract/distributed-rounds.js';
import { bundleWorkflows } from '../../src/temporal/workflow-bundle.js';
import { withQueueWorker } from './test-worker.js';

export type { Activities };
export type ActivityStubs = Partial<Activities>;

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflows as the pool worker bundles them, built once: bundling takes seconds. */
export const workflowBundle = (): Promise<WorkflowBundleWithSourceMap> =>
  (bundle ??= bundleWorkflows(new DefaultLogger('WARN')));

/**
 * Runs `body` while a worker serves the workflows with `stubs` as its only activities,
 * on a task queue of its own so that no other test's worker picks up its tasks.
 */
export async function withStubWorker<T>(
  env: TestWorkflowEnvironment,
  stubs: ActivityStubs,
  body: (taskQueue: string) => Promise<T>,
): Promise<T> {
  return withQueueWorker(
    env,
    'stubs',
    {
      workflowBundle: await workflowBundle(),
      activities: stubs,
      // Stubs that wait for their cancellation heartbeat; the default throttle (80% of the
      // heartbeat timeout) would only slow the cancellation tests down.
      maxHeartbeatThrottleInterval: '200 ms',
    },
    body,
  );
}

/**
 * The fan-out's storage activities kept in memory: a prefix source (ending in /) lists
 * `filesPerPrefix` files `<prefix>f<k>.root`, a file source itself. `written` records
 * what the workflows wrote, for assertions.
 */
export function inMemoryFanOut(filesPerPrefix = 2) {
  const listings = new Map<string, { files: FileRef[]; batchSize: number }>();
  const written = {
    batches: new Map<string, FileResult[]>(),
    manifests: [] as Parameters<Activities['writeManifest']>[0][],
  };
  const stubs = {
    async listInputFiles(input: {
      sources: readonly InputSource[];
      outputUri: string;
      batchSize: number;
    }): Promise<Listing> {
      const files = input.sources.flatMap((s, i): FileRef[] => {
        const uris = s.uri.endsWith('/')
          ? Array.from({ length: filesPerPrefix }, (_, k) => `${s.uri}f${k}.root`)
          : [s.uri];
        return uris.map((uri) => ({
          uri,
          size: 100,
          etag: `"${uri}"`,
          sample: s.sample ?? 0,
          rel: `${i}/${uri.slice(uri.lastIndexOf('/') + 1)}`,
        }));
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
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** One attempt for transient failures: the retryable-failure tests end at once. */
export const NO_RETRY = { initialInterval: '1 second', maximumInterval: '1 second', budget: '0 seconds' } as const;
/** Records each stub's calls, to check what a failure stopped. */
export function counting<S extends ActivityStubs>(stubs: S): { stubs: S; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const wrapped = Object.fromEntries(
    Object.entries(stubs).map(([name, f]) => [
      name,
      (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return (f as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  );
  return { stubs: wrapped as S, calls };
}

// ---- the training side ----

export const POINTS = ['b32', 'b64', 'b128'];
export const trained = (runId: string, valMeanAuc: number): TrainRunResult => ({
  runId,
  modelUri: `s3://stub/models/${runId}/model/`,
  metrics: { valLoss: 1 - valMeanAuc, valMeanAuc, valAccuracy: valMeanAuc },
  backend: 'stub',
  epochsCompleted: 1,
  resumedFromEpoch: 0,
  samplesPerSecond: 1,
  trainSeconds: 1,
});
export const evaluation: EvaluateResult = {
  reportUri: 's3://stub/evaluation.json',
  plotUri: 's3://stub/roc.svg',
  samples: 10,
  accuracy: 0.9,
  auc: { a: 0.95, b: 0.95 },
  confusion: [
    [5, 0],
    [1, 4],
  ],
};

/** Grid-search activities whose `trainModel` is the test's. */
export const gridStubs = (trainModel: Activities['trainModel']) =>
  ({
    planGridSearch: async () => POINTS.map((id) => ({ id, params: { batchSize: 32 }, config: {} as TrainConfig })),
    trainModel,
    selectBestModel: async (input: Parameters<Activities['selectBestModel']>[0]) => {
      const best = [...input.outcomes].sort(
        (a, b) => (b.metrics[input.metric] ?? 0) - (a.metrics[input.metric] ?? 0),
      )[0];
      assert.ok(best, 'selectBestModel is only called with outcomes');
      return { best, tableUri: `${input.outputUri}/table.csv` };
    },
    evaluateTestSet: async () => evaluation,
  }) satisfies ActivityStubs;

/** Distributed-training activities: `rounds` rounds over 4 row groups, 2 per worker; `shard` may throw. */
export function distributedStubs(shard: (input: Parameters<Activities['trainShardRound']>[0]) => void, rounds = 1) {
  // As the real round state in storage: a run continued as new resumes where it was.
  const reached = new Map<string, RoundPosition>();
  return {
    planDistributedTraining: async (input: Parameters<Activities['planDistributedTraining']>[0]) => ({
      totalGroups: 4,
      groupsPerWorker: 2,
      epochs: 1,
      position: reached.get(input.outputUri) ?? { round: 0, epoch: 0, cursor: 0 },
    }),
    trainShardRound: async (input: Parameters<Activities['trainShardRound']>[0]) => {
      shard(input);
      return {} as Awaited<ReturnType<Activities['trainShardRound']>>;
    },
    aggregateRound: async (input: Parameters<Activities['aggregateRound']>[0]) => {
      const runId = input.outputUri.slice(input.outputUri.lastIndexOf('/') + 1);
      const round = input.position.round + 1;
      if (round < rounds) {
        reached.set(input.outputUri, { round, epoch: 0, cursor: 0 });
        return { next: { round, epoch: 0, cursor: 0 } };
      }
      return {
        next: { round, epoch: 1, cursor: 0 },
        result: {
          ...trained(runId, 0.8),
          bestEpoch: 0,
          workersPerRound: [[input.span.shards, 1]],
          totals: {} as never,
        },
      };
    },
  } satisfies ActivityStubs;
}

// ---- the data side ----

/**
 * prepareFileFeatures: `rows` selected events of each class the file holds (its sample's
 * class, or every class of a sidecar-labelled file) out of 10 read, unless `fail` gives an error.
 */
export function featureStub(
  rows: (uri: string, className: string) => number = () => 4,
  fail: (uri: string) => Error | undefined = () => undefined,
) {
  return async (input: Parameters<Activities['prepareFileFeatures']>[0]) => {
    const error = fail(input.file.uri);
    if (error) throw error;
    const label = input.labels[input.file.sample ?? 0];
    assert.ok(label, `file ${input.file.uri} of sample ${input.file.sample} has a label source`);
    const classes = label.from === 'class' ? [label.className] : label.classes;
    const perClass = Object.fromEntries(classes.map((c) => [`class:${c}`, rows(input.file.uri, c)]));
    const n = Object.values(perClass).reduce((a, b) => a + b, 0);
    return {
      partUri: `${input.outputUri}/parts/${input.file.rel}.parquet`,
      counters: { read: 10, rows: n, ...perClass },
      rows: n,
      reused: false,
    };
  };
}

/** buildDataset over a features run that selected `available` events per class. */
export const datasetStub =
  (available: Record<string, number>) =>
  async (input: Parameters<Activities['buildDataset']>[0]): Promise<BuildDatasetResult> => {
    const classes = Object.keys(available);
    const perClass = Math.min(...Object.values(available));
    const split = (f: number) => Object.fromEntries(classes.map((c) => [c, Math.round(perClass * f)]));
    return {
      datasetUri: `${input.outputUri}/`,
      kind: input.kind ?? 'dev',
      parts: 4,
      classes,
      perClass,
      available,
      counts: { train: split(0.75), test: split(0.25) },
      configHash: 'stub',
    };
  };

export const SAMPLES = [
  { name: 'ttbar', uri: 's3://stub/in/ttbar/' },
  { name: 'wjets', uri: 's3://stub/in/wjets/' },
];

/** Every activity of a pipeline run over SAMPLES (two files each, 4 rows per file). */
export function pipelineStubs(over: ActivityStubs = {}) {
  const fanOut = inMemoryFanOut();
  const stubs = counting({
    ...fanOut.stubs,
    ...gridStubs(async (run) => trained(run.runId, 0.8)),
    prepareFileFeatures: featureStub(),
    buildDataset: datasetStub({ ttbar: 8, wjets: 8 }),
    writePipelineReport: async (input: { workUri: string }) => ({
      jsonUri: `${input.workUri}/report.json`,
      markdownUri: `${input.workUri}/report.md`,
      htmlUri: `${input.workUri}/report.html`,
    }),
    registerModels: async (input: Parameters<Activities['registerModels']>[0]) =>
      input.models.map((m) => ({ name: m.name, version: 1, modelUri: m.modelUri })),
    ...over,
  } satisfies ActivityStubs);
  return { ...stubs, written: fanOut.written };
}

export const pipelineInput = (extra: Partial<PipelineInput> = {}): PipelineInput => ({
  workUri: 's3://stub/work',
  samples: SAMPLES,
  models: [{ name: 'hlf', spec: { kind: 'hlf' } }],
  retry: NO_RETRY,
  ...extra,
});

/** What inspectRootFile says of a readable file of `entries` events. */
export const inspected = (entries: number) => ({
  treeName: 'Delphes',
  entries,
  branches: ['Event'],
  stats: {},
  counters: { entries },
});
