// Following runs: search attributes, memo, summaries and progress queries on a real dev
// server; cancel → CANCELED with training stopped between batches; the no-worker warning.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { trainActivities } from '../activities/train.js';
import { storage } from '../src/storage/index.js';
import type { PipelineInput, PipelineModel } from '../workflows/pipeline.js';
import type { GridSearchInput } from '../workflows/grid-search.js';
import type { PipelineReport } from '../src/stages/report.js';
import { progressQuery } from '../workflows/progress.js';
import type { TrainHeartbeat } from '../src/contract/progress.js';
import { SEARCH_ATTRIBUTES } from '../src/contract/search-attributes.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { HEARTBEAT_INTERVAL_MS } from '../src/contract/policies.js';
import { collectProgress, followRun, queuesOf, renderProgress } from '../cli/run-progress.js';
import { statusCommand } from '../cli/commands/status.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, startQueueWorker, type TestWorker } from './helpers/test-worker.js';
import { until } from './helpers/until.js';

let s3: TestS3;
let env: TestWorkflowEnvironment;
let client: Client;
let worker: TestWorker;

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  env = await startTestTemporal();
  client = env.client;
  // The CLI's status command connects the standard way.
  Object.assign(process.env, { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', HEPFLOW_STACK: 'none' });
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
});

/** A writable stream that keeps what is written, as a terminal would show it (no TTY). */
function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join('') });
}

const hlf = ({ epochs, ...o }: Partial<PipelineModel> & { epochs: number }): PipelineModel => ({
  name: 'hlf',
  spec: { kind: 'hlf', training: { epochs } },
  grid: { batch: [32, 64] },
  pointsInFlight: 2,
  ...o,
});

const PIPELINE_ID = 'visible-pipeline';
let datasetUri: string;

test('a finished pipeline: search attributes listable by query, memo, summaries, progress queries', async () => {
  const input: PipelineInput = {
    workUri: `s3://${s3.bucket}/visible`,
    register: false,
    generate: { events: 6000, files: 2, seed: 5, mix: 'qcd=0.7,ttbar=0.15,wjets=0.15' },
    models: [hlf({ epochs: 2 })],
  };
  const report: PipelineReport = await client.workflow.execute('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: PIPELINE_ID,
    args: [input],
  });
  datasetUri = report.dataset.datasetUri;
  const aucs = Object.values(report.models[0]!.evaluation.auc);
  const meanAuc = aucs.reduce((s, x) => s + x, 0) / aucs.length;

  const d = await client.workflow.getHandle(PIPELINE_ID).describe();
  const sa = d.typedSearchAttributes;
  assert.equal(sa.get(SEARCH_ATTRIBUTES.stage), 'done');
  assert.deepEqual(sa.get(SEARCH_ATTRIBUTES.samples), ['generated']);
  assert.equal(sa.get(SEARCH_ATTRIBUTES.model), 'hlf');
  assert.ok(
    Math.abs(sa.get(SEARCH_ATTRIBUTES.bestAuc)! - meanAuc) < 1e-9,
    `best AUC ${sa.get(SEARCH_ATTRIBUTES.bestAuc)} vs ${meanAuc}`,
  );
  const memo = d.memo?.config as { models: string[]; input: string; workUri: string };
  assert.deepEqual(memo.models, ['hlf (hlf, cpu)']);
  assert.match(memo.input, /^generated: 6000 events in 2 files/);

  // Listable with a visibility query on the new columns (visibility follows the run shortly after).
  const query = `WorkflowType = 'pipelineWorkflow' AND HepflowStage = 'done' AND HepflowModel = 'hlf' AND HepflowBestAuc > 0.5 AND HepflowSamples = 'generated'`;
  const listed = await until(
    async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
      return ids.length > 0 ? ids : undefined;
    },
    { what: 'the pipeline in the visibility store', deadline: 10 * 60_000 },
  );
  assert.deepEqual(listed, [PIPELINE_ID]);
  const grids: string[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = 'gridSearchWorkflow' AND HepflowModel = 'hlf' AND HepflowStage = 'done'`,
  }))
    grids.push(w.workflowId);
  assert.deepEqual(grids, [`${PIPELINE_ID}-grid-hlf`]);

  // Children's static summaries; each training activity's summary names its point and hyper-parameters.
  const grid = client.workflow.getHandle(`${PIPELINE_ID}-grid-hlf`);
  assert.equal(await (await grid.describe()).staticSummary(), 'grid search hlf (hlf) on the cpu pool');
  const summaries = (await grid.fetchHistory())
    .events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel')
    .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!))
    .sort();
  assert.equal(summaries.length, 2);
  assert.match(summaries[0]!, /^hlf b32\S*: batchSize=32$/);
  assert.match(summaries[1]!, /^hlf b64\S*: batchSize=64$/);
  const batch = (await client.workflow.getHandle(`${PIPELINE_ID}-features-batch-0`).fetchHistory())
    .events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prepareFileFeatures')
    .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
  assert.equal(batch.length, 2);
  for (const s of batch) assert.match(s, /^prepareFileFeatures \S+\.root$/);

  // The progress queries answer on the finished runs too.
  const p = await client.workflow.getHandle(PIPELINE_ID).query(progressQuery);
  assert.equal(p.kind, 'pipeline');
  assert.equal(p.stage, 'done');
  assert.deepEqual(p.children, []);
  // The UI's "current details" on the workflow page say the same.
  const meta = await client.workflow
    .getHandle(PIPELINE_ID)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  assert.equal(meta.currentDetails, 'pipeline: done');
  const f = await client.workflow.getHandle(`${PIPELINE_ID}-features`).query(progressQuery);
  assert.deepEqual(
    { total: f.files?.total, done: f.files?.done, failed: f.files?.failed, events: f.files?.events },
    { total: 2, done: 2, failed: 0, events: 6000 },
  );
  const gen = await client.workflow.getHandle(`${PIPELINE_ID}-generate`).query(progressQuery);
  assert.deepEqual(
    { stage: gen.stage, total: gen.files?.total, done: gen.files?.done, events: gen.files?.events },
    { stage: 'done', total: 2, done: 2, events: 6000 },
  );
  const g = await grid.query(progressQuery);
  assert.equal(g.model, 'hlf');
  assert.deepEqual(g.points!.map((x) => [x.params.batchSize, x.status]).sort(), [
    [32, 'done'],
    [64, 'done'],
  ]);
  assert.ok(g.points!.every((x) => x.valMeanAuc! > 0.5));
  assert.match(
    renderProgress(await collectProgress(client, `${PIPELINE_ID}-features`)).join('\n'),
    /^features: done — 2\/2 files, 6,000 events, [\d,]+ events\/s \[COMPLETED\]$/,
  );
});

test('cancelling a grid search ends it CANCELED and stops its training between two batches', async () => {
  assert.ok(datasetUri, "needs the first test's dataset");
  let outcome: unknown;
  const { trainModel } = trainActivities({ storage: storage(), env: process.env });
  const trainer = await startQueueWorker(env, 'visible-training', {
    maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL_MS,
    activities: {
      trainModel: async (input: Parameters<typeof trainModel>[0]) => {
        try {
          return await trainModel(input);
        } catch (e) {
          outcome = e;
          throw e;
        }
      },
    },
  });
  try {
    // More epochs than any test machine finishes: only the cancel ends it.
    const input: GridSearchInput = {
      name: 'long-hlf',
      datasetUri,
      outputUri: `s3://${s3.bucket}/visible/cancel`,
      spec: { kind: 'hlf', training: { epochs: 100_000 } },
      grid: { batch: [32] },
      pool: 'gpu',
      gpuTaskQueue: trainer.taskQueue,
    };
    const handle = await client.workflow.start('gridSearchWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId: 'visible-cancel',
      args: [input],
    });
    // The heartbeat says how far training is, with totals and the grid point.
    const beat = await until(
      async () => {
        const { raw } = await handle.describe();
        const payloads = raw.pendingActivities?.[0]?.heartbeatDetails?.payloads;
        const h = payloads ? defaultPayloadConverter.fromPayload<TrainHeartbeat | undefined>(payloads[0]!) : undefined;
        return h?.epochs ? h : undefined;
      },
      { what: 'a training heartbeat with progress', deadline: 10 * 60_000 },
    );
    assert.equal(beat.epochs, 100_000);
    assert.ok(beat.batchesPerEpoch > 0, `batches per epoch ${beat.batchesPerEpoch}`);
    assert.match(beat.point, /^b32/);
    assert.deepEqual(beat.params, { batchSize: 32 });
    const g = await handle.query(progressQuery);
    assert.deepEqual(
      g.points!.map((x) => x.status),
      ['running'],
    );
    assert.match(
      renderProgress(await collectProgress(client, 'visible-cancel')).join('\n'),
      /long-hlf: training[^\n]*\n {2}b32\S* \(batchSize=32\): epoch \d+\/100000, batch \d+\/\d+/,
    );

    await handle.cancel();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `ended with ${String(err)}`);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    // The search waited for training to stop; it stopped at a batch boundary.
    assert.ok(outcome instanceof CancelledFailure, `training ended with ${String(outcome)}`);
    assert.match((outcome as Error).message, /stopped during epoch \d+ before batch \d+/);
  } finally {
    await trainer.stop();
  }
});

test('a pipeline waiting on a queue without workers: warned about by the display and status; cancel → CANCELED', async () => {
  assert.ok(datasetUri, "needs the first test's input files");
  const nobody = 'visible-nobody-gpu';
  const input: PipelineInput = {
    workUri: `s3://${s3.bucket}/visible-waiting`,
    register: false,
    samples: [{ name: 'generated', uri: `s3://${s3.bucket}/visible/input/`, sidecar: true }],
    models: [hlf({ epochs: 1, pool: 'gpu', gpuTaskQueue: nobody })],
  };
  const handle = await client.workflow.start('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'visible-waiting',
    args: [input],
  });
  const out = capture();
  let stop!: () => void;
  const done = new Promise<void>((r) => {
    stop = r;
  });
  const following = followRun(client, handle, done, {
    queues: queuesOf(input, CPU_TASK_QUEUE),
    noWorkerAfterMs: 0,
    intervalMs: 200,
    out,
  });
  await until(async () => out.text().includes('warning:'), { what: 'the warning', deadline: 10 * 60_000 });
  // Training is scheduled on the queue nobody serves: the run waits there.
  await until(async () => (await handle.query(progressQuery)).stage === 'training', {
    what: 'the training stage',
    deadline: 10 * 60_000,
  });
  await until(async () => /pipeline: training/.test(out.text()), {
    what: 'the display at the training stage',
    deadline: 10 * 60_000,
  });
  stop();
  await following;
  const text = out.text();
  assert.match(
    text,
    /warning: no worker on visible-nobody-gpu: start `hepflow worker gpu --task-queue visible-nobody-gpu`/,
  );
  assert.doesNotMatch(text, /no worker on hepflow-cpu/, 'the CPU queue has a worker');

  await until(
    async () =>
      (
        await client.workflow
          .getHandle('visible-waiting-grid-hlf')
          .query(progressQuery)
          .catch(() => undefined)
      )?.stage === 'training',
    { what: 'the grid search at its training stage', deadline: 10 * 60_000 },
  );
  const status = capture();
  await statusCommand('visible-waiting', { out: status });
  assert.match(status.text(), /^pipelineWorkflow visible-waiting: RUNNING\n/);
  assert.match(
    status.text(),
    /warning: no worker on visible-nobody-gpu: start `hepflow worker gpu --task-queue visible-nobody-gpu`/,
  );
  assert.match(status.text(), /pipeline: training\n {2}grid-search hlf: training — 0\/2 points trained, 2 running/);

  // `status --watch` follows the run to its end, and says how it ended.
  const watched = capture();
  const watching = statusCommand('visible-waiting', { watch: true, out: watched });
  await until(async () => /pipeline: training/.test(watched.text()), {
    what: 'the watch display',
    deadline: 10 * 60_000,
  });
  await handle.cancel();
  await watching;
  assert.match(watched.text(), /\nvisible-waiting: CANCELLED\n$/);
  assert.equal(process.exitCode, 1, 'a run that did not complete is a failure for the shell');
  process.exitCode = undefined;
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `ended with ${String(err)}`);
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  assert.equal((await client.workflow.getHandle('visible-waiting-grid-hlf').describe()).status.name, 'CANCELLED');
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../cli/hepflow.js', import.meta.url)), ...args], {
    env: { ...process.env, HEPFLOW_NO_WORKER_WARNING_MS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('hepflow ingest shows its progress while it waits; hepflow status <run> tells where a run ended', async () => {
  assert.ok(datasetUri, "needs the first test's input files");
  const r = await cli([
    'ingest',
    `s3://${s3.bucket}/visible/input/`,
    '--out',
    `s3://${s3.bucket}/visible-ingest`,
    '--local-worker',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /files: 2 \(2 read, 0 failed\), entries: 6000/);
  assert.match(r.stderr, /^ingest: \w+/m, 'a progress line');
  assert.doesNotMatch(r.stderr, /warning: no worker/, 'the CPU queue has workers');
  const id = /started ingestWorkflow (\S+)/.exec(r.stdout)![1]!;
  const s = await cli(['status', id]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`^ingestWorkflow ${id}: COMPLETED\n`));
  assert.match(s.stdout, /\n {2}ingest s3:\/\/\S+\/visible\/input\/\n/, "the run's summary");
  assert.match(s.stdout, /\ningest: done — 2\/2 files, 6,000 events, [\d,]+ events\/s \[COMPLETED\]\n/);
});
