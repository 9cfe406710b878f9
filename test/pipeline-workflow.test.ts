import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { storage, type Storage } from '../src/storage/index.js';
import type { PipelineInput } from '../workflows/pipeline.js';
import type { GridSearchInput, GridSearchResult } from '../workflows/grid-search.js';
import type { FanOutResult, FileResult } from '../src/contract/fan-out.js';
import type { PipelineReport } from '../src/stages/report.js';
import type { PrepareFileFeaturesResult } from '../src/stages/features.js';
import type { BuildDatasetResult } from '../src/stages/dataset.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { ModelRegistry } from '../src/registry/registry.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, startWorkerProcess, type TestWorker } from './helpers/test-worker.js';
import { until } from './helpers/until.js';

let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;
let report: PipelineReport & { reportUri: string; registered: { name: string; version: number; modelUri: string }[] };

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
});

const work = () => `s3://${s3.bucket}/pipeline`;

test('pipelineWorkflow: generate → features → dataset → HLF grid search → evaluation', async () => {
  const input: PipelineInput = {
    workUri: work(),
    registryUri: `s3://${s3.bucket}/registry`,
    // QCD-heavy: the isolated-lepton filter keeps ~10% of QCD and the dataset is balanced.
    generate: { events: 6000, files: 2, seed: 5, mix: 'qcd=0.7,ttbar=0.15,wjets=0.15' },
    models: [
      {
        name: 'hlf',
        spec: { kind: 'hlf', training: { epochs: 4 } },
        grid: {
          batch: [32, 64],
          layers: [
            [50, 20, 10],
            [20, 10, 5],
          ],
        },
        pointsInFlight: 2,
      },
    ],
  };
  report = await env.client.workflow.execute('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'pipeline-1',
    args: [input],
  });
  const c = report.features.counters;
  assert.equal(c.read, 6000);
  assert.ok(c.withIsolatedLepton! > 1000 && c.withIsolatedLepton! < 4000, `selected ${c.withIsolatedLepton}`);
  assert.equal(c.rows, c.withIsolatedLepton);
  assert.ok(report.dataset.perClass > 200, `per class ${report.dataset.perClass}`);
  const [hlf] = report.models;
  assert.equal(hlf!.trained, 4);
  assert.match(hlf!.best.runId, /^b(32|64)-l/);
  assert.ok(hlf!.best.metrics.valMeanAuc! > 0.9);
  for (const [cls, auc] of Object.entries(hlf!.evaluation.auc)) assert.ok(auc > 0.9 && auc < 1, `${cls} AUC ${auc}`);
  assert.ok(hlf!.evaluation.accuracy > 0.75);
  const md = Buffer.from(await store.readAll(report.reportUri)).toString();
  assert.match(md, /\| hlf \(hlf\) \| b(32|64)-l/);
  assert.ok(await store.head(hlf!.evaluation.plotUri), 'ROC plot stored');
  // The best model is in the registry with its lineage.
  const entry = await new ModelRegistry(store, `s3://${s3.bucket}/registry`).get('hlf');
  assert.deepEqual(report.registered, [{ name: 'hlf', version: 1, modelUri: entry.modelUri }]);
  assert.equal(entry.dataset?.uri, report.dataset.datasetUri);
  assert.deepEqual(entry.metrics.test, { accuracy: hlf!.evaluation.accuracy, auc: hlf!.evaluation.auc });
});

test('featuresWorkflow reruns reuse every complete part (content-addressed)', async () => {
  const r: FanOutResult = await env.client.workflow.execute('featuresWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'features-rerun',
    args: [
      { samples: [{ name: 'generated', uri: `${work()}/input/`, sidecar: true }], outputUri: `${work()}/features` },
    ],
  });
  assert.deepEqual(r.totals.counters, report.features.counters);
  const manifest = await store.readJson<{ files: FileResult<PrepareFileFeaturesResult>[] }>(r.manifestUri);
  assert.equal(manifest.files.length, 2);
  for (const f of manifest.files) assert.ok(f.status === 'ok' && f.outcome.reused, `${f.file.uri} reused`);
});

// Real Delphes files (missing collections, empty classes, per-class samples): test/samples-pipeline.test.ts.

test('datasetWorkflow builds a capped dev dataset and the full one from the same parts', async () => {
  const r: { dev: BuildDatasetResult; full: BuildDatasetResult } = await env.client.workflow.execute(
    'datasetWorkflow',
    {
      taskQueue: CPU_TASK_QUEUE,
      workflowId: 'datasets',
      args: [{ featuresUri: `${work()}/features`, outputUri: `${work()}/datasets`, devEvents: 600 }],
    },
  );
  assert.equal(r.full.perClass, report.dataset.perClass, 'same parts, same balance as the pipeline');
  assert.equal(r.dev.perClass, 200);
  const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  assert.equal(total(r.dev.counts.train) + total(r.dev.counts.test), 600);
  assert.ok(await store.head(`${work()}/datasets/full/metadata.json`));
});

const gpuWorkerProcess = () => startWorkerProcess(env, 'gpu', s3.env);

test('training on the GPU pool survives a killed worker: the retry resumes from the last checkpoint', async () => {
  const input: GridSearchInput = {
    datasetUri: report.dataset.datasetUri,
    outputUri: `${work()}/crash`,
    spec: { kind: 'particle-sequence', model: { maxLen: 40 }, training: { epochs: 5, batchSize: 16 } },
    grid: {},
    pool: 'gpu',
    // The retry starts this long after the killed worker's last heartbeat, which the test
    // waits out: four of the activity's 5-s timer heartbeats (loading included), fewer than
    // a loaded machine misses, against the policy's 30 s. The kill itself waits for an
    // observable checkpoint rather than for time to pass.
    heartbeatTimeout: '20 seconds',
  };
  const first = gpuWorkerProcess();
  const handle = await env.client.workflow.start('gridSearchWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'crash-resume',
    args: [input],
  });
  const checkpoints = `${work()}/crash/runs/default/checkpoints/`;
  await until(
    async () => {
      for await (const o of store.list(checkpoints)) if (o.uri.endsWith('/COMPLETE')) return true;
      return false;
    },
    { what: `a complete checkpoint under ${checkpoints}`, deadline: 10 * 60_000 },
  );
  await first.kill();
  const second = gpuWorkerProcess();
  try {
    const r = (await handle.result()) as GridSearchResult;
    assert.equal(r.best.epochsCompleted, 5);
    assert.ok(
      r.best.resumedFromEpoch >= 1 && r.best.resumedFromEpoch < 5,
      `resumed after ${r.best.resumedFromEpoch} epochs`,
    );
    const history = await handle.fetchHistory();
    const attempts = history
      .events!.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.ok(
      attempts.some((a) => (a ?? 1) > 1),
      'the training activity was retried',
    );
    for (const auc of Object.values(r.evaluation.auc)) assert.ok(auc > 0.5, `AUC ${auc}`);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
});
