/**
 * Every workflow's failure paths, run by a real Temporal dev server against stubbed
 * activities: what fails the run (and with which non-retryable type), what is recorded
 * and the run goes on, and what is never called after a failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, ChildWorkflowFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TrainConfig } from '../src/ml/training/config.js';
import type { BuildDatasetResult } from '../src/stages/dataset.js';
import type { GridSearchInput, GridSearchResult } from '../workflows/grid-search.js';
import type { FanOutResult } from '../src/contract/fan-out.js';
import { startTestTemporal } from './helpers/temporal.js';
import {
  counting,
  datasetStub,
  deferred,
  distributedStubs,
  featureStub,
  gridStubs,
  inMemoryFanOut,
  inspected,
  NO_RETRY,
  pipelineInput,
  pipelineStubs,
  POINTS,
  SAMPLES,
  trained,
  withStubWorker,
  type Activities,
} from './helpers/workflow-stubs.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

let runs = 0;
const execute = <R>(taskQueue: string, workflow: string, input: unknown): Promise<R> =>
  env.client.workflow.execute(workflow, {
    taskQueue,
    workflowId: `${workflow}-${++runs}-${Date.now()}`,
    args: [input],
  });

/** The chain of causes of a client-side failure, outermost first. */
function causes(e: unknown): Error[] {
  const chain: Error[] = [];
  for (let c: unknown = e; c instanceof Error; c = c.cause) chain.push(c);
  return chain;
}

/** Asserts that the run failed with a non-retryable ApplicationFailure of `type`, and returns it. */
async function failsWith(run: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  const e = await run.then(
    () => assert.fail(`expected the run to fail with ${type}`),
    (err: unknown) => err,
  );
  assert.ok(e instanceof WorkflowFailedError, `a failed workflow, got ${String(e)}`);
  const failure = causes(e).find((c): c is ApplicationFailure => c instanceof ApplicationFailure && c.type === type);
  assert.ok(
    failure,
    `a ${type} failure in ${causes(e)
      .map((c) => `${c.name}: ${c.message}`)
      .join(' ← ')}`,
  );
  assert.equal(failure.nonRetryable, true, `${type} is non-retryable`);
  return failure;
}

// ---- the training side: grid search, distributed training ----

const gridInput = (extra: Partial<GridSearchInput> = {}): GridSearchInput => ({
  datasetUri: 's3://stub/dataset/',
  outputUri: 's3://stub/models/hlf',
  spec: { kind: 'hlf' },
  ...extra,
});

describe('gridSearchWorkflow', () => {
  test('a failed point is recorded with its cause and the search goes on with the others', async () => {
    const { stubs, calls } = counting(
      gridStubs(async (run) => {
        if (run.runId === 'b64')
          throw ApplicationFailure.nonRetryable('training diverged at epoch 2', 'TrainingDiverged');
        return trained(run.runId, run.runId === 'b128' ? 0.9 : 0.8);
      }),
    );
    const r = await withStubWorker(env, stubs, (q) => execute<GridSearchResult>(q, 'gridSearchWorkflow', gridInput()));
    assert.equal(r.trained, 2);
    assert.deepEqual(r.failed, [{ runId: 'b64', error: 'training diverged at epoch 2' }]);
    assert.equal(r.best.runId, 'b128');
    assert.equal(calls.evaluateTestSet, 1);
  });

  test('a point whose transient failure outlasts the retries is a failed point too', async () => {
    const r = await withStubWorker(
      env,
      gridStubs(async (run) => {
        if (run.runId === 'b32') throw new Error('storage unreachable');
        return trained(run.runId, 0.8);
      }),
      (q) => execute<GridSearchResult>(q, 'gridSearchWorkflow', gridInput({ retry: NO_RETRY })),
    );
    assert.deepEqual(r.failed, [{ runId: 'b32', error: 'storage unreachable' }]);
    assert.equal(r.trained, 2);
  });

  test('GridSearchFailed when every point fails, naming each point and cause; nothing is selected or evaluated', async () => {
    const { stubs, calls } = counting(
      gridStubs(async (run) => {
        throw ApplicationFailure.nonRetryable(`checkpoint of ${run.runId} unreadable`, 'CheckpointError');
      }),
    );
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'gridSearchWorkflow', gridInput())),
      'GridSearchFailed',
    );
    for (const id of POINTS) assert.match(f.message, new RegExp(`${id}: checkpoint of ${id} unreadable`));
    assert.equal(calls.trainModel, POINTS.length);
    assert.equal(calls.selectBestModel, undefined);
    assert.equal(calls.evaluateTestSet, undefined);
  });

  test('invalid input fails at once with InvalidWorkflowInput, before any activity', async () => {
    const { stubs, calls } = counting(gridStubs(async (run) => trained(run.runId, 0.8)));
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'gridSearchWorkflow', { ...gridInput(), pool: 'tpu' })),
      'InvalidWorkflowInput',
    );
    assert.match(f.message, /input\.pool/);
    assert.deepEqual(calls, {});
  });

  test('a distributed point whose shard fails is recorded as a failed point', async () => {
    const { stubs, calls } = counting({
      ...gridStubs(async () => assert.fail('single-worker training is not used with workers > 1')),
      ...distributedStubs((input) => {
        if (input.outputUri.endsWith('/b64'))
          throw ApplicationFailure.nonRetryable('shard 1: row group 3 unreadable', 'RootFormatError');
      }),
    });
    const r = await withStubWorker(env, stubs, (q) =>
      execute<GridSearchResult>(q, 'gridSearchWorkflow', gridInput({ workers: 2 })),
    );
    assert.equal(r.trained, 2);
    assert.equal(r.failed.length, 1);
    assert.equal(r.failed[0]?.runId, 'b64');
    assert.match(r.failed[0]?.error ?? '', /row group 3 unreadable/);
    assert.equal(calls.trainModel, undefined);
  });
});

describe('distributedTrainWorkflow', () => {
  const input = {
    runId: 'r',
    datasetUri: 's3://stub/dataset/',
    outputUri: 's3://stub/models/r',
    config: { epochs: 1 } as TrainConfig,
  };

  test('workers that are not a positive integer fail with InvalidWorkflowInput', async () => {
    const { stubs, calls } = counting(distributedStubs(() => {}));
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'distributedTrainWorkflow', { ...input, workers: 0 })),
      'InvalidWorkflowInput',
    );
    assert.match(f.message, /input\.workers: expected an integer >= 1, got 0/);
    assert.deepEqual(calls, {});
  });

  test('a shard that fails non-retryably fails the run; the round is not aggregated', async () => {
    const { stubs, calls } = counting(
      distributedStubs((s) => {
        if (s.shard === 1) throw ApplicationFailure.nonRetryable('the loss became NaN', 'TrainingDiverged');
      }),
    );
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'distributedTrainWorkflow', { ...input, workers: 2 })),
      'TrainingDiverged',
    );
    assert.match(f.message, /NaN/);
    assert.equal(calls.aggregateRound, undefined);
  });
});

// ---- the data side: the per-file fan-out, features, the pipeline ----

describe('pipelineWorkflow', () => {
  test('invalid input fails at once with InvalidWorkflowInput, before any activity', async () => {
    const { stubs, calls } = pipelineStubs();
    for (const [bad, key] of [
      [{ ...pipelineInput(), models: [] }, /input\.models/],
      [
        {
          ...pipelineInput(),
          samples: [
            { name: 'ttbar', uri: 's3://stub/a/' },
            { name: 'more', uri: 's3://stub/b/', label: 'ttbar' },
          ],
        },
        /two classes/,
      ],
      [{ ...pipelineInput(), workUri: 's3:/work' }, /input\.workUri/],
    ] as const) {
      const f = await failsWith(
        withStubWorker(env, stubs, (q) => execute(q, 'pipelineWorkflow', bad)),
        'InvalidWorkflowInput',
      );
      assert.match(f.message, key);
    }
    assert.deepEqual(calls, {});
  });

  test('a sample none of whose files can be read fails the run at the features stage with SampleFailed', async () => {
    const { stubs, calls, written } = pipelineStubs({
      prepareFileFeatures: featureStub(undefined, (uri) =>
        uri.includes('/wjets/')
          ? ApplicationFailure.nonRetryable(`${uri}: not a ROOT file (bad magic)`, 'RootFormatError')
          : undefined,
      ),
    });
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'pipelineWorkflow', pipelineInput())),
      'SampleFailed',
    );
    assert.match(f.message, /no file of 'wjets' could be read/);
    assert.match(f.message, /2× <file>: not a ROOT file \(bad magic\)/);
    // The manifest records the failures before the stage fails; nothing after it runs.
    assert.equal(written.manifests.length, 1);
    assert.equal(written.manifests[0]?.perSample[1]?.failed, 2);
    assert.equal(calls.buildDataset, undefined);
  });

  test('a class without selected events fails with EmptyClass, naming the cut flow', async () => {
    const { stubs, calls } = pipelineStubs({
      prepareFileFeatures: featureStub((_, className) => (className === 'wjets' ? 0 : 4)),
    });
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'pipelineWorkflow', pipelineInput())),
      'EmptyClass',
    );
    assert.match(f.message, /no selected events of class 'wjets': .*'wjets' read 20 events in 2 files, selected 0/);
    assert.equal(calls.buildDataset, undefined);
  });

  test('one failed file fails the run with FilesFailed unless allowFailedFiles, which completes and reports it', async () => {
    const badFile = (uri: string) =>
      uri === 's3://stub/in/ttbar/f1.root'
        ? ApplicationFailure.nonRetryable('truncated basket', 'RootFormatError')
        : undefined;
    const strict = pipelineStubs({ prepareFileFeatures: featureStub(undefined, badFile) });
    const f = await failsWith(
      withStubWorker(env, strict.stubs, (q) => execute(q, 'pipelineWorkflow', pipelineInput())),
      'FilesFailed',
    );
    assert.match(
      f.message,
      /1 input files failed and allowFailedFiles is not set: sample 'ttbar': 1 of 2 files failed: 1× truncated basket/,
    );
    assert.equal(strict.calls.buildDataset, undefined);

    const lenient = pipelineStubs({
      prepareFileFeatures: featureStub(undefined, badFile),
      buildDataset: datasetStub({ ttbar: 4, wjets: 8 }),
    });
    const report = await withStubWorker(env, lenient.stubs, (q) =>
      execute<{ features: { failed: number; allowFailedFiles: boolean }; registered: unknown[] }>(
        q,
        'pipelineWorkflow',
        pipelineInput({ allowFailedFiles: true }),
      ),
    );
    assert.equal(report.features.failed, 1);
    assert.equal(report.features.allowFailedFiles, true);
    assert.equal(report.registered.length, 1);
  });

  test('events lost between the features and the dataset fail the run with EventsLost', async () => {
    const { stubs, calls } = pipelineStubs({
      buildDataset: datasetStub({ ttbar: 8, wjets: 7 }),
    });
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'pipelineWorkflow', pipelineInput())),
      'EventsLost',
    );
    assert.equal(f.message, 'events lost between features and dataset: wjets selected 8, dataset read 7');
    assert.equal(calls.planGridSearch, undefined);
  });

  test('a model whose grid search fails fails the run; no report is written and nothing registered', async () => {
    const { stubs, calls } = pipelineStubs({
      trainModel: async () => {
        throw ApplicationFailure.nonRetryable('too few events to validate', 'DatasetTooSmall');
      },
    });
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'pipelineWorkflow', pipelineInput())),
      'GridSearchFailed',
    );
    assert.match(f.message, /too few events to validate/);
    assert.equal(calls.writePipelineReport, undefined);
    assert.equal(calls.registerModels, undefined);
  });

  test('a stage activity that fails non-retryably fails the run with its own type', async () => {
    const { stubs, calls } = pipelineStubs({
      buildDataset: async () => {
        throw ApplicationFailure.nonRetryable(
          'features manifest s3://stub/work/features/manifest.json: no parts',
          'DatasetTooSmall',
        );
      },
    });
    const f = await failsWith(
      withStubWorker(env, stubs, (q) => execute(q, 'pipelineWorkflow', pipelineInput())),
      'DatasetTooSmall',
    );
    assert.match(f.message, /manifest\.json: no parts/);
    assert.equal(calls.planGridSearch, undefined);
  });

  test('cancelling a run cancels its grid search and the training activity in flight', async () => {
    const started = deferred();
    const activityCancelled = deferred<unknown>();
    const { stubs } = pipelineStubs({
      trainModel: async () => {
        const ctx = Context.current();
        started.resolve();
        // Heartbeats carry the cancellation to the activity.
        for (;;) {
          ctx.heartbeat();
          const cancelled = await Promise.race([
            ctx.cancelled.then(
              () => undefined,
              (e: unknown) => e as Error,
            ),
            sleep(100).then(() => undefined),
          ]);
          if (cancelled) {
            activityCancelled.resolve(cancelled);
            throw cancelled;
          }
        }
      },
    });
    await withStubWorker(env, stubs, async (q) => {
      const handle = await env.client.workflow.start('pipelineWorkflow', {
        taskQueue: q,
        workflowId: `pipeline-cancel-${Date.now()}`,
        args: [pipelineInput()],
      });
      await started.promise;
      await handle.cancel();
      const e = await handle.result().then(
        () => assert.fail('a cancelled run must not complete'),
        (err: unknown) => err,
      );
      assert.ok(e instanceof WorkflowFailedError);
      // The pipeline ends FAILED with the grid search's cancellation as the cause (it
      // does not catch the child's failure to end as CANCELLED itself).
      assert.ok(
        causes(e).some((c) => c instanceof CancelledFailure),
        `cancelled, got ${causes(e).map(String).join(' ← ')}`,
      );
      assert.ok((await activityCancelled.promise) instanceof CancelledFailure);
      const grid = await env.client.workflow.getHandle(`${handle.workflowId}-grid-hlf`).describe();
      assert.equal(grid.status.name, 'CANCELLED');
    });
  });
});

describe('per-file fan-out (ingestWorkflow, scoreWorkflow, featuresWorkflow)', () => {
  const ingest = { inputUri: 's3://stub/in/', outputUri: 's3://stub/ingest', batchSize: 2, retry: NO_RETRY };

  test('a file that fails non-retryably is recorded in its batch, the totals and the failures; the run completes', async () => {
    const fanOut = inMemoryFanOut(3);
    const r = await withStubWorker(
      env,
      {
        ...fanOut.stubs,
        inspectRootFile: async (input: Parameters<Activities['inspectRootFile']>[0]) => {
          if (input.file.uri.endsWith('f1.root'))
            throw ApplicationFailure.nonRetryable(`${input.file.uri}: tree 'Delphes' not found`, 'RootFileError');
          return inspected(5);
        },
      },
      (q) => execute<FanOutResult>(q, 'ingestWorkflow', ingest),
    );
    assert.deepEqual(
      { ok: r.totals.ok, failed: r.totals.failed, entries: r.totals.counters.entries },
      { ok: 2, failed: 1, entries: 10 },
    );
    assert.deepEqual(r.failures, [
      { uri: 's3://stub/in/f1.root', error: "s3://stub/in/f1.root: tree 'Delphes' not found" },
    ]);
    const batch0 = fanOut.written.batches.get('s3://stub/ingest#0');
    assert.deepEqual(
      batch0?.map((b) => b.status),
      ['ok', 'failed'],
    );
    assert.equal(batch0?.[1]?.status === 'failed' && batch0[1].errorType, 'RootFileError');
    assert.equal(fanOut.written.manifests.length, 1);
  });

  test('a transient failure that outlasts the retries fails the run instead of marking the file bad', async () => {
    const fanOut = inMemoryFanOut(3);
    const { stubs, calls } = counting({
      ...fanOut.stubs,
      inspectRootFile: async (input: Parameters<Activities['inspectRootFile']>[0]) => {
        if (input.file.uri.endsWith('f2.root')) throw new Error('connect ECONNREFUSED 127.0.0.1:9000');
        return inspected(5);
      },
    });
    const e = await withStubWorker(env, stubs, (q) => execute(q, 'ingestWorkflow', ingest)).then(
      () => assert.fail('the run must fail'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof WorkflowFailedError);
    assert.ok(e.cause instanceof ChildWorkflowFailure, `the batch child failed, got ${String(e.cause)}`);
    assert.match(
      causes(e)
        .map((c) => c.message)
        .join(' ← '),
      /ECONNREFUSED/,
    );
    assert.equal(fanOut.written.batches.has('s3://stub/ingest#1'), false, 'the failed batch wrote no result');
    assert.equal(calls.writeManifest, undefined);
  });

  test('batches run over several continue-as-new runs add up to the same totals', async () => {
    const fanOut = inMemoryFanOut(5);
    const r = await withStubWorker(
      env,
      {
        ...fanOut.stubs,
        inspectRootFile: async () => inspected(3),
      },
      (q) => execute<FanOutResult>(q, 'ingestWorkflow', { ...ingest, batchesPerRun: 1 }),
    );
    assert.deepEqual(
      { ok: r.totals.ok, failed: r.totals.failed, entries: r.totals.counters.entries, batches: r.listing.batches },
      { ok: 5, failed: 0, entries: 15, batches: 3 },
    );
    assert.equal(fanOut.written.batches.size, 3);
  });

  test('a scored file that fails is recorded and the scores are summarised over the rest', async () => {
    const fanOut = inMemoryFanOut(2);
    const { stubs, calls } = counting({
      ...fanOut.stubs,
      scoreFile: async (input: Parameters<Activities['scoreFile']>[0]) => {
        if (input.file.uri.endsWith('f0.root'))
          throw ApplicationFailure.nonRetryable('model expects 14 features, file has 12', 'InvalidInput');
        return {
          partUri: `${input.file.uri}.scores.parquet`,
          rows: 7,
          reused: false,
          counters: { read: 10, scored: 7, accepted: 7 },
        };
      },
      summarizeScores: async () => ({ parts: 1, rows: 7 }),
    });
    const r = await withStubWorker(env, stubs, (q) =>
      execute<FanOutResult & { rows: number }>(q, 'scoreWorkflow', {
        inputUri: 's3://stub/in/',
        outputUri: 's3://stub/scores',
        modelUri: 's3://stub/model/',
        retry: NO_RETRY,
      }),
    );
    assert.equal(r.totals.failed, 1);
    assert.equal(r.rows, 7);
    assert.equal(calls.summarizeScores, 1);
  });

  test('a malformed score input fails at once with InvalidWorkflowInput naming the key, before any activity', async () => {
    const { stubs, calls } = counting(inMemoryFanOut().stubs);
    const score = { inputUri: 's3://stub/in/', outputUri: 's3://stub/scores', modelUri: 's3://stub/model/' };
    for (const [bad, key] of [
      [{ ...score, selection: { className: 'ttbar', threshold: 1.5 } }, /input\.selection\.threshold/],
      [{ ...score, modelUri: 's3:/model' }, /input\.modelUri/],
      [{ ...score, eventsPerCall: 0 }, /input\.eventsPerCall/],
    ] as const) {
      const f = await failsWith(
        withStubWorker(env, stubs, (q) => execute(q, 'scoreWorkflow', bad)),
        'InvalidWorkflowInput',
      );
      assert.match(f.message, key);
    }
    assert.deepEqual(calls, {});
  });

  test('samples that do not resolve (duplicate names) fail the features stage with InvalidWorkflowInput', async () => {
    const fanOut = inMemoryFanOut();
    const { stubs, calls } = counting(fanOut.stubs);
    const f = await failsWith(
      withStubWorker(env, stubs, (q) =>
        execute(q, 'featuresWorkflow', {
          samples: [SAMPLES[0], { ...SAMPLES[0], label: 'wjets' }],
          outputUri: 's3://stub/features',
        }),
      ),
      'InvalidWorkflowInput',
    );
    assert.match(f.message, /input\.samples\[1\]\.name/);
    assert.deepEqual(calls, {});
  });
});

describe('generateWorkflow and datasetWorkflow', () => {
  test('more files than events fails with InvalidWorkflowInput before any file is generated', async () => {
    const { stubs, calls } = counting({ generateFile: async () => assert.fail('no file may be generated') });
    const f = await failsWith(
      withStubWorker(env, stubs, (q) =>
        execute(q, 'generateWorkflow', { outputUri: 's3://stub/gen/', events: 2, files: 3 }),
      ),
      'InvalidWorkflowInput',
    );
    assert.match(f.message, /events must be an integer >= files \(3\), got 2/);
    assert.deepEqual(calls, {});
  });

  test('a file that cannot be generated fails the run with its cause', async () => {
    const f = await failsWith(
      withStubWorker(
        env,
        {
          generateFile: async (input: Parameters<Activities['generateFile']>[0]) => {
            throw ApplicationFailure.nonRetryable(`${input.uri}: access denied (HTTP 403)`, 'PermanentStorageError');
          },
        },
        (q) => execute(q, 'generateWorkflow', { outputUri: 's3://stub/gen/', events: 10, files: 2 }),
      ),
      'PermanentStorageError',
    );
    assert.match(f.message, /access denied/);
  });

  test("a dataset that cannot be built fails the run with the activity's type", async () => {
    const f = await failsWith(
      withStubWorker(
        env,
        {
          buildDataset: async (input: Parameters<Activities['buildDataset']>[0]) => {
            if (input.kind === 'full')
              throw ApplicationFailure.nonRetryable(
                'class wjets has 3 events, too few for a test split',
                'DatasetTooSmall',
              );
            return {} as BuildDatasetResult;
          },
        },
        (q) => execute(q, 'datasetWorkflow', { featuresUri: 's3://stub/features/', outputUri: 's3://stub/datasets' }),
      ),
      'DatasetTooSmall',
    );
    assert.match(f.message, /too few for a test split/);
  });
});
